//! What the UI shows of a torrent: a plain [`Snapshot`] built from the swarm and the
//! links, and who delivered which piece (the chunk map).

use super::links::PeerLink;
use super::{now_ms, Inner, PeerRow, Snapshot, Torrent};
use crate::peer_wire::Bitfield;
use crate::swarm::PeerKey;
use crate::tracker::Id20;

impl Inner {
    /// Records which peer delivered piece `index`, for the chunk map.
    pub(super) fn note_source(&mut self, index: u32, from: Option<PeerKey>) {
        let pieces = self.swarm.info().map_or(0, |i| i.pieces()) as usize;
        if self.chunk_map.len() != pieces {
            self.chunk_map = vec![255; pieces];
        }
        let Some(key) = from else { return };
        let protocol = self.peers.get(&key).map_or("WebTorrent", PeerLink::protocol);
        let id = self.swarm.peer_stats().into_iter().find(|p| p.peer == key).and_then(|p| p.peer_id).map(|id| short_peer_id(&id)).unwrap_or_default();
        let label = if protocol == "relay bridge" { protocol.to_string() } else { format!("{protocol} {id}") };
        let slot = match self.sources.iter().position(|(l, _)| *l == label) {
            Some(i) => i,
            None if self.sources.len() < 254 => {
                self.sources.push((label, 0));
                self.sources.len() - 1
            }
            None => return,
        };
        self.sources[slot].1 += 1;
        if let Some(c) = self.chunk_map.get_mut(index as usize) {
            *c = slot as u8;
        }
    }
}

impl Torrent {
    pub(super) fn snapshot(&self) -> Snapshot {
        let mut inner = self.0.borrow_mut();
        let now = now_ms();
        let (down, up) = (inner.swarm.downloaded_bytes, inner.swarm.uploaded_bytes);
        inner.samples.push((now, down, up));
        inner.samples.retain(|s| now - s.0 <= 5_000.0);
        let (t0, d0, u0) = inner.samples[0];
        let span = ((now - t0) / 1000.0).max(1e-3);
        let (down_rate, up_rate) = if inner.samples.len() > 1 { ((down - d0) as f64 / span, (up - u0) as f64 / span) } else { (0.0, 0.0) };
        let stats = inner.swarm.peer_stats();
        let mut peers = Vec::new();
        for s in stats {
            let Some(link) = inner.peers.get_mut(&s.peer) else { continue };
            let (ld, lu) = link.last;
            // Per-peer rates from the 1 s tick, smoothed.
            link.rates = (link.rates.0 * 0.5 + (s.downloaded - ld) as f64 * 0.5, link.rates.1 * 0.5 + (s.uploaded - lu) as f64 * 0.5);
            link.last = (s.downloaded, s.uploaded);
            let standing = s.peer_id.as_ref().map(super::reputation::standing);
            peers.push(PeerRow {
                id: s.peer_id.map(|id| short_peer_id(&id)).unwrap_or_else(|| "connecting".into()),
                client: s.client.unwrap_or_default(),
                protocol: link.protocol(),
                path: link.path.get(),
                down_rate: link.rates.0,
                up_rate: link.rates.1,
                downloaded: s.downloaded,
                uploaded: s.uploaded,
                pieces: s.pieces,
                score: standing.map(|st| st.score),
                avoided: standing.is_some_and(|st| st.avoided),
            });
        }
        let info = inner.swarm.info();
        let pieces = info.map_or(0, |i| i.pieces());
        let have = inner.swarm.have().map_or(0, Bitfield::count);
        let size = info.map(|i| i.length);
        let left = info.map(|i| {
            let have_bytes: u64 = inner.swarm.have().map_or(0, |h| h.ones().map(|p| u64::from(i.piece_len(p))).sum());
            i.length - have_bytes
        });
        let eta_secs = left.filter(|l| *l > 0 && down_rate > 0.0).map(|l| l as f64 / down_rate);
        let name = info.map(|i| i.name.clone()).or_else(|| inner.options.name.clone()).unwrap_or_else(|| hex::encode(inner.options.info_hash));
        Snapshot {
            info_hash: hex::encode(inner.options.info_hash),
            name,
            size,
            pieces,
            have,
            state: inner.state,
            down_rate,
            up_rate,
            downloaded: down,
            uploaded: up,
            eta_secs,
            peers,
            banned: inner.swarm.banned().len(),
            failed_pieces: inner.failed_pieces,
            sha256: inner.sha256.clone(),
            cid_matches: inner.options.cid.as_ref().zip(inner.sha256.as_ref()).map(|(c, s)| c.eq_ignore_ascii_case(s)),
            verdict: inner.verdict.clone(),
            kept_pieces: inner.kept_pieces,
            error: inner.error.clone(),
            bridge_refusal: inner.bridge_refusal.clone(),
            trackers_connected: inner.signal.session.connected(),
            verified_bytes: inner.verified_bytes,
            plan: inner
                .verdict
                .as_ref()
                .and_then(|v| crate::settlement::plan(&inner.deliveries, v, &inner.options.excluded_wallets).ok())
                .unwrap_or_default(),
            file_key: inner.options.cid.clone().or_else(|| inner.sha256.clone()).unwrap_or_else(|| hex::encode(inner.options.info_hash)),
            chunk_map: inner.chunk_map.clone(),
            sources: inner.sources.clone(),
            files: inner.swarm.info().map(|i| super::folder::rows(i, inner.swarm.have(), inner.chosen.as_deref(), &inner.file_sha256)).unwrap_or_default(),
            piece_check: match (inner.swarm.chunk_hashes().is_some(), inner.options.merkle_root.is_some()) {
                (true, _) => "sha1+sha256",
                (false, true) => "awaiting-chunk-hashes",
                (false, false) => "sha1",
            },
        }
    }
}

/// `-WW0300-…a1b2c3` for Azureus-style ids (client tag + a distinguishing tail), else hex.
fn short_peer_id(id: &Id20) -> String {
    let tail = hex::encode(&id[17..]);
    match std::str::from_utf8(&id[..8]) {
        Ok(tag) if tag.starts_with('-') && tag.ends_with('-') => format!("{tag}…{tail}"),
        _ => format!("{}…{tail}", hex::encode(&id[..3])),
    }
}
