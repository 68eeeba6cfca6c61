//! Who we upload to (BEP 3 choking): up to `slots` interested peers are unchoked; a freed
//! slot goes to the next interested peer; every [`OPTIMISTIC_UNCHOKE_MS`] the
//! longest-unchoked peer makes room for a random waiting one, so newcomers get a chance.
//! Pure: decisions from a view of the peers, randomness seeded, time as input.

use super::PeerKey;

pub const OPTIMISTIC_UNCHOKE_MS: u64 = 30_000;

/// What the choker needs to know of one connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub key: PeerKey,
    pub am_choking: bool,
    pub interested: bool,
    /// Its handshake is in.
    pub ready: bool,
    pub unchoked_at_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Choke(PeerKey),
    Unchoke(PeerKey),
}

#[derive(Debug)]
pub(crate) struct Choker {
    slots: usize,
    last_rotation_ms: u64,
    rng: u64,
}

impl Choker {
    pub fn new(slots: usize, seed: u64) -> Self {
        Self { slots, last_rotation_ms: 0, rng: seed | 1 }
    }

    fn unchoked(peers: &[Candidate]) -> usize {
        peers.iter().filter(|c| !c.am_choking).count()
    }

    /// A free slot for `peer`, which just became interested?
    pub fn admit(&self, peer: PeerKey, peers: &[Candidate]) -> Option<Decision> {
        let c = peers.iter().find(|c| c.key == peer)?;
        (c.am_choking && c.interested && c.ready && Self::unchoked(peers) < self.slots).then_some(Decision::Unchoke(peer))
    }

    /// A slot may have freed up: the first waiting peer gets it.
    pub fn fill_slot(&self, peers: &[Candidate]) -> Option<Decision> {
        if Self::unchoked(peers) >= self.slots {
            return None;
        }
        peers.iter().find(|c| c.am_choking && c.interested && c.ready).map(|c| Decision::Unchoke(c.key))
    }

    /// When [`Choker::rotate`] wants to run next.
    pub fn next_rotation(&self) -> u64 {
        self.last_rotation_ms + OPTIMISTIC_UNCHOKE_MS
    }

    /// The optimistic unchoke, when due.
    pub fn rotate(&mut self, now: u64, peers: &[Candidate]) -> Vec<Decision> {
        if now < self.next_rotation() {
            return Vec::new();
        }
        self.last_rotation_ms = now;
        let waiting: Vec<PeerKey> = peers.iter().filter(|c| c.am_choking && c.interested && c.ready).map(|c| c.key).collect();
        if waiting.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if Self::unchoked(peers) >= self.slots {
            if let Some(oldest) = peers.iter().filter(|c| !c.am_choking).min_by_key(|c| c.unchoked_at_ms) {
                out.push(Decision::Choke(oldest.key));
            }
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        out.push(Decision::Unchoke(waiting[(self.rng % waiting.len() as u64) as usize]));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(key: u64, am_choking: bool, interested: bool, unchoked_at_ms: u64) -> Candidate {
        Candidate { key: PeerKey(key), am_choking, interested, ready: true, unchoked_at_ms }
    }

    #[test]
    fn slots_fill_up_then_rotate_the_longest_unchoked_out() {
        let mut c = Choker::new(2, 7);
        let mut peers = vec![peer(1, false, true, 0), peer(2, true, true, 0), peer(3, true, true, 0)];
        assert_eq!(c.admit(PeerKey(2), &peers), Some(Decision::Unchoke(PeerKey(2))));
        peers[1].am_choking = false;
        peers[1].unchoked_at_ms = 5;
        assert_eq!(c.admit(PeerKey(3), &peers), None, "both slots taken");
        assert_eq!(c.fill_slot(&peers), None);
        assert!(c.rotate(10, &peers).is_empty(), "not due yet");
        let d = c.rotate(OPTIMISTIC_UNCHOKE_MS, &peers);
        assert_eq!(d, vec![Decision::Choke(PeerKey(1)), Decision::Unchoke(PeerKey(3))]);
        assert_eq!(c.next_rotation(), 2 * OPTIMISTIC_UNCHOKE_MS);
    }

    #[test]
    fn a_peer_without_a_handshake_is_never_unchoked() {
        let c = Choker::new(4, 1);
        let peers = vec![Candidate { key: PeerKey(9), am_choking: true, interested: true, ready: false, unchoked_at_ms: 0 }];
        assert_eq!(c.admit(PeerKey(9), &peers), None);
        assert_eq!(c.fill_slot(&peers), None);
    }
}
