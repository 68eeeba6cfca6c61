//! Trust-based source selection, pure: what the node has seen of each peer and wallet,
//! turned into a score and an avoid list. No IO and no clock: every call takes `now_ms`
//! (milliseconds on the caller's clock, e.g. `Date.now()` in the page), and the store is
//! kept across reloads as JSON the caller writes wherever it likes (localStorage,
//! IndexedDB, a file).
//!
//! The model is Beta reputation (Jøsang & Ismail 2002). Each [`Subject`] has `good` and
//! `bad` evidence, weighted by bytes and severity ([`Evidence`]); both decay exponentially
//! with [`ReputationConfig::half_life_ms`], so a subject left alone drifts back to the
//! prior; and the score is the Beta mean `(good + 1) / (good + bad + 2)`, always in (0, 1),
//! 0.5 for a stranger. A proven liar (the sole sender of a piece that failed its hash) is
//! also avoided for [`ReputationConfig::avoid_ms`], whatever its score.
//!
//! ```text
//! let mut rep = Reputation::load_or_empty(stored.as_deref(), config);   // (store, Option<error>)
//! rep.record(&Subject::peer_id20(&id), Evidence::Delivered { bytes }, now_ms);
//! rep.record(&Subject::peer_id20(&id), Evidence::FailedPiece { bytes, sole: true }, now_ms);
//! let order = rep.rank(&sources, now_ms, |s| s.subjects());         // best first, avoided last
//! save(rep.to_json());
//! ```
//!
//! What a subject is worth trusting for: evidence against a peer id comes from what that
//! connection did (it is the one that sent the bytes); evidence for or against a wallet
//! should come only from payments (a signed voucher, a channel on chain), because a peer
//! can claim any wallet in its handshake. A source with several subjects is judged by the
//! worst of them ([`Reputation::standing_of`]).
//!
//! Where it is fed and used: the swarm reports per peer id what it saw
//! ([`crate::swarm::Swarm::take_evidence`]) and takes the node's view back
//! ([`crate::swarm::Swarm::use_reputation`]: avoided ids refused at the handshake, better
//! scores asked first). In the page, `browser::torrent::reputation` keeps one `Reputation`
//! per tab, loaded from localStorage with [`Reputation::load_or_empty`], fed from every
//! torrent's `take_evidence` on its tick, handed to each swarm (`use_standings`, the swarm
//! running on another clock) when evidence came in, saved at most every 10 s with
//! [`Reputation::to_json`]; the peers table shows each peer's score. Not yet wired:
//! wallets fed from settlement (`PaidUs`/`WasPaid` once a payment confirms,
//! `PaymentRefused` for a rejected channel); and [`Reputation::rank`] ordering the seeders
//! of a CID's records (`root_candidates::Candidate::view.seeders`) before they are dialled.
//! Note that a WebTorrent peer id is chosen anew by each client session, so evidence by
//! peer id mostly helps within a session; the wallet is the lasting identity.
//!
//! Bounded: at most [`ReputationConfig::max_entries`] subjects; a new one past that evicts
//! the least useful (not avoided, least evidence left after decay, then the stalest).
//! Stored JSON larger than [`MAX_STORED_BYTES`], of another version, or malformed gives a
//! [`ReputationError`] and an empty store.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The JSON layout version written by [`Reputation::to_json`].
pub const FORMAT_VERSION: u32 = 1;
/// Stored JSON longer than this (bytes) is refused unread.
pub const MAX_STORED_BYTES: usize = 4 * 1024 * 1024;
/// Peer ids longer than this (bytes) are refused (a libp2p id in base58 is ~52, hex of a
/// 20-byte BitTorrent id 40).
pub const MAX_PEER_ID_LEN: usize = 128;
/// Evidence per subject is capped here (units), so scores stay finite and distinct from 0 and 1.
pub const MAX_EVIDENCE: f64 = 1e9;
/// Bytes worth one unit of good evidence: one chunk (256 KiB).
pub const BYTES_PER_UNIT: f64 = crate::CHUNK_SIZE as f64;

/// Who is judged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Subject {
    /// A peer by its id as text: hex of a 20-byte BitTorrent peer id ([`Subject::peer_id20`]),
    /// or a libp2p `PeerId` in its usual base58 form. At most [`MAX_PEER_ID_LEN`] bytes.
    Peer(String),
    /// A wallet (20-byte address), stored as `0x` + 40 hex.
    Wallet(#[serde(with = "wallet_hex")] [u8; 20]),
}

impl Subject {
    /// A BitTorrent peer id, as lowercase hex.
    pub fn peer_id20(id: &[u8; 20]) -> Self {
        Subject::Peer(hex::encode(id))
    }
}

/// What a subject did, with its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Evidence {
    /// Sent `bytes` that were then verified (a piece that passed its hash). Good:
    /// `bytes / BYTES_PER_UNIT` units.
    Delivered { bytes: u64 },
    /// Sent (some of) a piece of `bytes` that failed its hash. Bad: 8 units and the avoid
    /// flag when it was the `sole` sender (a proven liar); 2 units when it shared the piece.
    FailedPiece { bytes: u64, sole: bool },
    /// A request timed out or the peer snubbed us. Bad: 1 unit.
    Stalled,
    /// It paid us (a valid voucher, a settled payment). Good: 1 unit.
    PaidUs,
    /// We paid it for verified data and the payment went through. Good: 1 unit.
    WasPaid,
    /// It refused to pay, or a payment to or from it was refused (a channel rejected on
    /// chain, a bad voucher). Bad: 2 units.
    PaymentRefused,
}

impl Evidence {
    /// (good units, bad units, avoid).
    fn weight(self) -> (f64, f64, bool) {
        match self {
            Evidence::Delivered { bytes } => (bytes as f64 / BYTES_PER_UNIT, 0.0, false),
            Evidence::FailedPiece { sole: true, .. } => (0.0, 8.0, true),
            Evidence::FailedPiece { sole: false, .. } => (0.0, 2.0, false),
            Evidence::Stalled => (0.0, 1.0, false),
            Evidence::PaidUs | Evidence::WasPaid => (1.0, 0.0, false),
            Evidence::PaymentRefused => (0.0, 2.0, false),
        }
    }
}

/// Tuning; [`ReputationConfig::default`] suits a browser node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReputationConfig {
    /// Evidence halves every this many ms (default 3 days). 0: no decay.
    pub half_life_ms: u64,
    /// A proven liar is avoided for this many ms after its last lie (default 30 days).
    pub avoid_ms: u64,
    /// Subjects remembered at once (default 4096); at least 1.
    pub max_entries: usize,
}

impl Default for ReputationConfig {
    fn default() -> Self {
        Self { half_life_ms: 3 * 24 * 3600 * 1000, avoid_ms: 30 * 24 * 3600 * 1000, max_entries: 4096 }
    }
}

/// Why stored reputation was not loaded (the store starts empty instead).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReputationError {
    #[error("stored reputation is {len} bytes, more than {max}")]
    Oversized { len: usize, max: usize },
    #[error("stored reputation has {len} entries, more than {max}")]
    TooManyEntries { len: usize, max: usize },
    #[error("stored reputation is version {found}, not {FORMAT_VERSION}")]
    Version { found: u32 },
    #[error("stored reputation is malformed: {0}")]
    Malformed(String),
}

/// One subject's evidence as of `updated_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    good: f64,
    bad: f64,
    updated_ms: u64,
    /// Avoided until then (ms), when it lied.
    avoid_until_ms: Option<u64>,
}

impl Entry {
    fn decayed(&self, now_ms: u64, half_life_ms: u64) -> (f64, f64) {
        let f = decay_factor(now_ms.saturating_sub(self.updated_ms), half_life_ms);
        (self.good * f, self.bad * f)
    }

    fn avoided(&self, now_ms: u64) -> bool {
        self.avoid_until_ms.is_some_and(|t| now_ms < t)
    }
}

fn decay_factor(elapsed_ms: u64, half_life_ms: u64) -> f64 {
    if half_life_ms == 0 {
        return 1.0;
    }
    (-(elapsed_ms as f64) / half_life_ms as f64 * std::f64::consts::LN_2).exp()
}

/// The Beta mean: in (0, 1) for finite, non-negative evidence.
fn beta(good: f64, bad: f64) -> f64 {
    (good + 1.0) / (good + bad + 2.0)
}

/// How a subject (or a source of several subjects) stands at some time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// In (0, 1); 0.5 for a stranger.
    pub score: f64,
    /// A proven liar still within its avoid period.
    pub avoided: bool,
    /// Decayed evidence units (good + bad) behind the score; 0 for a stranger.
    pub evidence: f64,
}

impl Standing {
    /// What is known of a subject never seen.
    pub const STRANGER: Standing = Standing { score: 0.5, avoided: false, evidence: 0.0 };
}

/// One candidate in [`Reputation::rank`]'s answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// Its position in the input.
    pub index: usize,
    pub standing: Standing,
}

/// Scores per subject, bounded. See the module docs for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Reputation {
    config: ReputationConfig,
    entries: HashMap<Subject, Entry>,
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    subject: Subject,
    good: f64,
    bad: f64,
    updated_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    avoid_until_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    entries: Vec<StoredEntry>,
}

impl Reputation {
    /// An empty store.
    pub fn new(config: ReputationConfig) -> Self {
        let config = ReputationConfig { max_entries: config.max_entries.max(1), ..config };
        Self { config, entries: HashMap::new() }
    }

    pub fn config(&self) -> &ReputationConfig {
        &self.config
    }

    /// Subjects remembered now (never more than `max_entries`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds what `subject` did at `now_ms`. A peer id longer than [`MAX_PEER_ID_LEN`] is
    /// ignored. A time earlier than the subject's last update counts as that update's time.
    pub fn record(&mut self, subject: &Subject, evidence: Evidence, now_ms: u64) {
        if let Subject::Peer(id) = subject {
            if id.len() > MAX_PEER_ID_LEN {
                return;
            }
        }
        if !self.entries.contains_key(subject) && self.entries.len() >= self.config.max_entries {
            self.evict_one(now_ms);
        }
        let half_life = self.config.half_life_ms;
        let avoid_ms = self.config.avoid_ms;
        let e = self.entries.entry(subject.clone()).or_insert(Entry { good: 0.0, bad: 0.0, updated_ms: now_ms, avoid_until_ms: None });
        let now_ms = now_ms.max(e.updated_ms);
        let (good, bad) = e.decayed(now_ms, half_life);
        let (g, b, avoid) = evidence.weight();
        e.good = (good + g).min(MAX_EVIDENCE);
        e.bad = (bad + b).min(MAX_EVIDENCE);
        e.updated_ms = now_ms;
        if avoid {
            let until = now_ms.saturating_add(avoid_ms);
            e.avoid_until_ms = Some(e.avoid_until_ms.map_or(until, |t| t.max(until)));
        }
    }

    /// `subject`'s standing at `now_ms` ([`Standing::STRANGER`] if unknown).
    pub fn standing(&self, subject: &Subject, now_ms: u64) -> Standing {
        let Some(e) = self.entries.get(subject) else { return Standing::STRANGER };
        let (good, bad) = e.decayed(now_ms, self.config.half_life_ms);
        Standing { score: beta(good, bad), avoided: e.avoided(now_ms), evidence: good + bad }
    }

    /// `subject`'s score at `now_ms`, in (0, 1).
    pub fn score(&self, subject: &Subject, now_ms: u64) -> f64 {
        self.standing(subject, now_ms).score
    }

    /// Whether `subject` is a proven liar still avoided at `now_ms`.
    pub fn is_avoided(&self, subject: &Subject, now_ms: u64) -> bool {
        self.entries.get(subject).is_some_and(|e| e.avoided(now_ms))
    }

    /// Every subject remembered, with its standing at `now_ms`, in no particular order.
    pub fn standings(&self, now_ms: u64) -> impl Iterator<Item = (&Subject, Standing)> + '_ {
        self.entries.keys().map(move |s| (s, self.standing(s, now_ms)))
    }

    /// Every subject avoided at `now_ms`, in no particular order.
    pub fn avoided(&self, now_ms: u64) -> impl Iterator<Item = &Subject> + '_ {
        self.entries.iter().filter(move |(_, e)| e.avoided(now_ms)).map(|(s, _)| s)
    }

    /// A source known by several subjects (a peer id and the wallet it pays to): avoided if
    /// any is, scored by the worst, evidence summed. No subjects: a stranger.
    pub fn standing_of<'a>(&self, subjects: impl IntoIterator<Item = &'a Subject>, now_ms: u64) -> Standing {
        let mut out: Option<Standing> = None;
        for s in subjects {
            let st = self.standing(s, now_ms);
            out = Some(match out {
                None => st,
                Some(o) => Standing { score: o.score.min(st.score), avoided: o.avoided || st.avoided, evidence: o.evidence + st.evidence },
            });
        }
        out.unwrap_or(Standing::STRANGER)
    }

    /// Orders candidate sources, best first: those not avoided before those avoided, then
    /// by score (highest first), ties in input order. `subjects` names each candidate's
    /// subjects. Every input index appears once; drop the `avoided` ones to exclude them.
    pub fn rank<T, S>(&self, candidates: &[T], now_ms: u64, subjects: impl Fn(&T) -> S) -> Vec<Ranked>
    where
        S: IntoIterator<Item = Subject>,
    {
        let mut out: Vec<Ranked> = candidates
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let subjects: Vec<Subject> = subjects(c).into_iter().collect();
                Ranked { index, standing: self.standing_of(&subjects, now_ms) }
            })
            .collect();
        // Stable: equal keys keep input order.
        out.sort_by(|a, b| a.standing.avoided.cmp(&b.standing.avoided).then(b.standing.score.total_cmp(&a.standing.score)));
        out
    }

    /// Forgets a subject.
    pub fn forget(&mut self, subject: &Subject) {
        self.entries.remove(subject);
    }

    /// Makes room for one more: drops the least useful subject. Not avoided before avoided;
    /// then the least decayed evidence; then the stalest update. Among avoided ones, the
    /// one whose avoid period ends first.
    fn evict_one(&mut self, now_ms: u64) {
        let half_life = self.config.half_life_ms;
        let victim = self
            .entries
            .iter()
            .min_by(|(sa, a), (sb, b)| {
                let key = |e: &Entry| {
                    let (g, bad) = e.decayed(now_ms, half_life);
                    (e.avoided(now_ms), if e.avoided(now_ms) { e.avoid_until_ms.unwrap_or(0) as f64 } else { g + bad }, e.updated_ms)
                };
                let (ka, kb) = (key(a), key(b));
                ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(ka.2.cmp(&kb.2)).then(sa.cmp(sb))
            })
            .map(|(s, _)| s.clone());
        if let Some(s) = victim {
            self.entries.remove(&s);
        }
    }

    /// The store as JSON (evidence as decimal f64: reading it back may be off by an ulp,
    /// far below anything a score distinguishes): `{"version":1,"entries":[{"subject":{"kind":"peer","id":"…"},
    /// "good":…,"bad":…,"updated_ms":…,"avoid_until_ms":…}, …]}`, sorted by subject.
    pub fn to_json(&self) -> String {
        let mut entries: Vec<StoredEntry> = self
            .entries
            .iter()
            .map(|(s, e)| StoredEntry { subject: s.clone(), good: e.good, bad: e.bad, updated_ms: e.updated_ms, avoid_until_ms: e.avoid_until_ms })
            .collect();
        entries.sort_by(|a, b| a.subject.cmp(&b.subject));
        serde_json::to_string(&Stored { version: FORMAT_VERSION, entries }).unwrap_or_default()
    }

    /// A store from [`Reputation::to_json`]'s output. Refuses (without reading it) more
    /// than [`MAX_STORED_BYTES`], another version, more than `config.max_entries` entries,
    /// peer ids past [`MAX_PEER_ID_LEN`], and evidence that is negative, not finite or past
    /// [`MAX_EVIDENCE`].
    pub fn from_json(json: &str, config: ReputationConfig) -> Result<Self, ReputationError> {
        if json.len() > MAX_STORED_BYTES {
            return Err(ReputationError::Oversized { len: json.len(), max: MAX_STORED_BYTES });
        }
        let stored: Stored = serde_json::from_str(json).map_err(|e| ReputationError::Malformed(e.to_string()))?;
        if stored.version != FORMAT_VERSION {
            return Err(ReputationError::Version { found: stored.version });
        }
        let mut rep = Self::new(config);
        if stored.entries.len() > rep.config.max_entries {
            return Err(ReputationError::TooManyEntries { len: stored.entries.len(), max: rep.config.max_entries });
        }
        let ok = |x: f64| x.is_finite() && (0.0..=MAX_EVIDENCE).contains(&x);
        for StoredEntry { subject, good, bad, updated_ms, avoid_until_ms } in stored.entries {
            let entry = Entry { good, bad, updated_ms, avoid_until_ms };
            if let Subject::Peer(id) = &subject {
                if id.len() > MAX_PEER_ID_LEN {
                    return Err(ReputationError::Malformed(format!("peer id of {} bytes", id.len())));
                }
            }
            if !ok(entry.good) || !ok(entry.bad) {
                return Err(ReputationError::Malformed("evidence out of range".into()));
            }
            if rep.entries.insert(subject, entry).is_some() {
                return Err(ReputationError::Malformed("a subject listed twice".into()));
            }
        }
        Ok(rep)
    }

    /// [`Reputation::from_json`], falling back to an empty store; the error says why, for
    /// the log. `None` (nothing stored) is an empty store and no error.
    pub fn load_or_empty(json: Option<&str>, config: ReputationConfig) -> (Self, Option<ReputationError>) {
        match json.map(|j| Self::from_json(j, config)) {
            None => (Self::new(config), None),
            Some(Ok(rep)) => (rep, None),
            Some(Err(e)) => (Self::new(config), Some(e)),
        }
    }
}

impl Default for Reputation {
    fn default() -> Self {
        Self::new(ReputationConfig::default())
    }
}

mod wallet_hex {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(w: &[u8; 20], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(w)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 20], D::Error> {
        let s = String::deserialize(d)?;
        let h = s.strip_prefix("0x").unwrap_or(&s);
        let v = hex::decode(h).map_err(D::Error::custom)?;
        <[u8; 20]>::try_from(v).map_err(|_| D::Error::custom("a wallet is 20 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 24 * 3600 * 1000;

    #[test]
    fn a_stranger_is_half_deliveries_raise_lies_avoid() {
        let mut r = Reputation::default();
        let (a, b) = (Subject::peer_id20(&[1; 20]), Subject::Wallet([2; 20]));
        assert_eq!(r.score(&a, 0), 0.5);
        r.record(&a, Evidence::Delivered { bytes: 4 * 256 * 1024 }, 0);
        assert!((r.score(&a, 0) - 5.0 / 6.0).abs() < 1e-12);
        r.record(&b, Evidence::FailedPiece { bytes: 1, sole: true }, 0);
        assert!(r.is_avoided(&b, 0) && r.is_avoided(&b, 29 * DAY) && !r.is_avoided(&b, 31 * DAY));
        let ranked = r.rank(&[vec![b.clone()], vec![], vec![a.clone()]], 0, |s| s.clone());
        assert_eq!(ranked.iter().map(|r| r.index).collect::<Vec<_>>(), vec![2, 1, 0]);
    }

    #[test]
    fn evidence_halves_each_half_life() {
        let mut r = Reputation::default();
        let a = Subject::Peer("x".into());
        r.record(&a, Evidence::Delivered { bytes: 2 * 256 * 1024 }, 0);
        let st = r.standing(&a, 3 * DAY);
        assert!((st.evidence - 1.0).abs() < 1e-9);
    }

    #[test]
    fn json_keeps_wallets_as_hex_and_refuses_other_versions() {
        let mut r = Reputation::default();
        r.record(&Subject::Wallet([0xab; 20]), Evidence::PaidUs, 5);
        let json = r.to_json();
        assert!(json.contains(&format!("\"0x{}\"", "ab".repeat(20))), "{json}");
        assert_eq!(Reputation::from_json(&json, ReputationConfig::default()).unwrap(), r);
        let other = json.replace("\"version\":1", "\"version\":2");
        assert_eq!(Reputation::from_json(&other, ReputationConfig::default()), Err(ReputationError::Version { found: 2 }));
    }
}
