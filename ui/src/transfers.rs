//! Transfers: every torrent this page downloads or seeds, live. The torrents themselves
//! are `web_node::browser::torrent::Torrent`s; the UI keeps only their latest snapshots.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_node::browser::torrent::{Snapshot, Torrent, TorrentOptions, TransferState};
use web_node::file_check::Verdict;
use web_node::root_candidates::{Candidate, RootCandidates};

use crate::i18n::{t, t_args};
use crate::units;
use crate::wallet::{PaymentBox, Wallet};

const AUTO_SEED_KEY: &str = "chiral.auto_seed";
const SOURCES_KEY: &str = "chiral.sources";

/// Where downloads get their bytes. The default follows the design: browsers over WebRTC
/// (WebTorrent), and the relay, a public host, over its HTTP/BitTorrent bridge; both at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sources {
    Both,
    /// Browser peers only (nothing through the relay but signaling).
    WebRtc,
    /// The relay only: its own files, tabs and BitTorrent peers it bridges.
    Relay,
}

impl Sources {
    pub const ALL: [Sources; 3] = [Sources::Both, Sources::WebRtc, Sources::Relay];

    pub fn key(self) -> &'static str {
        match self {
            Sources::Both => "both",
            Sources::WebRtc => "webrtc",
            Sources::Relay => "relay",
        }
    }

    /// The message key of the option's label.
    pub fn label(self) -> &'static str {
        match self {
            Sources::Both => "sources-both",
            Sources::WebRtc => "sources-webrtc",
            Sources::Relay => "sources-relay",
        }
    }

    pub fn parse(key: &str) -> Self {
        Self::ALL.into_iter().find(|s| s.key() == key).unwrap_or(Sources::Both)
    }
}

#[derive(Clone, Copy)]
pub struct Transfers {
    pub list: RwSignal<Vec<Snapshot>>,
    torrents: StoredValue<Vec<Torrent>, LocalStorage>,
    pub auto_seed: RwSignal<bool>,
    pub sources: RwSignal<Sources>,
    pub error: RwSignal<Option<String>>,
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// This relay's tracker: `ws(s)://origin/announce`.
pub fn own_tracker() -> Option<String> {
    let origin = web_sys::window()?.location().origin().ok()?;
    web_node::torrent::Sources::relay(&origin, "").trackers.into_iter().next()
}

impl Transfers {
    pub fn new() -> Self {
        let auto_seed = local_storage().and_then(|s| s.get_item(AUTO_SEED_KEY).ok().flatten()).is_none_or(|v| v != "false");
        let sources = local_storage().and_then(|s| s.get_item(SOURCES_KEY).ok().flatten()).map_or(Sources::Both, |k| Sources::parse(&k));
        Self {
            list: RwSignal::new(Vec::new()),
            torrents: StoredValue::new_local(Vec::new()),
            auto_seed: RwSignal::new(auto_seed),
            sources: RwSignal::new(sources),
            error: RwSignal::new(None),
        }
    }

    pub fn set_sources(&self, sources: Sources) {
        self.sources.set(sources);
        if let Some(s) = local_storage() {
            let _ = s.set_item(SOURCES_KEY, sources.key());
        }
    }

    /// A download's options under the user's settings (sources, auto-seed, wallet).
    /// `peers`: a magnet's `x.pe` peers, which the relay bridge dials.
    pub fn options(&self, info_hash: [u8; 20], name: Option<String>, trackers: Vec<String>, peers: Vec<String>, cid: Option<String>) -> TorrentOptions {
        let sources = self.sources.get_untracked();
        let bridge = (sources != Sources::WebRtc).then(|| web_node::browser::torrent::bridge_url(&info_hash, None, None, &trackers, &peers)).flatten();
        // Without WebRTC the page joins no WebTorrent swarm: its trackers are left out.
        let trackers = if sources == Sources::Relay { trackers.into_iter().filter(|t| !t.starts_with("ws")).collect() } else { trackers };
        TorrentOptions {
            info_hash,
            name,
            trackers,
            cid,
            auto_seed: self.auto_seed.get_untracked(),
            pay_to: use_context::<Wallet>().and_then(|w| w.pay_to()),
            bridge,
            merkle_root: None,
            excluded_wallets: Default::default(),
            keep_from: None,
            peers,
            select_only: None,
        }
    }

    pub fn set_auto_seed(&self, on: bool) {
        self.auto_seed.set(on);
        if let Some(s) = local_storage() {
            let _ = s.set_item(AUTO_SEED_KEY, if on { "true" } else { "false" });
        }
    }

    fn on_update(self) -> impl Fn(Snapshot) + Clone + 'static {
        move |snapshot: Snapshot| {
            self.list.update(|list| match list.iter_mut().find(|s| s.info_hash == snapshot.info_hash) {
                Some(slot) => *slot = snapshot,
                None => list.push(snapshot),
            });
        }
    }

    fn has(&self, info_hash: &[u8; 20]) -> bool {
        self.torrents.with_value(|ts| ts.iter().any(|t| t.info_hash() == *info_hash))
    }

    /// Restarts the downloads a previous visit left in storage.
    pub fn resume(self) {
        spawn_local(async move {
            let pay_to = use_context::<Wallet>().and_then(|w| w.pay_to());
            for result in Torrent::resume_stored(pay_to, self.on_update()).await {
                match result {
                    Ok(t) => self.torrents.update_value(|ts| ts.push(t)),
                    Err(e) => self.error.set(Some(t_args("tr-resume-failed", &[("error", e.to_string().into())]))),
                }
            }
        });
    }

    pub fn download(self, options: TorrentOptions) {
        if self.has(&options.info_hash) {
            return;
        }
        spawn_local(async move {
            match Torrent::download(options, self.on_update()).await {
                Ok(t) => self.torrents.update_value(|ts| ts.push(t)),
                Err(e) => self.error.set(Some(t_args("tr-start-failed", &[("error", e.to_string().into())]))),
            }
        });
    }

    /// Downloads a CID by the claims the DHT made about it, best first: when the whole file
    /// under one Merkle root is not the CID, that root is dropped and the next is tried
    /// (`web_node::browser::cid_download`). `options_for` makes a claim's options.
    pub fn download_cid(self, candidates: RootCandidates, options_for: impl Fn(&Candidate) -> TorrentOptions + 'static) {
        if candidates.next().is_some_and(|c| self.has(&c.info_hash)) {
            return;
        }
        spawn_local(async move {
            let result = web_node::browser::cid_download::download_cid(
                candidates,
                options_for,
                move |h| self.has(h),
                move |t| self.torrents.update_value(|ts| ts.push(t)),
                self.on_update(),
            )
            .await;
            match result {
                Ok(web_node::browser::cid_download::CidOutcome::NoGoodRoot { rejected }) => {
                    self.error.set(Some(t_args("tr-no-good-root", &[("count", rejected.into())])))
                }
                Ok(_) => {}
                Err(e) => self.error.set(Some(t_args("tr-start-failed", &[("error", e.to_string().into())]))),
            }
        });
    }

    /// Seeds a shared file over WebRTC and offers it to the relay's bridge (HTTP, curl).
    /// `ed2k`: the file's ed2k hash, offered to the relay so eD2k clients can get it too.
    pub fn seed(self, file: web_sys::File, info_bytes: Vec<u8>, chunk_hashes: Vec<[u8; 32]>, cid: String, ed2k: Option<[u8; 16]>) -> Result<(), String> {
        let trackers = own_tracker().into_iter().collect();
        let pay_to = use_context::<Wallet>().and_then(|w| w.pay_to());
        let t = Torrent::seed(file, info_bytes, chunk_hashes, trackers, pay_to, Some(cid), ed2k, self.on_update()).map_err(|e| e.to_string())?;
        if self.has(&t.info_hash()) {
            t.stop();
            return Ok(());
        }
        self.torrents.update_value(|ts| ts.push(t));
        Ok(())
    }

    /// Seeds a folder the user chose as one torrent (`files` in the info dict's order, `None`
    /// for padding; `sha256` each file's CID); returns its infohash.
    pub fn seed_folder(self, files: Vec<Option<web_sys::File>>, sha256: Vec<Option<String>>, info_bytes: Vec<u8>) -> Result<[u8; 20], String> {
        let trackers = own_tracker().into_iter().collect();
        let pay_to = use_context::<Wallet>().and_then(|w| w.pay_to());
        let t = Torrent::seed_folder(files, sha256, info_bytes, trackers, pay_to, self.on_update()).map_err(|e| e.to_string())?;
        let info_hash = t.info_hash();
        if self.has(&info_hash) {
            t.stop();
        } else {
            self.torrents.update_value(|ts| ts.push(t));
        }
        Ok(info_hash)
    }

    /// The running torrent with this infohash (streams play from it).
    pub fn find_torrent(&self, info_hash: &[u8; 20]) -> Option<Torrent> {
        self.torrents.with_value(|ts| ts.iter().find(|t| &t.info_hash() == info_hash).cloned())
    }

    fn find(&self, info_hash: &str) -> Option<Torrent> {
        self.torrents.with_value(|ts| ts.iter().find(|t| hex::encode(t.info_hash()) == info_hash).cloned())
    }

    fn save(self, info_hash: String) {
        let Some(t) = self.find(&info_hash) else { return };
        spawn_local(async move {
            match t.blob().await {
                Ok(blob) => {
                    if let Err(e) = save_blob(&blob, &t.name()) {
                        self.error.set(Some(e));
                    }
                }
                Err(e) => self.error.set(Some(t_args("tr-save-failed", &[("error", e.to_string().into())]))),
            }
        });
    }

    /// Chooses whether a folder torrent's file `index` is downloaded.
    pub(crate) fn choose_file(self, info_hash: &str, index: usize, on: bool) {
        if let Some(t) = self.find(info_hash) {
            t.choose_file(index, on);
        }
    }

    /// Saves one file of a folder torrent (a browser download named after it).
    pub(crate) fn save_file(self, info_hash: &str, index: usize) {
        let Some(t) = self.find(info_hash) else { return };
        spawn_local(async move {
            match t.file_blob(index).await {
                Ok((blob, name)) => {
                    if let Err(e) = save_blob(&blob, &name) {
                        self.error.set(Some(e));
                    }
                }
                Err(e) => self.error.set(Some(t_args("tr-save-failed", &[("error", e.to_string().into())]))),
            }
        });
    }

    /// Saves a folder torrent's complete files into a folder the user picks (File System
    /// Access), keeping the torrent's layout.
    pub(crate) fn save_folder(self, info_hash: &str, files: Vec<(usize, String)>, name: String) {
        let Some(t) = self.find(info_hash) else { return };
        spawn_local(async move {
            if let Err(e) = crate::folder::save_into_picked_folder(&t, &name, &files).await {
                self.error.set(Some(t_args("tr-folder-save-failed", &[("error", e.into())])));
            }
        });
    }

    /// Stops a transfer and deletes what it stored (a download's pieces; a shared file's
    /// own bytes are never touched).
    pub fn remove(self, info_hash: String) {
        let Some(t) = self.find(&info_hash) else { return };
        self.torrents.update_value(|ts| ts.retain(|x| hex::encode(x.info_hash()) != info_hash));
        self.list.update(|l| l.retain(|s| s.info_hash != info_hash));
        spawn_local(async move {
            if let Err(e) = t.remove().await {
                self.error.set(Some(t_args("tr-delete-failed", &[("error", e.to_string().into())])));
            }
        });
    }
}

impl Default for Transfers {
    fn default() -> Self {
        Self::new()
    }
}

/// Saves a Blob (backed by storage, not memory) through a download link.
fn save_blob(blob: &web_sys::Blob, name: &str) -> Result<(), String> {
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(|_| "the browser refused to save the file")?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a").map_err(|_| "no anchor")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    // Give the download a moment to start before the URL goes.
    let _ = set_timeout_with_handle(move || { let _ = web_sys::Url::revoke_object_url(&url); }, std::time::Duration::from_secs(60));
    Ok(())
}

#[component]
pub fn TransferList() -> impl IntoView {
    let transfers = expect_context::<Transfers>();
    view! {
        <div id="transfers" class="transfers">
            {move || transfers.error.get().map(|e| view! { <div class="card error" role="alert">{e}</div> })}
            <For each=move || transfers.list.get() key=|s| s.info_hash.clone() let:snapshot>
                <TransferCard info_hash=snapshot.info_hash.clone() />
            </For>
        </div>
    }
}

#[component]
fn TransferCard(info_hash: String) -> impl IntoView {
    let transfers = expect_context::<Transfers>();
    let key = info_hash.clone();
    let snap = Memo::new(move |_| transfers.list.with(|l| l.iter().find(|s| s.info_hash == key).cloned()));
    let get = move || snap.get();
    let attr = move |f: fn(&Snapshot) -> String| move || get().map(|s| f(&s)).unwrap_or_default();
    let save_hash = info_hash.clone();
    let remove_hash = info_hash.clone();
    let player_hash = info_hash.clone();
    let media_name = Memo::new(move |_| snap.with(|s| s.as_ref().filter(|s| s.files.is_empty()).map(|s| s.name.clone())));
    view! {
        <div class="card transfer"
            data-infohash=info_hash.clone()
            data-state=attr(|s| s.state.as_str().to_string())
            data-have=attr(|s| s.have.to_string())
            data-pieces=attr(|s| s.pieces.to_string())
            data-sha256=attr(|s| s.sha256.clone().unwrap_or_default())
            data-banned=attr(|s| s.banned.to_string())
            data-failed-pieces=attr(|s| s.failed_pieces.to_string())
            data-piece-check=attr(|s| s.piece_check.to_string())
            data-downloaded=attr(|s| s.downloaded.to_string())
            data-uploaded=attr(|s| s.uploaded.to_string())
            data-error=attr(|s| s.error.clone().unwrap_or_default())
            data-bridge-refusal=attr(|s| s.bridge_refusal.clone().unwrap_or_default())
            data-verdict=attr(|s| match &s.verdict {
                Some(Verdict::Verified { .. }) => "verified".to_string(),
                Some(Verdict::Failed { .. }) => "failed".to_string(),
                None => String::new(),
            })
            data-kept-pieces=attr(|s| s.kept_pieces.to_string())
            data-files=attr(|s| s.files.len().to_string())
        >
            {move || get().map(|s| {
                let fraction = if s.pieces == 0 { 0.0 } else { f64::from(s.have) / f64::from(s.pieces) };
                let status = match s.state {
                    TransferState::Metadata => t("tr-metadata"),
                    TransferState::Downloading => t_args("tr-downloading", &[("time", s.eta_secs.map_or("—".into(), units::duration).into())]),
                    TransferState::Verifying => t_args(
                        "tr-verifying",
                        &[("percent", units::percent(s.size.filter(|n| *n > 0).map_or(0.0, |n| s.verified_bytes as f64 / n as f64), 0).into())],
                    ),
                    TransferState::Complete => t("tr-complete"),
                    TransferState::Seeding => t("tr-seeding"),
                    TransferState::Error => t_args("tr-error", &[("error", s.error.clone().unwrap_or_default().into())]),
                };
                let verified = match (s.cid_matches, &s.sha256) {
                    (Some(true), _) => Some(t("tr-cid-matches")),
                    (Some(false), _) => Some(t("tr-cid-mismatch")),
                    (None, Some(h)) => Some(format!("SHA-256 {}…", &h[..16])),
                    _ => None,
                };
                view! {
                    <div class="file-name">
                        <strong>{s.name.clone()}</strong>
                        <span class="meta">{s.size.map(units::bytes).unwrap_or_default()} " · " {status}</span>
                    </div>
                    <div class="bar" role="progressbar" aria-valuenow=format!("{:.0}", fraction * 100.0) aria-valuemin="0" aria-valuemax="100">
                        <div class="fill" class:done={fraction >= 1.0} style:width=format!("{:.2}%", fraction * 100.0)></div>
                    </div>
                    <div class="stats">
                        <span class="pct">{units::percent(fraction, 1)}</span>
                        <span>{t_args("tr-pieces", &[("have", s.have.into()), ("count", s.pieces.into())])}</span>
                        <span class="down">"↓ " {units::rate_per_second(s.down_rate)}</span>
                        <span class="up">"↑ " {units::rate_per_second(s.up_rate)}</span>
                        <span>{t_args("tr-peers", &[("count", s.peers.len().into())])}</span>
                        {(s.banned > 0).then(|| view! { <span class="warn">{t_args("tr-banned", &[("count", s.banned.into())])}</span> })}
                        {verified.map(|v| view! { <span class="verified">{v}</span> })}
                        {(s.kept_pieces > 0).then(|| view! { <span class="kept" title=t("tr-kept-title")>{t_args("tr-kept", &[("count", s.kept_pieces.into())])}</span> })}
                        <span class="check" title=t("tr-check-title")>{match s.piece_check {
                            "sha1+sha256" => t("tr-check-both"),
                            "awaiting-chunk-hashes" => t("tr-check-waiting"),
                            _ => t("tr-check-sha1"),
                        }}</span>
                    </div>
                    {s.bridge_refusal.clone().map(|r| view! { <p class="warn bridge-refusal" role="alert">{r}</p> })}
                    {(!s.files.is_empty()).then(|| view! { <crate::folder::FileTable info_hash=s.info_hash.clone() name=s.name.clone() files=s.files.clone() /> })}
                    {(!s.sources.is_empty()).then(|| view! { <ChunkMap map=s.chunk_map.clone() sources=s.sources.clone() /> })}
                    {(!s.peers.is_empty()).then(|| view! {
                        <table class="peers">
                            <thead><tr><th>{t("col-peer")}</th><th>{t("col-client")}</th><th>{t("col-protocol")}</th><th>"↓"</th><th>"↑"</th><th>{t("col-pieces")}</th><th title=t("col-score-title")>{t("col-score")}</th></tr></thead>
                            <tbody>
                                {s.peers.iter().map(|p| view! {
                                    <tr class="peer">
                                        <td><code>{p.id.clone()}</code></td>
                                        <td>{p.client.clone()}</td>
                                        <td>
                                            <span class="proto">{p.protocol}</span>
                                            {p.path.map(|path| view! { <span class="path" data-path=path title=t("tr-path-title")>{path}</span> })}
                                        </td>
                                        <td>{units::rate_per_second(p.down_rate)}</td>
                                        <td>{units::rate_per_second(p.up_rate)}</td>
                                        <td>{p.pieces}</td>
                                        <td class="score" class:warn=p.avoided data-score=p.score.map(|x| format!("{x:.3}")).unwrap_or_default()>
                                            {match (p.avoided, p.score) {
                                                (true, _) => t("tr-avoided"),
                                                (false, Some(x)) => units::number(x, 2),
                                                (false, None) => "–".into(),
                                            }}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    })}
                }
            })}
            {move || get().filter(|s| !s.plan.is_empty() && s.verdict.as_ref().is_some_and(Verdict::is_verified)).map(|s| view! { <PaymentBox file=s.file_key.clone() plan=s.plan.clone() /> })}
            {move || get().and_then(|s| s.verdict.and_then(|v| v.failure())).map(|reason| view! {
                <div class="payment-box refused" data-paid="refused">
                    <h3>{move || t("pay-title")}</h3>
                    <p class="error">{move || t_args("tr-refused", &[("reason", (&reason).into())])}</p>
                    <button class="pay primary" disabled=true>{move || t("pay-button")}</button>
                </div>
            })}
            // Keyed on the name only: a new snapshot each second must not re-create the player.
            {move || media_name.get().map(|name| view! { <crate::player::Player info_hash=player_hash.clone() name=name /> })}
            <div class="actions">
                <button class="save" class:hidden=move || get().is_some_and(|s| !s.files.is_empty()) disabled=move || !get().is_some_and(|s| s.verdict.as_ref().is_some_and(Verdict::is_verified))
                    on:click=move |_| transfers.save(save_hash.clone())>{move || t("tr-save-file")}</button>
                <button class="remove" on:click=move |_| transfers.remove(remove_hash.clone())>{move || t("remove")}</button>
            </div>
        </div>
    }
}

/// Source colours for the chunk map (the legend names them).
const SOURCE_COLOURS: [&str; 8] = ["#38bdf8", "#a78bfa", "#34d399", "#fbbf24", "#f472b6", "#60a5fa", "#f87171", "#2dd4bf"];

/// Which source delivered which chunk: a bar of (at most 400) segments and a legend.
#[component]
fn ChunkMap(map: Vec<u8>, sources: Vec<(String, u32)>) -> impl IntoView {
    let n = map.len().max(1);
    let per = n.div_ceil(400);
    let segments = map
        .chunks(per)
        .map(|group| {
            // A group shows the source that delivered most of it.
            let mut counts = [0u32; 256];
            for c in group {
                counts[*c as usize] += 1;
            }
            let best = (0..255).max_by_key(|i| counts[*i]).filter(|i| counts[*i] > 0);
            let colour = best.map_or("#1e293b", |i| SOURCE_COLOURS[i % SOURCE_COLOURS.len()]);
            view! { <span style:background=colour style:width=format!("{:.4}%", 100.0 * group.len() as f64 / n as f64)></span> }
        })
        .collect_view();
    view! {
        <div class="chunkmap" title=move || t("tr-chunkmap-title")>{segments}</div>
        <div class="legend">
            {sources.into_iter().enumerate().map(|(i, (label, chunks))| {
                let shown = { let label = label.clone(); move || t_args("tr-source-chunks", &[("source", (&label).into()), ("count", chunks.into())]) };
                view! {
                    <span class="chunk-source" data-source=label data-chunks=chunks.to_string()>
                        <i style:background=SOURCE_COLOURS[i % SOURCE_COLOURS.len()]></i>{shown}
                    </span>
                }
            }).collect_view()}
        </div>
    }
}
