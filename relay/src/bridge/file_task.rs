//! One bridged file's actor: it owns the file's native [`Swarm`] (the page's own sans-IO
//! core), its sparse piece file on disk, the HTTP clients waiting for pieces and the
//! whole-file check against the CID. Commands ([`super::Cmd`]) come from the pumps and the
//! HTTP side; it sleeps until the swarm's next deadline (`poll_timeout`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot};
use web_node::peer_wire::extension::TorrentInfo;
use web_node::swarm::{Event, Output, PeerKey, Swarm, SwarmConfig};

use super::limits::DiskBudget;
use super::store::{Folder, PieceStore};
use super::{BridgeError, Cmd, ToPage, CACHE_TTL, SEND_WINDOW};

/// How long a file given up for good ([`BridgeError::refuses_pages`]) keeps answering
/// HTTP clients and returning pages with the reason before its task ends.
const REFUSAL_MEMORY: Duration = Duration::from_secs(30);

pub(super) struct FileTask {
    pub(super) cid: Option<String>,
    pub(super) swarm: Swarm,
    /// The piece file, or (`relay fetch` of a multi-file torrent) the folder written.
    pub(super) path: PathBuf,
    pub(super) store: Option<PieceStore>,
    pub(super) outboxes: HashMap<PeerKey, mpsc::Sender<ToPage>>,
    pub(super) waiting: BTreeMap<u32, Vec<oneshot::Sender<Result<Vec<u8>, BridgeError>>>>,
    pub(super) info_waiting: Vec<oneshot::Sender<Option<TorrentInfo>>>,
    pub(super) next_key: u64,
    pub(super) epoch: Instant,
    pub(super) last_page: Instant,
    pub(super) failed: Option<BridgeError>,
    /// The relay's own file (read-only, never deleted, never expires).
    pub(super) local: bool,
    /// `relay fetch`: the file is the command's output (kept, never expires); told when
    /// complete or failed, and progress goes to stderr.
    pub(super) fetch: Option<oneshot::Sender<Result<(), BridgeError>>>,
    pub(super) fetching: bool,
    /// The bridge's disk budget (files from pages; none for the relay's own and `fetch`),
    /// and what this file holds of it.
    pub(super) disk: Option<Arc<DiskBudget>>,
    pub(super) reserved: u64,
    /// The whole file against the CID: the last piece leaves only once this passed.
    pub(super) cid_check: CidCheck,
    /// Clients waiting for the last piece until the check has passed.
    pub(super) held: Vec<oneshot::Sender<Result<Vec<u8>, BridgeError>>>,
    /// This task's own command queue (weak, so the task still ends when the bridge drops it).
    pub(super) me: Option<mpsc::WeakSender<Cmd>>,
    /// The slot of the client that made the bridge open this file, given back when the task ends.
    pub(super) creator: Option<crate::client_caps::ClientPermit>,
    /// Style 2: the relay sells this file, or (`relay fetch --pay-key`) pays for it.
    pub(super) pay: Option<crate::paid::TaskPay>,
    /// Seller: the channel each connection pays with (released when it goes).
    pub(super) pay_channels: HashMap<PeerKey, [u8; 32]>,
    /// Buyer: sellers' terms waiting for the file's size (the deposit covers the file).
    pub(super) pay_pending: Vec<(PeerKey, web_node::pay::wire::Terms)>,
}

#[derive(Debug, Clone)]
pub(super) enum CidCheck {
    NotYet,
    Running,
    Passed,
    Failed(BridgeError),
}

impl FileTask {
    pub(super) fn new(cid: Option<String>, info_hash: [u8; 20], peer_id: [u8; 20], dir: PathBuf) -> Self {
        Self::with_config(cid, Self::config(info_hash, peer_id), dir)
    }

    /// The swarm settings of a bridged file or folder torrent.
    pub(super) fn config(info_hash: [u8; 20], peer_id: [u8; 20]) -> SwarmConfig {
        let mut config = SwarmConfig::new(info_hash, peer_id);
        // Folder torrents cross the bridge as pieces: cached as the torrent's byte stream,
        // written out as a folder only by `relay fetch`.
        config.folders = true;
        config.download = false; // only once someone asks
        // A seeding tab's chunk hash list is passed on to pages downloading by CID.
        config.forward_chunk_hashes = true;
        config.free_sources_only = true;
        config.send_window = Some(SEND_WINDOW);
        config
    }

    pub(super) fn with_config(cid: Option<String>, config: SwarmConfig, dir: PathBuf) -> Self {
        let path = dir.join(format!("{}.part", hex::encode(config.info_hash)));
        Self {
            cid,
            swarm: Swarm::magnet(config),
            path,
            store: None,
            outboxes: HashMap::new(),
            waiting: BTreeMap::new(),
            info_waiting: Vec::new(),
            next_key: 1,
            epoch: Instant::now(),
            last_page: Instant::now(),
            failed: None,
            local: false,
            fetch: None,
            fetching: false,
            disk: None,
            reserved: 0,
            cid_check: CidCheck::NotYet,
            held: Vec::new(),
            me: None,
            creator: None,
            pay: None,
            pay_channels: HashMap::new(),
            pay_pending: Vec::new(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, me: mpsc::WeakSender<Cmd>) {
        self.me = Some(me);
        // Housekeeping (progress lines, cache expiry) once a second; the swarm's own
        // deadlines exactly when `poll_timeout` says.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let deadline = self.swarm.poll_timeout().map_or(tokio::time::Instant::now() + Duration::from_secs(3600), |at| {
                tokio::time::Instant::from_std(self.epoch) + Duration::from_millis(at)
            });
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_cmd(cmd).await,
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    let now = self.now();
                    self.swarm.handle_timeout(now);
                }
                _ = tick.tick() => {
                    if self.fetching {
                        self.report_progress();
                    }
                    if self.outboxes.is_empty() && self.waiting.is_empty() && !rx.is_empty() {
                        continue;
                    }
                }
            }
            self.drain().await;
            if self.outboxes.is_empty() && self.failed.as_ref().is_some_and(BridgeError::refuses_pages) {
                // Given up, nothing to serve: HTTP clients still get the reason for a while,
                // then the task ends, so the file's slot (and its client's) is free and a page
                // that comes back later finds the disk as it is then.
                if self.last_page.elapsed() > REFUSAL_MEMORY {
                    break;
                }
                continue;
            }
            if self.outboxes.is_empty() {
                // Nobody offers it now: clients waiting for missing pieces get an answer; what
                // is verified stays servable until the cache expires.
                for (_, waiters) in std::mem::take(&mut self.waiting) {
                    for w in waiters {
                        let _ = w.send(Err(BridgeError::SeederGone));
                    }
                }
                if !self.local && !self.fetching && self.last_page.elapsed() > CACHE_TTL {
                    break;
                }
            } else {
                self.last_page = Instant::now();
                if !self.waiting.is_empty() && self.swarm.only_priced_sources() {
                    // Learnt since they asked: only priced tabs have it.
                    for (_, waiters) in std::mem::take(&mut self.waiting) {
                        for w in waiters {
                            let _ = w.send(Err(BridgeError::PricedOnly));
                        }
                    }
                }
            }
        }
        if !self.local && !self.fetching {
            let _ = tokio::fs::remove_file(&self.path).await;
        }
        if let Some(disk) = &self.disk {
            disk.release(self.reserved);
        }
    }

    async fn on_cmd(&mut self, cmd: Cmd) {
        let now = self.now();
        match cmd {
            Cmd::PageOpen { outbox, demand, initiator, reply } => {
                if let Some(e) = self.failed.as_ref().filter(|e| e.refuses_pages()) {
                    let _ = reply.send(Err(e.clone()));
                    return;
                }
                let key = PeerKey(self.next_key);
                self.next_key += 1;
                self.outboxes.insert(key, outbox);
                self.swarm.handle_connected(key, initiator, now);
                if demand {
                    self.swarm.set_download(true, now);
                }
                let _ = reply.send(Ok(key));
            }
            Cmd::PageData { key, bytes } => self.swarm.handle_data(key, &bytes, now),
            Cmd::Flushed { key, bytes } => self.swarm.handle_flushed(key, bytes, now),
            Cmd::Anchor { root } => self.swarm.expect_chunk_hashes(root, now),
            Cmd::CidChecked { result } => self.cid_checked(result).await,
            Cmd::PageClosed { key } => {
                self.outboxes.remove(&key);
                self.swarm.handle_disconnected(key, now);
                self.release_channel(key);
            }
            Cmd::AllFlushed { reply } => {
                let _ = reply.send(self.swarm.all_flushed());
            }
            Cmd::ChannelChecked { key, channel, result } => {
                if self.outboxes.contains_key(&key) {
                    self.swarm.handle_channel_checked(key, result, now);
                } else if let Some(crate::paid::TaskPay::Seller(s)) = &self.pay {
                    s.release(channel, &self.pay_owner(key)); // the connection went while the chain answered
                }
            }
            Cmd::ChannelReady { key, result } => match result {
                Ok((channel, signed)) => self.swarm.handle_channel_ready(key, channel, signed, now),
                Err(reason) => {
                    eprintln!("fetch: not paying a seller: {reason}");
                    self.swarm.decline_channel(key, &reason, now);
                }
            },
            Cmd::Info { reply } => match self.swarm.info() {
                Some(info) => {
                    let _ = reply.send(Some(info.clone()));
                }
                None => self.info_waiting.push(reply),
            },
            Cmd::Want { index, reply } => {
                if let Some(e) = &self.failed {
                    let _ = reply.send(Err(e.clone()));
                    return;
                }
                if let Some(info) = self.swarm.info() {
                    if index >= info.pieces() {
                        let _ = reply.send(Err(BridgeError::NoSuchChunk { index, pieces: info.pieces() }));
                        return;
                    }
                    if self.holds_back(index) {
                        if let CidCheck::Failed(e) = &self.cid_check {
                            let _ = reply.send(Err(e.clone()));
                            return;
                        }
                        // The last piece leaves only once the whole file is the CID.
                        self.held.push(reply);
                        self.swarm.set_download(true, now);
                        self.start_cid_check();
                        return;
                    }
                    if self.swarm.have().is_some_and(|h| h.get(index)) {
                        let _ = reply.send(self.read(index).await);
                        return;
                    }
                }
                if self.swarm.only_priced_sources() {
                    let _ = reply.send(Err(BridgeError::PricedOnly));
                    return;
                }
                self.waiting.entry(index).or_default().push(reply);
                self.swarm.prioritize(index, now);
            }
        }
    }

    async fn drain(&mut self) {
        while let Some(out) = self.swarm.poll_output() {
            let now = self.now();
            match out {
                Output::Transmit { peer, data } => {
                    if let Some(outbox) = self.outboxes.get(&peer) {
                        if outbox.try_send(ToPage::Bytes(data)).is_err() {
                            self.outboxes.remove(&peer);
                            self.swarm.handle_disconnected(peer, now);
                        }
                    }
                }
                Output::Event(Event::MetadataReady { info, .. }) => {
                    let budget = match &self.disk {
                        Some(disk) => disk.try_reserve(info.length).map(|()| info.length),
                        None => Ok(0),
                    };
                    match budget {
                        Err(e) => self.failed = Some(e),
                        Ok(reserved) => {
                            self.reserved = reserved;
                            if let Err(e) = self.open_store(&info).await {
                                self.failed = Some(e);
                            }
                        }
                    }
                    for w in self.info_waiting.drain(..) {
                        let _ = w.send(Some(info.clone()));
                    }
                    let missing = self.swarm.missing_bytes().unwrap_or(info.length);
                    for (key, terms) in std::mem::take(&mut self.pay_pending) {
                        self.open_channel(key, terms, missing);
                    }
                    let pending: Vec<u32> = self.waiting.keys().copied().collect();
                    for index in pending {
                        self.swarm.prioritize(index, now);
                    }
                    if let Some(e) = self.failed.clone() {
                        if let Some(done) = self.fetch.take() {
                            let _ = done.send(Err(e));
                        }
                    }
                    if let Some(e) = self.failed.clone() {
                        for (_, ws) in std::mem::take(&mut self.waiting) {
                            for w in ws {
                                let _ = w.send(Err(e.clone()));
                            }
                        }
                        if e.refuses_pages() {
                            self.end_pages(&e);
                        }
                    }
                }
                Output::Event(Event::ReadPiece { index }) => match self.read(index).await {
                    Ok(data) => self.swarm.handle_piece_read(index, data, now),
                    Err(_) => self.swarm.handle_piece_unreadable(index),
                },
                Output::Event(Event::PieceVerified { index, data, .. }) => {
                    if let Err(e) = self.write(index, &data).await {
                        tracing::warn!(cid = ?self.cid, "bridge cannot store piece {index}: {e}");
                    }
                    let waiters = self.waiting.remove(&index).unwrap_or_default();
                    if self.holds_back(index) {
                        self.held.extend(waiters);
                        self.swarm.set_download(true, now);
                    } else {
                        for w in waiters {
                            let _ = w.send(Ok(data.clone()));
                        }
                    }
                }
                Output::Event(Event::Complete) => {
                    if self.cid.is_some() {
                        self.start_cid_check();
                    } else if let Some(done) = self.fetch.take() {
                        self.report_progress();
                        let _ = done.send(self.failed.clone().map_or(Ok(()), Err));
                    }
                }
                Output::Event(Event::Unsupported { reason }) => {
                    // Final: `relay fetch` says why at once instead of waiting out its timeout.
                    let e = BridgeError::Unsupported(reason);
                    self.failed = Some(e.clone());
                    if let Some(done) = self.fetch.take() {
                        let _ = done.send(Err(e.clone()));
                    }
                    for (_, ws) in std::mem::take(&mut self.waiting) {
                        for w in ws {
                            let _ = w.send(Err(e.clone()));
                        }
                    }
                }
                Output::Event(Event::Disconnect { peer, reason }) => {
                    tracing::info!(cid = ?self.cid, "bridge drops a peer: {reason}");
                    self.outboxes.remove(&peer);
                    self.release_channel(peer);
                }
                Output::Event(e @ (Event::CheckChannel { .. } | Event::VoucherReceived { .. } | Event::ChannelReleased { .. } | Event::ChannelNeeded { .. } | Event::VoucherDue { .. } | Event::PayRefused { .. })) => {
                    self.on_pay_event(e, now);
                }
                Output::Event(_) => {}
            }
        }
    }

    /// Tells every connection why the file is given up and lets it go (the pumps close
    /// them; a page's WebSocket with the reason).
    fn end_pages(&mut self, e: &BridgeError) {
        tracing::info!(cid = ?self.cid, "bridge gives a file up: {e}");
        self.last_page = Instant::now(); // the refusal is remembered from now (REFUSAL_MEMORY)
        let now = self.now();
        for (key, outbox) in std::mem::take(&mut self.outboxes) {
            let _ = outbox.try_send(ToPage::End(e.clone()));
            self.swarm.handle_disconnected(key, now);
        }
    }

    /// One line on stderr: pieces, bytes, rate, peers.
    fn report_progress(&self) {
        let (Some(info), Some(have)) = (self.swarm.info(), self.swarm.have()) else {
            eprintln!("fetch: fetching the torrent's metadata from {} peers", self.outboxes.len());
            return;
        };
        let secs = self.epoch.elapsed().as_secs_f64().max(0.001);
        let bytes = u64::from(have.count()) * u64::from(info.piece_length);
        let bytes = bytes.min(info.length);
        eprintln!(
            "fetch: {}/{} pieces  {:.1}/{:.1} MiB  {:.1} MiB/s  {} peers",
            have.count(),
            info.pieces(),
            bytes as f64 / 1048576.0,
            info.length as f64 / 1048576.0,
            bytes as f64 / 1048576.0 / secs,
            self.outboxes.len()
        );
    }

    /// Where the pieces go: one sparse file at `path` (a bridged folder torrent too: its
    /// byte stream, padding included), or for `relay fetch` of a folder torrent the folder
    /// itself at `path`.
    async fn open_store(&mut self, info: &TorrentInfo) -> Result<(), BridgeError> {
        if !info.is_single_file() && self.cid.is_some() {
            return Err(BridgeError::Unsupported("a folder has no content ID yet; fetch it without --cid".into()));
        }
        if !info.is_single_file() && self.fetching {
            let files = info.real_files().count();
            eprintln!("fetch: {} is a folder of {files} files ({:.1} MiB); writing it to {}", info.name, info.length as f64 / 1048576.0, self.path.display());
            self.store = Some(PieceStore::Folder(Folder::create(self.path.clone(), info).await?));
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(BridgeError::storage)?;
        }
        let file = tokio::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&self.path).await.map_err(BridgeError::storage)?;
        file.set_len(info.length).await.map_err(BridgeError::storage)?;
        self.store = Some(PieceStore::File(file));
        Ok(())
    }

    fn offset(&self, index: u32) -> u64 {
        u64::from(index) * u64::from(self.swarm.info().map_or(0, |i| i.piece_length))
    }

    async fn read(&mut self, index: u32) -> Result<Vec<u8>, BridgeError> {
        let len = self.swarm.info().map(|i| i.piece_len(index)).ok_or(BridgeError::NoMetadata)? as usize;
        let offset = self.offset(index);
        self.store.as_mut().ok_or(BridgeError::NoMetadata)?.read(index, offset, len).await
    }

    async fn write(&mut self, index: u32, data: &[u8]) -> Result<(), BridgeError> {
        if self.local {
            return Err(BridgeError::ReadOnly);
        }
        let offset = self.offset(index);
        self.store.as_mut().ok_or(BridgeError::NoMetadata)?.write(index, offset, data).await
    }

    /// Whether piece `index` must wait for the whole-file check: the last piece of a file
    /// named by a CID, until the file has hashed to it. So a client never receives a
    /// complete file that is not the CID it asked for.
    fn holds_back(&self, index: u32) -> bool {
        self.cid.is_some() && !matches!(self.cid_check, CidCheck::Passed) && self.swarm.info().is_some_and(|i| index + 1 == i.pieces())
    }

    /// Every piece is here: hash the whole file against the CID the page named, in a task
    /// of its own (a multi-GiB file takes a while; the file's other requests go on).
    fn start_cid_check(&mut self) {
        if !matches!(self.cid_check, CidCheck::NotYet) || !self.swarm.is_complete() {
            return;
        }
        let (Some(cid), Some(me)) = (self.cid.clone(), self.me.as_ref().and_then(mpsc::WeakSender::upgrade)) else { return };
        self.cid_check = CidCheck::Running;
        let path = self.path.clone();
        tokio::spawn(async move {
            let result = match hash_file(&path).await {
                Ok(digest) if digest == cid => Ok(()),
                Ok(_) => Err(BridgeError::NotTheCid { cid }),
                Err(e) => Err(BridgeError::storage(e)),
            };
            let _ = me.send(Cmd::CidChecked { result }).await;
        });
    }

    async fn cid_checked(&mut self, result: Result<(), BridgeError>) {
        let held = std::mem::take(&mut self.held);
        match result {
            Ok(()) => {
                self.cid_check = CidCheck::Passed;
                let last = self.swarm.info().map_or(0, |i| i.pieces().saturating_sub(1));
                let data = self.read(last).await;
                for w in held {
                    let _ = w.send(data.clone());
                }
            }
            Err(e) => {
                tracing::warn!(cid = ?self.cid, "a page bridged a torrent that is not this CID; dropping it");
                self.cid_check = CidCheck::Failed(e.clone());
                self.failed = Some(e.clone());
                for w in held {
                    let _ = w.send(Err(e.clone()));
                }
            }
        }
        if let Some(done) = self.fetch.take() {
            self.report_progress();
            let _ = done.send(self.failed.clone().map_or(Ok(()), Err));
        }
    }
}

/// SHA-256 of a file, hex, read 1 MiB at a time.
async fn hash_file(path: &std::path::Path) -> std::io::Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Style 2 (see [`crate::paid`]): the swarm's payment events, answered through the chain
/// off the task (the answer comes back as a [`Cmd`]) or from the books at once.
impl FileTask {
    fn on_pay_event(&mut self, e: Event, now: u64) {
        match (e, self.pay.clone()) {
            (Event::CheckChannel { peer, channel, .. }, Some(crate::paid::TaskPay::Seller(seller))) => {
                self.pay_channels.insert(peer, channel);
                let me = self.me.clone();
                let owner = self.pay_owner(peer);
                tokio::spawn(async move {
                    let result = seller.check(channel, &owner).await;
                    if let Some(tx) = me.and_then(|m| m.upgrade()) {
                        let _ = tx.send(Cmd::ChannelChecked { key: peer, channel, result }).await;
                    }
                });
            }
            (Event::VoucherReceived { peer, channel, amount_wei, signature, served_bytes }, Some(crate::paid::TaskPay::Seller(seller))) => {
                // Not kept (closed, or the disk refused): the credit it bought must not be used.
                if let Err(e) = seller.received(channel, amount_wei, signature, served_bytes) {
                    self.swarm.end_channel(peer, &e, now);
                }
            }
            (Event::ChannelReleased { peer, channel, served_bytes }, Some(crate::paid::TaskPay::Seller(seller))) => {
                self.pay_channels.remove(&peer);
                seller.released(channel, &self.pay_owner(peer), served_bytes);
            }
            (Event::ChannelNeeded { peer, terms }, Some(crate::paid::TaskPay::Buyer(_))) => match self.swarm.missing_bytes() {
                Some(length) => self.open_channel(peer, terms, length),
                None => self.pay_pending.push((peer, terms)),
            },
            (Event::ChannelNeeded { peer, .. }, _) => self.swarm.decline_channel(peer, "this relay does not pay", now),
            (Event::VoucherDue { peer, channel, amount_wei, terms }, Some(crate::paid::TaskPay::Buyer(buyer))) => match buyer.voucher(&terms, channel, amount_wei) {
                Ok(signature) => self.swarm.send_voucher(peer, channel, amount_wei, signature, now),
                Err(e) => {
                    eprintln!("fetch: cannot sign a voucher: {e}");
                    self.swarm.decline_channel(peer, &e, now);
                }
            },
            (Event::PayRefused { peer, reason }, _) => tracing::info!(cid = ?self.cid, ?peer, "Style 2 refused: {reason}"),
            _ => {}
        }
    }

    fn open_channel(&mut self, key: PeerKey, terms: web_node::pay::wire::Terms, length: u64) {
        let Some(crate::paid::TaskPay::Buyer(buyer)) = self.pay.clone() else { return };
        let me = self.me.clone();
        tokio::spawn(async move {
            let result = buyer.channel_for(&terms, length).await;
            if let Some(tx) = me.and_then(|m| m.upgrade()) {
                let _ = tx.send(Cmd::ChannelReady { key, result }).await;
            }
        });
    }

    /// Who holds a channel: this file's connection `key` (unique among the relay's connections).
    fn pay_owner(&self, key: PeerKey) -> String {
        format!("{}/{}", hex::encode(self.swarm.info_hash()), key.0)
    }

    /// A connection gone before its channel opened (its check was in flight or refused):
    /// releases the channel only if this connection held it.
    fn release_channel(&mut self, key: PeerKey) {
        if let (Some(channel), Some(crate::paid::TaskPay::Seller(seller))) = (self.pay_channels.remove(&key), &self.pay) {
            seller.release(channel, &self.pay_owner(key));
        }
    }
}
