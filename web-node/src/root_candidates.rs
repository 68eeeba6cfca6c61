//! Which Merkle root to download a CID by, pure. A DHT lookup may return records that
//! disagree: each names the file's infohash and the Merkle root over its chunk SHA-256s,
//! and nothing short of downloading the whole file tells which of them really hashes to
//! the CID. So every distinct claim `(merkle root, infohash)` becomes a [`Candidate`],
//! tried in order:
//!
//! 1. most distinct publishers first, then most seeder entries, then the root's bytes
//!    (a deterministic order; a tie is not evidence either way);
//! 2. [`RootCandidates::next`] is the one to download now;
//! 3. when its whole file fails the CID ([`crate::file_check::Verdict::Failed`]), the driver
//!    calls [`RootCandidates::reject`]: that root is dropped with every record that vouched
//!    for it, and so is every candidate naming the same infohash (that infohash's pieces
//!    are now known not to make the CID); the wallets those records named are excluded
//!    from payment for this file ([`RootCandidates::excluded_wallets`], which
//!    [`crate::settlement::plan`] honours). The next candidate is then tried, and the
//!    pieces already stored are offered to it: it keeps those whose SHA-1 and SHA-256
//!    match its own info dict and chunk list.
//!
//! A wrong root costs at most one whole download, and a record's publisher gains nothing
//! from lying. (A liar can also name an honest seeder's wallet in its own record, which
//! gets that wallet excluded for this file: the downloader then pays less, never more.)

use std::collections::{BTreeMap, BTreeSet};

use crate::file_record::{FileView, Seeder, VerifiedRecord};

/// One claim about the file: its root and infohash, and who vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub merkle_root: [u8; 32],
    pub info_hash: [u8; 20],
    /// The file as these records describe it (the newest record's identities) and the
    /// seeders they list, for the download.
    pub view: FileView,
    /// Distinct publishers (PeerId strings) whose records named this claim, sorted.
    pub publishers: Vec<String>,
}

impl Candidate {
    /// The wallets (`0x` + 40 hex in the records) of this claim's seeder entries. A record's
    /// seeder entries all name its publisher ([`crate::file_record::verify`] checks that).
    pub fn wallets(&self) -> BTreeSet<[u8; 20]> {
        self.view.seeders.iter().filter_map(|s| parse_wallet(s.wallet.as_deref()?)).collect()
    }
}

/// What [`RootCandidates::reject`] dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejection {
    /// Candidates dropped (the rejected one and any naming the same root or infohash).
    pub candidates: usize,
    /// Publishers of the dropped records.
    pub publishers: BTreeSet<String>,
    /// Their wallets, now excluded from payment for this file.
    pub wallets: BTreeSet<[u8; 20]>,
}

/// The claims about one CID still worth trying, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootCandidates {
    cid: String,
    candidates: Vec<Candidate>,
    rejected_roots: BTreeSet<[u8; 32]>,
    rejected_info_hashes: BTreeSet<[u8; 20]>,
    excluded_wallets: BTreeSet<[u8; 20]>,
}

impl RootCandidates {
    /// Groups verified records of `cid` by claim. Records of another CID, and identities
    /// that are not hex of the right length, are skipped (a verified record has none).
    pub fn new(cid: &str, records: &[VerifiedRecord]) -> Self {
        let cid = cid.trim().to_ascii_lowercase();
        let mut groups: BTreeMap<([u8; 32], [u8; 20]), Vec<&VerifiedRecord>> = BTreeMap::new();
        for r in records.iter().filter(|r| r.record.file.cid.eq_ignore_ascii_case(&cid)) {
            let root = hex::decode(&r.record.file.merkle_root).ok().and_then(|v| <[u8; 32]>::try_from(v).ok());
            let info_hash = hex::decode(&r.record.file.infohash).ok().and_then(|v| <[u8; 20]>::try_from(v).ok());
            if let (Some(root), Some(info_hash)) = (root, info_hash) {
                groups.entry((root, info_hash)).or_default().push(r);
            }
        }
        let mut candidates: Vec<Candidate> = groups
            .into_iter()
            .filter_map(|((merkle_root, info_hash), group)| {
                let newest = group.iter().max_by_key(|r| r.record.published_at)?;
                let mut seeders: Vec<Seeder> = group.iter().flat_map(|r| r.record.seeders.iter().cloned()).collect();
                seeders.sort_by(|a, b| (a.protocol, &a.peer_id, &a.endpoint).cmp(&(b.protocol, &b.peer_id, &b.endpoint)));
                seeders.dedup();
                let publishers: BTreeSet<String> = group.iter().map(|r| r.publisher.to_string()).collect();
                Some(Candidate {
                    merkle_root,
                    info_hash,
                    view: FileView { file: newest.record.file.clone(), seeders, conflicting_records: records.len() - group.len() },
                    publishers: publishers.into_iter().collect(),
                })
            })
            .collect();
        candidates.sort_by(|a, b| {
            (b.publishers.len(), b.view.seeders.len()).cmp(&(a.publishers.len(), a.view.seeders.len())).then(a.merkle_root.cmp(&b.merkle_root))
        });
        Self { cid, candidates, rejected_roots: BTreeSet::new(), rejected_info_hashes: BTreeSet::new(), excluded_wallets: BTreeSet::new() }
    }

    /// The CID (lowercase hex) every candidate claims to be.
    pub fn cid(&self) -> &str {
        &self.cid
    }

    /// The claim to download now; `None` once every one was rejected.
    pub fn next(&self) -> Option<&Candidate> {
        self.candidates.first()
    }

    /// Candidates still to try, best first.
    pub fn remaining(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The whole file under `root` failed the CID: drops every candidate with that root,
    /// and every candidate naming an infohash those did (its pieces make another file).
    /// Their wallets are excluded from payment for this file from now on.
    pub fn reject(&mut self, root: &[u8; 32]) -> Rejection {
        let doomed: BTreeSet<[u8; 20]> = self.candidates.iter().filter(|c| c.merkle_root == *root).map(|c| c.info_hash).collect();
        self.rejected_roots.insert(*root);
        self.rejected_info_hashes.extend(doomed.iter().copied());
        let mut rejection = Rejection::default();
        let (dropped, kept): (Vec<Candidate>, Vec<Candidate>) =
            std::mem::take(&mut self.candidates).into_iter().partition(|c| c.merkle_root == *root || doomed.contains(&c.info_hash));
        self.candidates = kept;
        for c in dropped {
            rejection.candidates += 1;
            rejection.wallets.extend(c.wallets());
            rejection.publishers.extend(c.publishers);
        }
        self.excluded_wallets.extend(rejection.wallets.iter().copied());
        rejection
    }

    /// Wallets not paid for this file: those of every record behind a rejected root.
    pub fn excluded_wallets(&self) -> &BTreeSet<[u8; 20]> {
        &self.excluded_wallets
    }

    pub fn is_rejected(&self, root: &[u8; 32]) -> bool {
        self.rejected_roots.contains(root)
    }
}

/// `0x` + 40 hex digits (any case) → 20 bytes.
fn parse_wallet(text: &str) -> Option<[u8; 20]> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))?;
    hex::decode(digits).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_check::{check, Verdict};
    use crate::file_record::{FileInfo, FileRecord, Protocol};
    use crate::settlement::{plan, Deliveries, PayTo};
    use libp2p_identity::{Keypair, PeerId};

    const CID: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    fn record(key: &Keypair, root: u8, info_hash: u8, wallet: u8) -> VerifiedRecord {
        let publisher = PeerId::from(key.public());
        let file = FileInfo {
            cid: CID.into(),
            name: "f.bin".into(),
            size: 1,
            chunk_size: crate::CHUNK_SIZE as u64,
            chunks: 1,
            mime: None,
            created_at: 0,
            infohash: hex::encode([info_hash; 20]),
            ed2k: hex::encode([0u8; 16]),
            merkle_root: hex::encode([root; 32]),
        };
        let seeder = Seeder {
            peer_id: publisher.to_string(),
            protocol: Protocol::WebTorrent,
            endpoint: "ws://relay/announce".into(),
            wallet: Some(format!("0x{}", hex::encode([wallet; 20]))),
            available_chunks: vec![(0, 1)],
            price_per_mb_wei: 1_000,
        };
        VerifiedRecord { publisher, record: FileRecord { file, seeders: vec![seeder], published_at: 1, expires_at: 2 } }
    }

    fn keys(n: usize) -> Vec<Keypair> {
        (0..n).map(|_| Keypair::generate_ed25519()).collect()
    }

    #[test]
    fn the_root_most_publishers_vouch_for_comes_first() {
        let k = keys(3);
        let records = [record(&k[0], 0xaa, 0xa1, 1), record(&k[1], 0xbb, 0xb1, 2), record(&k[2], 0xbb, 0xb1, 3)];
        let c = RootCandidates::new(CID, &records);
        assert_eq!(c.remaining().len(), 2);
        let first = c.next().unwrap();
        assert_eq!(first.merkle_root, [0xbb; 32]);
        assert_eq!(first.info_hash, [0xb1; 20]);
        assert_eq!(first.publishers.len(), 2);
        assert_eq!(first.view.seeders.len(), 2);
        assert_eq!(first.view.conflicting_records, 1);
        assert_eq!(first.wallets(), BTreeSet::from([[2; 20], [3; 20]]));
    }

    #[test]
    fn a_rejected_root_moves_on_to_the_next_and_excludes_its_publishers() {
        let k = keys(4);
        let records = [
            record(&k[0], 0xaa, 0xa1, 1), // honest
            record(&k[1], 0xbb, 0xb1, 2), // liars, two of them
            record(&k[2], 0xbb, 0xb1, 3),
            record(&k[3], 0xcc, 0xb1, 4), // another root, same bad infohash
        ];
        let mut c = RootCandidates::new(CID, &records);
        assert_eq!(c.next().unwrap().merkle_root, [0xbb; 32]);
        let r = c.reject(&[0xbb; 32]);
        assert_eq!(r.candidates, 2, "the root and the other claim on its infohash");
        assert_eq!(r.wallets, BTreeSet::from([[2; 20], [3; 20], [4; 20]]));
        assert_eq!(r.publishers.len(), 3);
        assert!(c.is_rejected(&[0xbb; 32]));
        let next = c.next().unwrap();
        assert_eq!((next.merkle_root, next.info_hash), ([0xaa; 32], [0xa1; 20]));
        assert_eq!(c.excluded_wallets(), &BTreeSet::from([[2; 20], [3; 20], [4; 20]]));
        c.reject(&[0xaa; 32]);
        assert!(c.next().is_none(), "nothing left to try");
        assert_eq!(c.reject(&[0xee; 32]), Rejection::default(), "an unknown root drops nothing");
    }

    #[test]
    fn rejected_publishers_are_not_paid_even_for_what_they_delivered_under_the_good_root() {
        let k = keys(2);
        let mut c = RootCandidates::new(CID, &[record(&k[0], 0xaa, 0xa1, 1), record(&k[1], 0xbb, 0xb1, 2)]);
        c.reject(&[0xbb; 32]);
        // Under the good root both wallets delivered verified chunks.
        let mut d = Deliveries::default();
        d.record(0, 1_000_000, &[PayTo { wallet: [1; 20], price_per_mb_wei: 7 }], 1);
        d.record(1, 1_000_000, &[PayTo { wallet: [2; 20], price_per_mb_wei: 7 }], 1);
        let digest = [9u8; 32];
        let lines = plan(&d, &check(Some(&hex::encode(digest)), &digest), c.excluded_wallets()).unwrap();
        assert_eq!(lines.iter().map(|l| l.to).collect::<Vec<_>>(), vec![[1; 20]]);
        // And under the bad root nothing at all was payable.
        let failed = check(Some(CID), &digest);
        assert!(matches!(failed, Verdict::Failed { .. }));
        assert!(plan(&d, &failed, &BTreeSet::new()).is_err());
    }

    #[test]
    fn records_of_another_cid_or_with_malformed_identities_are_skipped() {
        let k = keys(2);
        let mut other = record(&k[0], 0xaa, 0xa1, 1);
        other.record.file.cid = "22".repeat(32);
        let mut broken = record(&k[1], 0xbb, 0xb1, 2);
        broken.record.file.merkle_root = "zz".into();
        assert!(RootCandidates::new(CID, &[other, broken]).next().is_none());
        assert_eq!(parse_wallet("0x0101010101010101010101010101010101010101"), Some([1; 20]));
        assert_eq!(parse_wallet("0x01"), None);
        assert_eq!(parse_wallet("nope"), None);
    }
}
