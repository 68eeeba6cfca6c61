//! The Library view: every file this browser shares (kept across reloads) and has
//! downloaded, with state, live upload numbers and earnings; "Stop sharing" and
//! "Re-grant access" act on [`crate::library::Library`].

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_node::browser::library::Location;
use web_node::browser::torrent::{Snapshot, TransferState};

use crate::library::{Library, Row, Status};
use crate::transfers::Transfers;
use crate::units;
use crate::wallet::{eth, Wallet};

#[component]
pub fn LibraryView() -> impl IntoView {
    let library = expect_context::<Library>();
    let transfers = expect_context::<Transfers>();
    let wallet = expect_context::<Wallet>();
    let seeding = move || library.rows.with(|r| r.iter().filter(|r| r.status == Status::Seeding).count());
    let uploaded = move || library.rows.with(|rows| rows.iter().map(|r| library.uploaded(r)).sum::<u64>());
    let up_rate = move || transfers.list.with(|l| l.iter().filter(|s| s.state == TransferState::Seeding).map(|s| s.up_rate).sum::<f64>());
    // Kept files count their own payments (stored, across visits); other payments this
    // visit found (downloads seeded on) come from the wallet.
    let earned = move || {
        let cids: Vec<String> = library.rows.with(|r| r.iter().map(|r| r.entry.file.cid.clone()).collect());
        let kept: u128 = library.rows.with(|r| r.iter().map(|r| r.entry.earned_wei).sum());
        let other: u128 = wallet.earnings.with(|e| e.iter().filter(|x| !x.file.as_ref().is_some_and(|f| cids.contains(f))).map(|x| x.wei).sum());
        kept.saturating_add(other)
    };
    // Downloads: transfers that are not one of the library's own shares.
    let downloads = move || {
        let kept: Vec<String> = library.rows.with(|r| r.iter().map(|r| r.info_hash().to_string()).collect());
        transfers.list.with(|l| l.iter().filter(|s| !kept.contains(&s.info_hash)).cloned().collect::<Vec<_>>())
    };
    view! {
        <section class="library" id="library" data-loaded=move || library.loaded.get().to_string()>
            <h1>"Library"</h1>
            <p class="lede">"What this browser shares and has downloaded. Files you keep here seed again whenever this page is open, after a reload or a restart."</p>
            <div class="card lib-totals">
                <div class="stat"><span class="label">"Seeding"</span><strong id="lib-seeding">{seeding}</strong></div>
                <div class="stat"><span class="label">"Uploaded"</span><strong id="lib-uploaded" data-bytes=move || uploaded().to_string()>{move || units::bytes(uploaded())}</strong></div>
                <div class="stat"><span class="label">"Upload rate"</span><strong>{move || units::rate_per_second(up_rate())}</strong></div>
                <div class="stat" title="Payments received by this wallet for files it seeded">
                    <span class="label">"Earned"</span><strong id="lib-earned" data-wei=move || earned().to_string()>{move || eth(earned())}</strong>
                </div>
            </div>
            {move || library.error.get().map(|e| view! { <div class="card error" role="alert">{e}</div> })}
            <h2>"Shared"</h2>
            <Show when=move || library.loaded.get() fallback=|| view! { <p class="meta"><span class="spinner"></span>" reading the library…"</p> }>
                <Show when=move || library.rows.with(|r| !r.is_empty())
                    fallback=|| view! { <p class="meta empty" id="lib-empty">"Nothing kept yet. Share a file and choose “Keep seeding after reload”."</p> }>
                    <For each=move || {
                        // Newest first.
                        let mut rows = library.rows.get();
                        rows.sort_by(|a, b| b.entry.added_at.cmp(&a.entry.added_at).then_with(|| a.entry.file.name.cmp(&b.entry.file.name)));
                        rows
                    } key=|r| r.info_hash().to_string() let:row>
                        <SharedCard info_hash=row.info_hash().to_string() />
                    </For>
                </Show>
            </Show>
            <h2>"Downloaded"</h2>
            <Show when=move || !downloads().is_empty() fallback=|| view! { <p class="meta empty">"No downloads in this browser."</p> }>
                <For each=downloads key=|s| s.info_hash.clone() let:snapshot>
                    <DownloadCard info_hash=snapshot.info_hash.clone() />
                </For>
            </Show>
        </section>
    }
}

fn status_text(row: &Row, snapshot: Option<&Snapshot>) -> String {
    match (&row.status, snapshot) {
        (Status::Seeding, Some(s)) if s.state == TransferState::Error => format!("stopped: {}", s.error.clone().unwrap_or_default()),
        (Status::Seeding, Some(s)) => format!("seeding · {} peer{}", s.peers.len(), if s.peers.len() == 1 { "" } else { "s" }),
        (Status::Seeding, None) => "seeding".into(),
        (Status::Starting, _) => "checking the file…".into(),
        (Status::Copying { done }, _) => format!("copying into this browser… {:.0} %", *done as f64 / row.entry.file.size.max(1) as f64 * 100.0),
        (Status::NeedsAccess, _) => "paused: the browser needs your permission to read the file again".into(),
        (Status::Missing, _) => "missing: the file is gone".into(),
        (Status::Changed { why }, _) => format!("not seeded: the file changed ({why})"),
        (Status::Failed { why }, _) => format!("not seeded: {why}"),
    }
}

#[component]
fn SharedCard(info_hash: String) -> impl IntoView {
    let library = expect_context::<Library>();
    let transfers = expect_context::<Transfers>();
    let key = info_hash.clone();
    let row = Memo::new(move |_| library.rows.with(|r| r.iter().find(|r| r.info_hash() == key).cloned()));
    let key = info_hash.clone();
    let snapshot = Memo::new(move |_| transfers.list.with(|l| l.iter().find(|s| s.info_hash == key).cloned()));
    // A seeding torrent that hit a changed piece shows as changed.
    let state = move || match (row.get().map(|r| r.status), snapshot.get()) {
        (Some(Status::Seeding), Some(s)) if s.state == TransferState::Error => "changed".to_string(),
        (Some(status), _) => status.as_str().to_string(),
        (None, _) => String::new(),
    };
    let uploaded = move || row.get().map_or(0, |r| library.uploaded(&r));
    let regrant_hash = info_hash.clone();
    let stop_hash = info_hash.clone();
    view! {
        <div class="card lib-entry" data-infohash=info_hash.clone() data-state=state
            data-location=move || row.get().map_or("", |r| match r.entry.location { Location::OpfsCopy => "opfs_copy", Location::Handle => "handle" })
            data-uploaded=move || uploaded().to_string()
            data-saved-uploaded=move || row.get().map_or(String::new(), |r| r.saved_uploaded.to_string())
            data-earned-wei=move || row.get().map_or(String::new(), |r| r.entry.earned_wei.to_string())
            data-published=move || row.get().and_then(|r| r.published).map_or(String::new(), |(at, _)| format!("{at:.0}"))>
            {move || row.get().map(|r| {
                let s = snapshot.get();
                let copying = match r.status { Status::Copying { done } => Some(done as f64 / r.entry.file.size.max(1) as f64), _ => None };
                let added = js_sys::Date::new(&((r.entry.added_at as f64) * 1000.0).into()).to_locale_date_string("en", &wasm_bindgen::JsValue::UNDEFINED);
                let name = r.entry.file.name.clone();
                view! {
                    <div class="file-name">
                        <strong>{r.entry.file.name.clone()}</strong>
                        <span class="meta">{units::bytes(r.entry.file.size)} " · " {status_text(&r, s.as_ref())}</span>
                        <span class="badge" title="Where the bytes are read from">{match r.entry.location {
                            Location::OpfsCopy => "copy in this browser",
                            Location::Handle => "your file on disk",
                        }}</span>
                    </div>
                    {copying.map(|f| view! {
                        <div class="bar" role="progressbar"><div class="fill" style:width=format!("{:.2}%", f * 100.0)></div></div>
                    })}
                    <div class="stats">
                        <span class="up">"↑ " {units::rate_per_second(s.as_ref().map_or(0.0, |s| s.up_rate))}</span>
                        <span class="uploaded">{units::bytes(library.uploaded(&r))} " uploaded in all"</span>
                        <span class="earned" title="Payments received for this file">{eth(r.entry.earned_wei)} " earned"</span>
                        <span>"added " {String::from(added)}</span>
                        <span class="published">{match r.published {
                            Some((at, remote)) => format!(
                                "in the DHT since {}{}",
                                String::from(js_sys::Date::new(&at.into()).to_locale_time_string("en")),
                                if remote { "" } else { " (relay only)" }
                            ),
                            None => "not yet in the DHT".into(),
                        }}</span>
                        <span class="meta" title=r.entry.file.cid.clone()>"CID " <code>{r.entry.file.cid[..16.min(r.entry.file.cid.len())].to_string()} "…"</code></span>
                    </div>
                    {(r.status == Status::NeedsAccess).then(|| {
                        let hash = regrant_hash.clone();
                        view! {
                            <p class="warn">"Your browser forgot its permission to read this file. Allow it again to resume seeding."</p>
                            <button class="primary regrant" on:click=move |_| library.regrant(hash.clone())>{format!("Re-grant access to resume seeding {name}")}</button>
                        }
                    })}
                }
            })}
            <div class="actions">
                <button class="stop-sharing" on:click=move |_| library.stop_sharing(stop_hash.clone())>"Stop sharing"</button>
            </div>
        </div>
    }
}

#[component]
fn DownloadCard(info_hash: String) -> impl IntoView {
    let transfers = expect_context::<Transfers>();
    let key = info_hash.clone();
    let snapshot = Memo::new(move |_| transfers.list.with(|l| l.iter().find(|s| s.info_hash == key).cloned()));
    let remove_hash = info_hash.clone();
    let state = move || snapshot.get().map_or("", |s| match s.state {
        TransferState::Metadata | TransferState::Downloading => "downloading",
        TransferState::Verifying => "verifying",
        TransferState::Complete => "complete",
        TransferState::Seeding => "seeding",
        TransferState::Error => "error",
    });
    view! {
        <div class="card lib-download" data-infohash=info_hash.clone() data-state=state>
            {move || snapshot.get().map(|s| {
                let fraction = if s.pieces == 0 { 0.0 } else { f64::from(s.have) / f64::from(s.pieces) };
                view! {
                    <div class="file-name">
                        <strong>{s.name.clone()}</strong>
                        <span class="meta">{s.size.map(units::bytes).unwrap_or_default()} " · " {state} " · " {format!("{:.0} %", fraction * 100.0)}</span>
                    </div>
                    <div class="stats">
                        <span class="down">"↓ " {units::rate_per_second(s.down_rate)}</span>
                        <span class="up">"↑ " {units::rate_per_second(s.up_rate)}</span>
                        <span>{units::bytes(s.uploaded)} " uploaded"</span>
                        <span>{s.peers.len()} " peers"</span>
                    </div>
                }
            })}
            <div class="actions">
                <a class="copy" href="#download">"Details"</a>
                <button class="remove" on:click=move |_| transfers.remove(remove_hash.clone())>"Remove"</button>
            </div>
        </div>
    }
}

/// In the Share view's result: keeps the file in the library. A file that came with a
/// handle is kept at once (nothing is copied); otherwise the user chooses to keep a copy in
/// this browser's storage. `#keep-state[data-state]`: offered, copying, kept, error,
/// unavailable (encrypted: the ciphertext is not on disk).
#[component]
pub fn KeepRow(hashed: crate::hashing::Hashed) -> impl IntoView {
    let library = expect_context::<Library>();
    let info_hash = hashed.file.infohash.clone();
    let size = hashed.file.size;
    let encrypted = hashed.source.is_none();
    let has_handle = hashed.handle.is_some();
    let hashed = StoredValue::new_local(hashed);
    let (error, set_error) = signal(None::<String>);
    let status = {
        let info_hash = info_hash.clone();
        Memo::new(move |_| library.rows.with(|r| r.iter().find(|r| r.info_hash() == info_hash).map(|r| r.status.clone())))
    };
    let keep = move || {
        let h = hashed.get_value();
        let Some(source) = h.source.clone() else { return };
        set_error.set(None);
        spawn_local(async move {
            if let Err(e) = library.keep(&h, h.handle.clone(), &source).await {
                set_error.set(Some(e));
            }
        });
    };
    if has_handle && !encrypted {
        let asked = StoredValue::new(false);
        Effect::new(move |_| {
            if library.loaded.get() && !asked.get_value() {
                asked.set_value(true);
                if !library.contains(&info_hash) {
                    keep();
                }
            }
        });
    }
    let state = move || {
        if encrypted {
            "unavailable"
        } else if error.get().is_some() {
            "error"
        } else {
            match status.get() {
                Some(Status::Copying { .. }) => "copying",
                Some(_) => "kept",
                None => "offered",
            }
        }
    };
    let body = move || match state() {
        "unavailable" => view! { <span class="meta">"Encrypted shares are not kept: the ciphertext is not on disk."</span> }.into_any(),
        "offered" => view! {
            <button class="copy keep" id="keep-copy" disabled=move || !library.loaded.get() on:click=move |_| keep()>
                {format!("Keep seeding after reload: keep a copy in this browser's storage ({})", units::bytes(size))}
            </button>
        }
        .into_any(),
        "copying" => view! {
            <span>{move || match status.get() {
                Some(Status::Copying { done }) => format!("copying into this browser's storage… {:.0} %", done as f64 / size.max(1) as f64 * 100.0),
                _ => String::new(),
            }}</span>
        }
        .into_any(),
        "error" => view! { <span class="error">"Not kept: " {move || error.get().unwrap_or_default()}</span> }.into_any(),
        _ => view! {
            <span>
                {if has_handle { "In your library: it seeds again from your disk whenever this page is open. " } else { "In your library: a copy in this browser seeds it whenever this page is open. " }}
                <a href="#library">"Open the library"</a>
            </span>
        }
        .into_any(),
    };
    view! {
        <div class="row">
            <span class="label">"After reload"</span>
            <span class="value keep-state" id="keep-state" data-state=state>{body}</span>
            <span></span>
        </div>
    }
}
