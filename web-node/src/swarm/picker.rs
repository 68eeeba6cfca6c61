//! Which block to ask a peer for next. Pieces with a deadline (a stream's playhead, an HTTP
//! client waiting) come first, earliest deadline first: their started blocks, then a new
//! one, then a second request for a block still in flight elsewhere (as libtorrent's
//! time-critical pieces). Then started pieces are finished, then the rarest piece the peer
//! has is started (ties broken by a seeded random order), and in endgame (every missing
//! block already requested) a second peer is asked for blocks still in flight.
//! Pure bookkeeping; no IO, no clock (deadlines are numbers the caller gives, in ms).

use std::collections::BTreeMap;

use crate::peer_wire::{Bitfield, BlockRef, BLOCK_SIZE};

/// At most this many peers are asked for the same block in endgame.
const ENDGAME_DUPLICATES: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockState {
    Open,
    /// Requested from this many peers.
    Requested(u8),
    Done,
}

#[derive(Debug)]
pub(crate) struct Partial {
    /// The peer fetching it (so a piece normally comes from one peer, and a bad piece names
    /// its sender); `None` once its requests were released, for any peer to adopt.
    pub owner: Option<u64>,
    pub data: Vec<u8>,
    pub blocks: Vec<BlockState>,
    pub done: u32,
}

#[derive(Debug)]
pub(crate) struct Picker {
    pub piece_length: u32,
    pub length: u64,
    pub availability: Vec<u32>,
    pub partials: BTreeMap<u32, Partial>,
    /// Pieces someone is waiting for (an HTTP client, a stream's playhead) → when they are
    /// needed (ms, the caller's clock): started before any other, earliest first.
    pub deadlines: BTreeMap<u32, u64>,
    /// The pieces the user wants (the files chosen in a folder torrent); `None`: all of them.
    /// Others are never started (a prioritized one excepted).
    pub wanted: Option<Bitfield>,
    /// A random permutation rank per piece: ties in rarity go to a different piece on
    /// each node, so a swarm spreads pieces instead of all fetching piece 0 first.
    rank: Vec<u32>,
}

impl Picker {
    pub fn new(pieces: u32, piece_length: u32, length: u64, seed: u64) -> Self {
        let mut rank: Vec<u32> = (0..pieces).collect();
        let mut x = seed | 1;
        for i in (1..rank.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            rank.swap(i, (x % (i as u64 + 1)) as usize);
        }
        Self { piece_length, length, availability: vec![0; pieces as usize], partials: BTreeMap::new(), deadlines: BTreeMap::new(), wanted: None, rank }
    }

    pub fn piece_len(&self, index: u32) -> u32 {
        let start = u64::from(index) * u64::from(self.piece_length);
        (self.length - start).min(u64::from(self.piece_length)) as u32
    }

    fn block(&self, index: u32, block: u32) -> BlockRef {
        let begin = block * BLOCK_SIZE;
        BlockRef { index, begin, length: (self.piece_len(index) - begin).min(BLOCK_SIZE) }
    }

    /// The next block to request from a peer that has `theirs`, skipping blocks it already
    /// has in flight (`in_flight`). `None`: nothing useful to ask this peer.
    pub fn next_request(&mut self, peer: u64, have: &Bitfield, theirs: &Bitfield, in_flight: &dyn Fn(&BlockRef) -> bool) -> Option<BlockRef> {
        if let Some(block) = self.next_urgent(peer, have, theirs, in_flight) {
            return Some(block);
        }
        // 1. Open blocks of pieces this peer started, or that nobody owns any more: finishing
        //    pieces frees memory and shares sooner.
        let started = self.partials.iter().find_map(|(&index, p)| {
            if !theirs.get(index) || p.owner.is_some_and(|o| o != peer) {
                return None;
            }
            p.blocks.iter().position(|b| *b == BlockState::Open).map(|b| (index, b as u32))
        });
        if let Some((index, b)) = started {
            self.partials.get_mut(&index).expect("partial").owner = Some(peer);
            return Some(self.mark(index, b));
        }
        // 2. A wanted piece first, lowest index first; else the rarest piece it has that
        //    nobody has started.
        let mut best: Option<(u32, u32, u32)> = None; // (availability, rank, index)
        for index in theirs.ones() {
            if have.get(index) || self.partials.contains_key(&index) || self.wanted.as_ref().is_some_and(|w| !w.get(index)) {
                continue;
            }
            let key = (self.availability[index as usize], self.rank[index as usize], index);
            if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
                best = Some(key);
            }
        }
        if let Some((_, _, index)) = best {
            let len = self.piece_len(index);
            let blocks = len.div_ceil(BLOCK_SIZE) as usize;
            self.partials.insert(index, Partial { owner: Some(peer), data: vec![0; len as usize], blocks: vec![BlockState::Open; blocks], done: 0 });
            return Some(self.mark(index, 0));
        }
        // 3. Endgame: everything missing is in flight somewhere; race a second peer.
        let mut duplicate = None;
        'outer: for (&index, p) in &self.partials {
            if !theirs.get(index) {
                continue;
            }
            for (b, state) in p.blocks.iter().enumerate() {
                if let BlockState::Requested(n) = state {
                    let block = self.block(index, b as u32);
                    if *n < ENDGAME_DUPLICATES && !in_flight(&block) {
                        duplicate = Some((index, b as u32));
                        break 'outer;
                    }
                }
            }
        }
        duplicate.map(|(index, b)| self.mark(index, b))
    }

    /// Pieces with a deadline this peer has, earliest first: an open block of one started
    /// (by anyone: a late piece is worth splitting), else a new one, else a block in flight
    /// elsewhere asked a second time.
    fn next_urgent(&mut self, peer: u64, have: &Bitfield, theirs: &Bitfield, in_flight: &dyn Fn(&BlockRef) -> bool) -> Option<BlockRef> {
        if self.deadlines.is_empty() {
            return None;
        }
        let mut urgent: Vec<(u64, u32)> = self.deadlines.iter().filter(|(&i, _)| theirs.get(i) && !have.get(i)).map(|(&i, &at)| (at, i)).collect();
        urgent.sort_unstable();
        let mut second = None;
        for &(_, index) in &urgent {
            match self.partials.get(&index) {
                Some(p) => {
                    if let Some(b) = p.blocks.iter().position(|b| *b == BlockState::Open) {
                        self.partials.get_mut(&index).expect("partial").owner.get_or_insert(peer);
                        return Some(self.mark(index, b as u32));
                    }
                    if second.is_none() {
                        second = p.blocks.iter().enumerate().find_map(|(b, state)| match state {
                            BlockState::Requested(n) if *n < ENDGAME_DUPLICATES && !in_flight(&self.block(index, b as u32)) => Some((index, b as u32)),
                            _ => None,
                        });
                    }
                }
                None => {
                    let len = self.piece_len(index);
                    let blocks = len.div_ceil(BLOCK_SIZE) as usize;
                    self.partials.insert(index, Partial { owner: Some(peer), data: vec![0; len as usize], blocks: vec![BlockState::Open; blocks], done: 0 });
                    return Some(self.mark(index, 0));
                }
            }
        }
        second.map(|(index, b)| self.mark(index, b))
    }

    fn mark(&mut self, index: u32, b: u32) -> BlockRef {
        let p = self.partials.get_mut(&index).expect("partial exists");
        p.blocks[b as usize] = match p.blocks[b as usize] {
            BlockState::Open => BlockState::Requested(1),
            BlockState::Requested(n) => BlockState::Requested(n + 1),
            BlockState::Done => BlockState::Done,
        };
        self.block(index, b)
    }

    /// A request was given up (timeout, choke, disconnect): the block may be asked again.
    pub fn release(&mut self, block: &BlockRef) {
        if let Some(p) = self.partials.get_mut(&block.index) {
            let b = (block.begin / BLOCK_SIZE) as usize;
            if let Some(BlockState::Requested(n)) = p.blocks.get(b).copied() {
                p.blocks[b] = if n > 1 { BlockState::Requested(n - 1) } else { BlockState::Open };
            }
            p.owner = None;
        }
    }

    /// Stores a received block; `Some(data)` when that completed the piece (to verify).
    /// `None` also for blocks already received (endgame duplicates) or not expected.
    pub fn receive(&mut self, index: u32, begin: u32, data: &[u8]) -> Option<Vec<u8>> {
        let p = self.partials.get_mut(&index)?;
        if begin % BLOCK_SIZE != 0 {
            return None;
        }
        let b = (begin / BLOCK_SIZE) as usize;
        if p.blocks.get(b).is_none_or(|s| *s == BlockState::Done) {
            return None;
        }
        let end = begin as usize + data.len();
        let expected = (p.data.len() - begin as usize).min(BLOCK_SIZE as usize);
        if data.len() != expected || end > p.data.len() {
            return None;
        }
        p.data[begin as usize..end].copy_from_slice(data);
        p.blocks[b] = BlockState::Done;
        p.done += 1;
        if p.done as usize == p.blocks.len() {
            return self.partials.remove(&index).map(|p| p.data);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(n: u32) -> Bitfield {
        let mut b = Bitfield::new(n);
        for i in 0..n {
            b.set(i);
        }
        b
    }

    #[test]
    fn the_earliest_deadline_goes_first_even_before_started_pieces() {
        // 10 pieces of two blocks each.
        let mut p = Picker::new(10, 2 * BLOCK_SIZE, 20 * u64::from(BLOCK_SIZE), 1);
        let none = |_: &BlockRef| false;
        let have = Bitfield::new(10);
        let theirs = all(10);
        let first = p.next_request(1, &have, &theirs, &none).unwrap();
        assert_eq!(first.begin, 0);
        let started = first.index;
        let (a, b) = if started == 3 || started == 7 { (2, 8) } else { (3, 7) };
        p.deadlines.insert(b, 200);
        p.deadlines.insert(a, 100);
        let order: Vec<(u32, u32)> = (0..4).map(|_| p.next_request(1, &have, &theirs, &none).map(|r| (r.index, r.begin / BLOCK_SIZE)).unwrap()).collect();
        assert_eq!(order, [(a, 0), (a, 1), (b, 0), (b, 1)]);
        // Both in flight with this peer: a second peer is asked for the earliest's blocks.
        let dup = p.next_request(2, &have, &theirs, &none).unwrap();
        assert_eq!(dup.index, a);
        // Without deadlines, the started piece is finished first.
        p.deadlines.clear();
        let next = p.next_request(1, &have, &theirs, &none).unwrap();
        assert_eq!((next.index, next.begin), (started, BLOCK_SIZE));
    }
}
