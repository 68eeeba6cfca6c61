//! Share a folder (or several files) as one torrent: each file is hashed in the tab like a
//! single share (its CID, chunk hashes, ed2k), then the folder becomes one BitTorrent v1
//! torrent whose files each start on a piece ([`web_node::folder_share`]), seeded from the
//! chosen files over WebRTC and through the relay's bridge, with its folder manifest ID.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_node::folder_share::{self, FolderFile, FolderManifest};
use web_node::ingest::IngestOptions;
use web_node::manifest::Manifest;
use web_sys::{File, HtmlInputElement};

use crate::clipboard::copy;
use crate::hashing::now_ms;
use crate::transfers::Transfers;
use crate::i18n::{t, t_args};
use crate::units;

/// Files of a folder also seeded and published one by one (each is a swarm and a DHT
/// record; a larger folder is found by its magnet, its other files inside it).
pub const MAX_FILES_ON_THEIR_OWN: usize = 32;

#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Idle,
    Hashing { files: usize, done: u64, total: u64, started_ms: f64, now_ms: f64 },
    Done(Shared),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Shared {
    /// The files also shared on their own (each its own torrent and DHT record, so it is
    /// found and fetched by its CID); at most [`MAX_FILES_ON_THEIR_OWN`], empty files left out.
    on_their_own: Vec<web_node::file_record::FileInfo>,
    name: String,
    infohash: String,
    magnet: String,
    folder_id: String,
    files: Vec<(String, u64, String)>,
    total: u64,
}

/// A chosen file's path below the folder: `webkitRelativePath` without its first component
/// (the folder's own name), else the file's name.
fn relative_path(file: &File) -> (Option<String>, Vec<String>) {
    let rel = js_sys::Reflect::get(file, &"webkitRelativePath".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let parts: Vec<String> = rel.split('/').filter(|p| !p.is_empty()).map(String::from).collect();
    if parts.len() >= 2 {
        (Some(parts[0].clone()), parts[1..].to_vec())
    } else {
        (None, vec![file.name()])
    }
}

async fn hash(file: &File, on_progress: impl FnMut(u64, u64)) -> Result<Manifest, String> {
    let options = IngestOptions { created_at: (js_sys::Date::now() / 1000.0) as u64, ..IngestOptions::new(file.name(), file.size() as u64) };
    let ingest = web_node::browser::plain_ingest(options).map_err(|e| e.to_string())?;
    web_node::browser::ingest_blob(file, ingest, on_progress).await.map_err(|e| format!("“{}”: {e}", file.name()))
}

/// SHA-1 of the file's last chunk padded with zeros to a piece.
async fn padded_last(file: &File) -> Result<[u8; 20], String> {
    let size = file.size() as u64;
    let start = size - size % web_node::CHUNK_SIZE as u64;
    let slice = file.slice_with_f64_and_f64(start as f64, size as f64).map_err(|_| "cannot read the file's last chunk")?;
    let buffer = JsFuture::from(slice.array_buffer()).await.map_err(|_| format!("cannot read “{}”", file.name()))?;
    Ok(folder_share::padded_piece_sha1(&js_sys::Uint8Array::new(&buffer).to_vec()))
}

async fn share(files: Vec<File>, set_stage: WriteSignal<Stage>, transfers: Transfers) -> Result<Shared, String> {
    let total: u64 = files.iter().map(|f| f.size() as u64).sum();
    let mut folder_name = None;
    let mut entries: Vec<(Vec<String>, File)> = Vec::with_capacity(files.len());
    for f in files {
        let (top, path) = relative_path(&f);
        folder_name = folder_name.or(top);
        entries.push((path, f));
    }
    let name = folder_name.unwrap_or_else(|| t_args("folder-n-files", &[("count", entries.len().into())]));
    let sizes: Vec<(Vec<String>, u64)> = entries.iter().map(|(p, f)| (p.clone(), f.size() as u64)).collect();
    folder_share::layout(&sizes).map_err(|e| e.to_string())?;
    let mut manifests = Vec::with_capacity(entries.len());
    let mut padded = Vec::with_capacity(entries.len());
    let mut before = 0u64;
    for (i, (_, file)) in entries.iter().enumerate() {
        let mut last_paint = 0.0;
        let manifest = hash(file, |done, _| {
            let now = now_ms();
            if now - last_paint >= 100.0 {
                last_paint = now;
                set_stage.update(|s| {
                    if let Stage::Hashing { done: d, now_ms: n, .. } = s {
                        *d = before + done;
                        *n = now;
                    }
                });
            }
        })
        .await?;
        before += manifest.size;
        padded.push(if folder_share::needs_padded_last(&sizes, i) { Some(padded_last(file).await?) } else { None });
        manifests.push(manifest);
    }
    let folder: Vec<FolderFile<'_>> = entries.iter().zip(&manifests).zip(&padded).map(|(((path, _), m), p)| FolderFile { path: path.clone(), manifest: m, padded_last: *p }).collect();
    let info_bytes = folder_share::info_bytes(&name, &folder).map_err(|e| e.to_string())?;
    let folder_id = FolderManifest::new(&name, &folder).id();
    let info = web_node::peer_wire::extension::TorrentInfo::parse(&info_bytes).map_err(|e| e.to_string())?;
    // The chosen files in the info dict's order; padding entries read as zeros.
    let mut by_path: std::collections::HashMap<Vec<String>, (File, String)> =
        entries.iter().zip(&manifests).map(|((p, f), m)| (p.clone(), (f.clone(), hex::encode(m.cid)))).collect();
    let (ordered, sha256): (Vec<Option<File>>, Vec<Option<String>>) =
        info.files.iter().map(|e| if e.padding { (None, None) } else { by_path.remove(&e.path).map_or((None, None), |(f, c)| (Some(f), Some(c))) }).unzip();
    let infohash = transfers.seed_folder(ordered, sha256, info_bytes)?;
    // Each file on its own too: its CID names it in the DHT, and this tab seeds it.
    let mut on_their_own = Vec::new();
    for ((_, file), m) in entries.iter().zip(&manifests).filter(|(_, m)| m.size > 0).take(MAX_FILES_ON_THEIR_OWN) {
        transfers.seed(file.clone(), m.info_dict_bytes(), m.chunk_hashes.clone(), hex::encode(m.cid), Some(m.ed2k))?;
        on_their_own.push(web_node::file_record::FileInfo::from_manifest(m));
    }
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let sources = web_node::torrent::Sources { web_seeds: vec![], ..web_node::torrent::Sources::relay(&origin, "") };
    let magnet = web_node::torrent::magnet_uri(&infohash, &name, info.length, &sources);
    let files = folder.iter().map(|f| (f.path.join("/"), f.manifest.size, hex::encode(f.manifest.cid))).collect();
    Ok(Shared { on_their_own, name, infohash: hex::encode(infohash), magnet, folder_id, files, total })
}

#[component]
pub fn ShareFolder() -> impl IntoView {
    let transfers = expect_context::<Transfers>();
    let (stage, set_stage) = signal(Stage::Idle);
    let start = move |list: web_sys::FileList| {
        if matches!(stage.get_untracked(), Stage::Hashing { .. }) {
            return;
        }
        let files: Vec<File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        if files.is_empty() {
            return;
        }
        let total = files.iter().map(|f| f.size() as u64).sum();
        let now = now_ms();
        set_stage.set(Stage::Hashing { files: files.len(), done: 0, total, started_ms: now, now_ms: now });
        spawn_local(async move {
            let result = share(files, set_stage, transfers).await;
            set_stage.set(match result {
                Ok(s) => Stage::Done(s),
                Err(e) => Stage::Failed(e),
            });
        });
    };
    let on_change = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(list) = input.files() {
            start(list);
        }
    };
    let dir_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = dir_input.get() {
            let _ = input.unchecked_ref::<web_sys::Element>().set_attribute("webkitdirectory", "");
        }
    });
    let state = move || match stage.get() {
        Stage::Idle => "idle",
        Stage::Hashing { .. } => "hashing",
        Stage::Done(_) => "done",
        Stage::Failed(_) => "error",
    };
    view! {
        <div class="card share-folder" id="folder-share" data-state=state>
            <h2>{move || t("folder-title")}</h2>
            <p class="meta">{move || t("folder-lede")}</p>
            <div class="actions">
                <label class="copy">{move || t("folder-choose-folder")} " " <input id="dir-input" node_ref=dir_input type="file" multiple class="hidden" on:change=on_change /></label>
                <label class="copy">{move || t("folder-choose-files")} " " <input id="folder-files-input" type="file" multiple class="hidden" on:change=on_change /></label>
            </div>
            {move || match stage.get() {
                Stage::Idle => ().into_any(),
                Stage::Hashing { files, done, total, started_ms, now_ms } => {
                    let fraction = if total == 0 { 1.0 } else { done as f64 / total as f64 };
                    let secs = ((now_ms - started_ms) / 1000.0).max(1e-3);
                    view! {
                        <p>{t_args("folder-hashing", &[("count", files.into()), ("done", units::bytes(done).into()), ("total", units::bytes(total).into())])}</p>
                        <div class="bar"><div class="fill" style:width=format!("{:.2}%", fraction * 100.0)></div></div>
                        <p class="meta">{units::rate_per_second(done as f64 / secs)}</p>
                    }.into_any()
                }
                Stage::Failed(e) => view! { <p class="error" role="alert" id="folder-error">{e}</p> }.into_any(),
                Stage::Done(s) => {
                    let magnet = s.magnet.clone();
                    view! {
                        <p><strong id="folder-name">{s.name.clone()}</strong> " · " {t_args("folder-n-files", &[("count", s.files.len().into())])} " · " {units::bytes(s.total)}</p>
                        <div class="row"><span class="label">{t("share-magnet")}</span><code id="folder-magnet">{s.magnet.clone()}</code>
                            <button class="copy" on:click=move |_| {
                                let m = magnet.clone();
                                spawn_local(async move { let _ = copy(&m).await; });
                            }>{t("copy")}</button></div>
                        <div class="row"><span class="label">{t("share-infohash")}</span><code id="folder-infohash">{s.infohash.clone()}</code></div>
                        <div class="row" title=t("folder-id-title")>
                            <span class="label">{t("folder-id")}</span><code id="folder-id">{s.folder_id.clone()}</code></div>
                        <table class="files">
                            <thead><tr><th>{t("col-file")}</th><th>{t("col-size")}</th><th>{t("share-cid")}</th></tr></thead>
                            <tbody>{s.files.iter().map(|(p, n, c)| view! {
                                <tr class="shared-file" data-path=p.clone() data-cid=c.clone()><td><code>{p.clone()}</code></td><td>{units::bytes(*n)}</td><td><code>{format!("{}…", &c[..16])}</code></td></tr>
                            }).collect_view()}</tbody>
                        </table>
                        <p class="meta">{t("folder-seeding")}</p>
                        {s.on_their_own.iter().enumerate().map(|(i, f)| view! {
                            <div class="folder-file-publish" data-cid=f.cid.clone()><code>{f.name.clone()}</code>
                                <crate::share::PublishRow file=f.clone() id=format!("publish-{i}") /></div>
                        }).collect_view()}
                    }.into_any()
                }
            }}
        </div>
    }
}
