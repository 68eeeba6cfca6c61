//! Settlement (Style 1), pure: who delivered which verified chunks of a file, what that
//! costs at each seeder's price per MB, the payment plan, and the ledger that makes paying
//! idempotent. Transfer protocols never appear here; the only input is "seeder S delivered
//! verified chunk C (of N bytes) of file F", and the whole-file [`Verdict`]: a plan exists
//! only for a file whose SHA-256 is the CID asked for, and never pays a wallet excluded for
//! that file (the publishers of records that vouched for a root that failed, see
//! [`crate::root_candidates`]).
//!
//! A payment moves through the ledger one way:
//! `Planned → Signed{raw, hash} → Confirmed{block, gas}` (built-in wallet: the signed bytes
//! are stored before they are broadcast, so a reload re-broadcasts the same transaction,
//! never a second one), or `Planned → Submitting{nonce_before} → Sent{hash} → Confirmed`
//! (a browser wallet signs and sends itself: after a reload, a nonce that moved means the
//! transaction went out and is looked for on chain; it is never sent again).

use std::collections::{BTreeMap, BTreeSet};

use crate::file_check::Verdict;

/// 1 MB = 10^6 bytes, as prices are quoted.
pub const BYTES_PER_MB: u128 = 1_000_000;
pub const DATA_PREFIX: &str = "chiral-pay:v1";

/// A seeder's payment terms, as it announced them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct PayTo {
    pub wallet: [u8; 20],
    pub price_per_mb_wei: u128,
}

/// Verified chunks per seeder for one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deliveries {
    /// (seeder terms) → chunk index → bytes.
    pub by_seeder: BTreeMap<String, (PayTo, BTreeMap<u32, u32>)>,
}

fn key(p: &PayTo) -> String {
    format!("0x{}@{}", hex::encode(p.wallet), p.price_per_mb_wei)
}

impl Deliveries {
    /// A verified chunk that `senders` peers sent parts of (normally one; several after
    /// endgame or when a piece was adopted), `from` being those of them with terms. Each
    /// sender is credited an equal share: a paid seller is never paid for what a free peer
    /// (the relay, a plain WebTorrent client) delivered.
    pub fn record(&mut self, chunk: u32, bytes: u32, from: &[PayTo], senders: usize) {
        if from.is_empty() {
            return;
        }
        let senders = senders.max(from.len()) as u32;
        let share = bytes / senders;
        for (i, p) in from.iter().enumerate() {
            // The rounding remainder goes to the first, when every sender is paid.
            let part = if i == 0 && senders == from.len() as u32 { bytes - share * (senders - 1) } else { share };
            self.by_seeder.entry(key(p)).or_insert_with(|| (*p, BTreeMap::new())).1.insert(chunk, part);
        }
    }
}

/// What one seeder is owed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanLine {
    pub to: [u8; 20],
    pub price_per_mb_wei: u128,
    pub bytes: u64,
    pub amount_wei: u128,
    pub chunks: Vec<(u32, u32)>,
}

/// `bytes × price / 10^6`, rounded up: a seeder is never paid less than it earned.
pub fn amount_wei(bytes: u64, price_per_mb_wei: u128) -> u128 {
    (u128::from(bytes) * price_per_mb_wei).div_ceil(BYTES_PER_MB)
}

/// Exact decimal ETH ("0.001") to wei; `None` for anything else (no float rounding).
pub fn parse_eth(text: &str) -> Option<u128> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 18 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: u128 = if frac.is_empty() { 0 } else { format!("{frac:0<18}").parse().ok()? };
    whole.checked_mul(1_000_000_000_000_000_000)?.checked_add(frac)
}

/// Sorted chunk indexes as inclusive ranges.
pub fn ranges(chunks: &BTreeSet<u32>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &c in chunks {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => out.push((c, c)),
        }
    }
    out
}

/// Why there is no plan.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The whole file did not hash to the CID asked for: nobody is paid for it.
    #[error("nothing is paid for this file: {0}")]
    FailedCheck(String),
}

/// The plan: one line per seeder that is owed something, for a file the whole-file check
/// `verdict` passed (a failed file has no plan: [`PlanError::FailedCheck`]; a file not yet
/// checked has no verdict, so no plan can be asked for). Wallets in `excluded` are not paid
/// for this file at all, whatever they delivered.
pub fn plan(deliveries: &Deliveries, verdict: &Verdict, excluded: &BTreeSet<[u8; 20]>) -> Result<Vec<PlanLine>, PlanError> {
    if let Some(reason) = verdict.failure() {
        return Err(PlanError::FailedCheck(reason));
    }
    let mut lines: BTreeMap<[u8; 20], (u128, u64, BTreeSet<u32>)> = BTreeMap::new();
    for (pay, chunks) in deliveries.by_seeder.values() {
        if pay.price_per_mb_wei == 0 || excluded.contains(&pay.wallet) {
            continue;
        }
        let bytes: u64 = chunks.values().map(|b| u64::from(*b)).sum();
        let entry = lines.entry(pay.wallet).or_insert((0, 0, BTreeSet::new()));
        entry.0 += amount_wei(bytes, pay.price_per_mb_wei);
        entry.1 += bytes;
        entry.2.extend(chunks.keys());
        // Mixed prices for one wallet are summed line by line; the line shows the last.
    }
    Ok(lines
        .into_iter()
        .filter(|(_, (amount, _, _))| *amount > 0)
        .map(|(to, (amount, bytes, chunks))| {
            let price = deliveries.by_seeder.values().filter(|(p, _)| p.wallet == to).map(|(p, _)| p.price_per_mb_wei).max().unwrap_or(0);
            PlanLine { to, price_per_mb_wei: price, bytes, amount_wei: amount, chunks: ranges(&chunks) }
        })
        .collect())
}

/// The transaction's data field: names the file and the chunks paid for.
/// `chiral-pay:v1 file=<cid or infohash> chunks=0-9,12`
pub fn payment_data(file: &str, chunks: &[(u32, u32)]) -> Vec<u8> {
    let list: Vec<String> = chunks.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    let mut text = format!("{DATA_PREFIX} file={file} chunks={}", list.join(","));
    // Bounded: a data field of at most 1 KiB (chunk lists of very fragmented deliveries are cut).
    if text.len() > 1024 {
        text.truncate(1020);
        text.push_str("…");
    }
    text.into_bytes()
}

/// The file a payment's data field names (the `file=` of [`payment_data`]), when the data
/// is Chiral's; at most 128 characters (a CID is 64).
pub fn paid_file(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    let rest = text.strip_prefix(DATA_PREFIX)?;
    rest.split(' ').find_map(|t| t.strip_prefix("file=")).filter(|f| !f.is_empty() && f.len() <= 128).map(str::to_string)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PaymentState {
    Planned,
    /// Built-in wallet: signed, stored, maybe broadcast.
    Signed { nonce: u64, raw_tx: String, tx_hash: String },
    /// Browser wallet asked to send; the account's nonce before asking.
    Submitting { nonce_before: u64 },
    Sent { tx_hash: String },
    Confirmed { tx_hash: String, block: u64, gas_used: u64 },
    Failed { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Payment {
    /// `file:to`: one payment per seeder per file, ever.
    pub id: String,
    pub file: String,
    pub from: String,
    pub to: String,
    pub amount_wei: String,
    pub bytes: u64,
    pub chunks: Vec<(u32, u32)>,
    pub created_at: u64,
    #[serde(flatten)]
    pub state: PaymentState,
}

impl Payment {
    pub fn amount(&self) -> u128 {
        self.amount_wei.parse().unwrap_or(0)
    }

    pub fn data(&self) -> Vec<u8> {
        payment_data(&self.file, &self.chunks)
    }

    pub fn is_settled(&self) -> bool {
        matches!(self.state, PaymentState::Confirmed { .. })
    }
}

/// Every payment this page made or is making. Persisted by the driver after every change.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    pub payments: Vec<Payment>,
}

pub fn payment_id(file: &str, to: &[u8; 20]) -> String {
    format!("{file}:0x{}", hex::encode(to))
}

impl Ledger {
    /// Adds the plan's lines that are not in the ledger yet; returns how many were new.
    /// Planning twice (a reload, a second click) adds nothing.
    pub fn add_plan(&mut self, file: &str, from: &str, lines: &[PlanLine], now: u64) -> usize {
        let mut added = 0;
        for line in lines {
            let id = payment_id(file, &line.to);
            if self.payments.iter().any(|p| p.id == id) {
                continue;
            }
            self.payments.push(Payment {
                id,
                file: file.to_string(),
                from: from.to_string(),
                to: format!("0x{}", hex::encode(line.to)),
                amount_wei: line.amount_wei.to_string(),
                bytes: line.bytes,
                chunks: line.chunks.clone(),
                created_at: now,
                state: PaymentState::Planned,
            });
            added += 1;
        }
        added
    }

    pub fn get(&self, id: &str) -> Option<&Payment> {
        self.payments.iter().find(|p| p.id == id)
    }

    /// Moves a payment on; refuses to go back (a signed payment is never re-planned).
    pub fn advance(&mut self, id: &str, next: PaymentState) -> bool {
        let Some(p) = self.payments.iter_mut().find(|p| p.id == id) else { return false };
        let allowed = matches!(
            (&p.state, &next),
            (PaymentState::Planned, PaymentState::Signed { .. } | PaymentState::Submitting { .. } | PaymentState::Failed { .. })
                | (PaymentState::Signed { .. }, PaymentState::Confirmed { .. })
                | (PaymentState::Submitting { .. }, PaymentState::Sent { .. } | PaymentState::Failed { .. })
                | (PaymentState::Sent { .. }, PaymentState::Confirmed { .. })
                | (PaymentState::Failed { .. }, PaymentState::Planned)
        );
        if allowed {
            p.state = next;
        }
        allowed
    }

    /// Payments for `file` that still need work.
    pub fn open_for(&self, file: &str) -> Vec<Payment> {
        self.payments.iter().filter(|p| p.file == file && !p.is_settled()).cloned().collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data")
    }

    pub fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }
}

/// Chain calls a payment may fail for a passing reason (the chain node or its proxy
/// unreachable, no receipt yet) before the payment waits for the user or the next visit.
pub const SETTLE_ATTEMPTS: u32 = 12;
/// The longest wait between two attempts.
pub const SETTLE_RETRY_MAX_MS: u64 = 8_000;

/// How long to wait before trying a payment again after its `failures`-th passing failure
/// (from 1): 1 s, doubling up to [`SETTLE_RETRY_MAX_MS`]; `None` once [`SETTLE_ATTEMPTS`] are
/// spent. About 70 s in all, so a chain node restarting (or a relay) is waited for, and a
/// chain that stays down is reported instead of polled forever. Retrying is safe at every
/// step: the ledger holds the signed bytes (re-broadcast as they are) or the hash awaited.
pub fn retry_delay_ms(failures: u32) -> Option<u64> {
    if failures == 0 || failures >= SETTLE_ATTEMPTS {
        return None;
    }
    Some((1_000u64 << (failures - 1).min(16)).min(SETTLE_RETRY_MAX_MS))
}

#[cfg(test)]
mod tests {
    #[test]
    fn retries_back_off_and_are_bounded() {
        use super::{retry_delay_ms, SETTLE_ATTEMPTS, SETTLE_RETRY_MAX_MS};
        assert_eq!(retry_delay_ms(0), None);
        assert_eq!(retry_delay_ms(1), Some(1_000));
        assert_eq!(retry_delay_ms(2), Some(2_000));
        assert_eq!(retry_delay_ms(5), Some(SETTLE_RETRY_MAX_MS));
        assert_eq!(retry_delay_ms(SETTLE_ATTEMPTS), None);
        assert_eq!(retry_delay_ms(u32::MAX), None);
        let total: u64 = (1..SETTLE_ATTEMPTS).filter_map(retry_delay_ms).sum();
        assert!((30_000..=120_000).contains(&total), "{total} ms of retries");
    }

    use super::*;

    #[test]
    fn paid_file_reads_back_what_payment_data_names() {
        let cid = "ab".repeat(32);
        assert_eq!(paid_file(&payment_data(&cid, &[(0, 3), (7, 7)])), Some(cid.clone()));
        let long: Vec<(u32, u32)> = (0..2_000).map(|i| (i * 2, i * 2)).collect();
        assert_eq!(paid_file(&payment_data(&cid, &long)), Some(cid), "a cut chunk list keeps the file");
        assert_eq!(paid_file(b"something else file=x"), None);
        assert_eq!(paid_file(format!("{DATA_PREFIX} chunks=1").as_bytes()), None);
        assert_eq!(paid_file(&[0xff, 0xfe]), None);
    }

    const A: [u8; 20] = [0xaa; 20];
    const B: [u8; 20] = [0xbb; 20];

    fn verified() -> Verdict {
        Verdict::Verified { cid: "ab12".into() }
    }

    /// The plan for a verified file, nobody excluded.
    fn plan(d: &Deliveries) -> Vec<PlanLine> {
        super::plan(d, &verified(), &BTreeSet::new()).expect("a verified file has a plan")
    }

    #[test]
    fn plan_pays_verified_bytes_at_each_price() {
        let mut d = Deliveries::default();
        let a = PayTo { wallet: A, price_per_mb_wei: 1_000_000_000_000_000 };
        let b = PayTo { wallet: B, price_per_mb_wei: 0 };
        for c in 0..10 {
            d.record(c, 262_144, &[a], 1);
        }
        d.record(12, 1000, &[a], 1);
        d.record(11, 262_144, &[b], 1);
        let lines = plan(&d);
        assert_eq!(lines.len(), 1, "free seeders are not in the plan");
        assert_eq!(lines[0].bytes, 10 * 262_144 + 1000);
        assert_eq!(lines[0].amount_wei, amount_wei(2_622_440, 1_000_000_000_000_000));
        assert_eq!(lines[0].amount_wei, 2_622_440_000_000_000);
        assert_eq!(lines[0].chunks, vec![(0, 9), (12, 12)]);
        assert_eq!(String::from_utf8(payment_data("ab12", &lines[0].chunks)).unwrap(), "chiral-pay:v1 file=ab12 chunks=0-9,12");
        assert_eq!(amount_wei(1, 1), 1, "rounded up");
    }

    #[test]
    fn a_shared_chunk_pays_each_seller_only_its_share() {
        let a = PayTo { wallet: A, price_per_mb_wei: 1 };
        let b = PayTo { wallet: B, price_per_mb_wei: 1 };
        let mut d = Deliveries::default();
        d.record(0, 262_144, &[a], 2); // A and a free peer (the relay) each sent half
        d.record(1, 262_145, &[a, b], 2); // both paid: the remainder byte goes to A
        let lines = plan(&d);
        let bytes = |w: [u8; 20]| lines.iter().find(|l| l.to == w).map(|l| l.bytes);
        assert_eq!(bytes(A), Some(131_072 + 131_073));
        assert_eq!(bytes(B), Some(131_072));
    }

    #[test]
    fn eth_amounts_parse_exactly() {
        assert_eq!(parse_eth("0.001"), Some(1_000_000_000_000_000));
        assert_eq!(parse_eth("1"), Some(1_000_000_000_000_000_000));
        assert_eq!(parse_eth(".5"), Some(500_000_000_000_000_000));
        assert_eq!(parse_eth("0.000000000000000001"), Some(1));
        for bad in ["", ".", "1e3", "-1", "0.0000000000000000001", "1.2.3"] {
            assert_eq!(parse_eth(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_ledger_plans_once_and_never_goes_back() {
        let mut d = Deliveries::default();
        d.record(0, 1_000_000, &[PayTo { wallet: A, price_per_mb_wei: 5 }], 1);
        let lines = plan(&d);
        let mut l = Ledger::default();
        assert_eq!(l.add_plan("f", "0xme", &lines, 1), 1);
        assert_eq!(l.add_plan("f", "0xme", &lines, 2), 0, "a second plan adds nothing");
        let id = payment_id("f", &A);
        let signed = PaymentState::Signed { nonce: 0, raw_tx: "02".into(), tx_hash: "0x1".into() };
        assert!(l.advance(&id, signed.clone()));
        assert!(!l.advance(&id, PaymentState::Planned), "a signed payment is never re-planned");
        assert!(!l.advance(&id, PaymentState::Signed { nonce: 1, raw_tx: "03".into(), tx_hash: "0x2".into() }), "nor re-signed");
        assert!(l.advance(&id, PaymentState::Confirmed { tx_hash: "0x1".into(), block: 5, gas_used: 21_000 }));
        let back = Ledger::from_json(&l.to_json());
        assert_eq!(back, l);
        assert!(back.open_for("f").is_empty());
    }

    #[test]
    fn a_file_that_failed_its_cid_check_has_no_plan() {
        let mut d = Deliveries::default();
        d.record(0, 1_000_000, &[PayTo { wallet: A, price_per_mb_wei: 5 }], 1);
        let failed = Verdict::Failed { asked: "aa".repeat(32), got: "bb".repeat(32) };
        let e = super::plan(&d, &failed, &BTreeSet::new()).unwrap_err();
        assert!(matches!(&e, PlanError::FailedCheck(m) if m.contains(&"bb".repeat(32))), "{e}");
        assert_eq!(plan(&d).len(), 1, "the same deliveries of a verified file are paid");
    }

    #[test]
    fn excluded_wallets_are_not_paid_for_the_file() {
        let mut d = Deliveries::default();
        let a = PayTo { wallet: A, price_per_mb_wei: 5 };
        let b = PayTo { wallet: B, price_per_mb_wei: 5 };
        d.record(0, 1_000_000, &[a], 1);
        d.record(1, 1_000_000, &[b], 1);
        d.record(2, 1_000_000, &[a, b], 2);
        let excluded = BTreeSet::from([A]);
        let lines = super::plan(&d, &verified(), &excluded).unwrap();
        assert_eq!(lines.iter().map(|l| l.to).collect::<Vec<_>>(), vec![B]);
        assert_eq!(lines[0].bytes, 1_500_000, "B keeps its own share of the shared chunk, no more");
        assert!(super::plan(&d, &verified(), &BTreeSet::from([A, B])).unwrap().is_empty());
    }
}
