//! Who is banned for corrupt data: a peer that alone sent a piece that failed verification
//! is banned at once; when several peers sent blocks of a bad piece (endgame, adoption)
//! each gets a strike and [`MAX_STRIKES`] strikes ban. Bans are by peer id, so a banned
//! peer that reconnects is refused at its handshake. Pure; bounded.

use std::collections::{HashMap, HashSet};

use crate::peer_wire::Id20;

/// Shares in corrupt pieces before a peer is banned (a sole sender is banned at once).
pub const MAX_STRIKES: u32 = 3;
/// Peer ids with strikes remembered at once; past it, strikes that did not ban are forgotten.
const MAX_TRACKED: usize = 4096;
/// Banned peer ids remembered at once; past it, the oldest bans are not kept (a torrent
/// that meets this many liars has bigger problems, and memory stays bounded).
const MAX_BANNED: usize = 16_384;

#[derive(Debug, Default)]
pub(crate) struct BanPolicy {
    banned: HashSet<Id20>,
    strikes: HashMap<Id20, u32>,
}

impl BanPolicy {
    pub fn is_banned(&self, peer_id: &Id20) -> bool {
        self.banned.contains(peer_id)
    }

    pub fn banned(&self) -> &HashSet<Id20> {
        &self.banned
    }

    /// A piece failed verification; `senders` delivered its blocks. Returns who is banned now.
    pub fn piece_failed(&mut self, senders: &[Id20]) -> Vec<Id20> {
        let sole = senders.len() == 1;
        if self.strikes.len() + senders.len() > MAX_TRACKED {
            self.strikes.clear();
        }
        let mut now_banned = Vec::new();
        for id in senders {
            let strikes = self.strikes.entry(*id).or_insert(0);
            *strikes += if sole { MAX_STRIKES } else { 1 };
            if *strikes >= MAX_STRIKES && !self.banned.contains(id) {
                self.strikes.remove(id);
                if self.banned.len() < MAX_BANNED {
                    self.banned.insert(*id);
                }
                now_banned.push(*id);
            }
        }
        now_banned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sole_sender_is_banned_at_once_shared_failures_take_three_strikes() {
        let mut b = BanPolicy::default();
        let (liar, honest) = ([1; 20], [2; 20]);
        assert_eq!(b.piece_failed(&[liar]), vec![liar]);
        assert!(b.is_banned(&liar));
        for _ in 0..2 {
            assert!(b.piece_failed(&[honest, [3; 20]]).is_empty());
        }
        assert_eq!(b.piece_failed(&[honest, [4; 20]]), vec![honest]);
        assert!(!b.is_banned(&[4; 20]));
    }

    #[test]
    fn memory_stays_bounded() {
        let mut b = BanPolicy::default();
        for i in 0..20_000u32 {
            let mut id = [0; 20];
            id[..4].copy_from_slice(&i.to_le_bytes());
            b.piece_failed(&[id, [0xff; 20]]);
        }
        assert!(b.strikes.len() <= MAX_TRACKED && b.banned.len() <= MAX_BANNED);
    }
}
