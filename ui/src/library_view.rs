//! The Library view: every file this browser shares (kept across reloads) and has
//! downloaded, with state, live upload numbers and earnings; "Stop sharing" and
//! "Re-grant access" act on [`crate::library::Library`].

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_node::browser::library::Location;
use web_node::browser::torrent::{Snapshot, TransferState};

use crate::library::{Library, Row, Status};
use crate::transfers::Transfers;
use crate::i18n::{t, t_args};
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
            <h1>{move || t("lib-title")}</h1>
            <p class="lede">{move || t("lib-lede")}</p>
            <div class="card lib-totals">
                <div class="stat"><span class="label">{move || t("seed-label")}</span><strong id="lib-seeding">{seeding}</strong></div>
                <div class="stat"><span class="label">{move || t("lib-uploaded")}</span><strong id="lib-uploaded" data-bytes=move || uploaded().to_string()>{move || units::bytes(uploaded())}</strong></div>
                <div class="stat"><span class="label">{move || t("lib-upload-rate")}</span><strong>{move || units::rate_per_second(up_rate())}</strong></div>
                <div class="stat" title=move || t("lib-earned-title")>
                    <span class="label">{move || t("lib-earned")}</span><strong id="lib-earned" data-wei=move || earned().to_string()>{move || eth(earned())}</strong>
                </div>
            </div>
            {move || library.error.get().map(|e| view! { <div class="card error" role="alert">{e}</div> })}
            <h2>{move || t("lib-shared")}</h2>
            <Show when=move || library.loaded.get() fallback=|| view! { <p class="meta"><span class="spinner"></span>" " {move || t("lib-reading")}</p> }>
                <Show when=move || library.rows.with(|r| !r.is_empty())
                    fallback=|| view! { <p class="meta empty" id="lib-empty">{move || t("lib-empty")}</p> }>
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
            <h2>{move || t("lib-downloaded")}</h2>
            <Show when=move || !downloads().is_empty() fallback=|| view! { <p class="meta empty">{move || t("lib-no-downloads")}</p> }>
                <For each=downloads key=|s| s.info_hash.clone() let:snapshot>
                    <DownloadCard info_hash=snapshot.info_hash.clone() />
                </For>
            </Show>
        </section>
    }
}

fn status_text(row: &Row, snapshot: Option<&Snapshot>) -> String {
    match (&row.status, snapshot) {
        (Status::Seeding, Some(s)) if s.state == TransferState::Error => t_args("lib-stopped", &[("error", s.error.clone().unwrap_or_default().into())]),
        (Status::Seeding, Some(s)) => t_args("lib-seeding-peers", &[("count", s.peers.len().into())]),
        (Status::Seeding, None) => t("tr-seeding"),
        (Status::Starting, _) => t("lib-checking"),
        (Status::Copying { done }, _) => t_args("lib-copying", &[("percent", units::percent(*done as f64 / row.entry.file.size.max(1) as f64, 0).into())]),
        (Status::NeedsAccess, _) => t("lib-needs-access"),
        (Status::Missing, _) => t("lib-missing"),
        (Status::Changed { why }, _) => t_args("lib-changed", &[("error", why.into())]),
        (Status::Failed { why }, _) => t_args("seed-not-seeded", &[("error", why.into())]),
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
                let added = units::date((r.entry.added_at as f64) * 1000.0);
                let name = r.entry.file.name.clone();
                view! {
                    <div class="file-name">
                        <strong>{r.entry.file.name.clone()}</strong>
                        <span class="meta">{units::bytes(r.entry.file.size)} " · " {status_text(&r, s.as_ref())}</span>
                        <span class="badge" title=t("lib-location-title")>{match r.entry.location {
                            Location::OpfsCopy => t("lib-location-copy"),
                            Location::Handle => t("lib-location-disk"),
                        }}</span>
                    </div>
                    {copying.map(|f| view! {
                        <div class="bar" role="progressbar"><div class="fill" style:width=format!("{:.2}%", f * 100.0)></div></div>
                    })}
                    <div class="stats">
                        <span class="up">"↑ " {units::rate_per_second(s.as_ref().map_or(0.0, |s| s.up_rate))}</span>
                        <span class="uploaded">{t_args("lib-uploaded-in-all", &[("size", units::bytes(library.uploaded(&r)).into())])}</span>
                        <span class="earned" title=t("lib-earned-file-title")>{t_args("lib-earned-amount", &[("amount", eth(r.entry.earned_wei).into())])}</span>
                        <span>{t_args("lib-added", &[("date", added.into())])}</span>
                        <span class="published">{match r.published {
                            Some((at, true)) => t_args("lib-in-dht-since", &[("time", units::time(at).into())]),
                            Some((at, false)) => t_args("lib-in-dht-since-relay", &[("time", units::time(at).into())]),
                            None => t("lib-not-in-dht"),
                        }}</span>
                        <span class="meta" title=r.entry.file.cid.clone()>"CID " <code>{r.entry.file.cid[..16.min(r.entry.file.cid.len())].to_string()} "…"</code></span>
                    </div>
                    {(r.status == Status::NeedsAccess).then(|| {
                        let hash = regrant_hash.clone();
                        view! {
                            <p class="warn">{t("lib-forgot-permission")}</p>
                            <button class="primary regrant" on:click=move |_| library.regrant(hash.clone())>{t_args("lib-regrant", &[("name", (&name).into())])}</button>
                        }
                    })}
                }
            })}
            <div class="actions">
                <button class="stop-sharing" on:click=move |_| library.stop_sharing(stop_hash.clone())>{move || t("lib-stop-sharing")}</button>
            </div>
        </div>
    }
}

/// The message of a download's `data-state`.
fn state_text(state: &str) -> String {
    match state {
        "downloading" => t("lib-state-downloading"),
        "verifying" => t("lib-state-verifying"),
        "complete" => t("tr-complete"),
        "seeding" => t("tr-seeding"),
        "error" => t("lib-state-error"),
        _ => String::new(),
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
                        <span class="meta">{s.size.map(units::bytes).unwrap_or_default()} " · " {move || state_text(state())} " · " {units::percent(fraction, 0)}</span>
                    </div>
                    <div class="stats">
                        <span class="down">"↓ " {units::rate_per_second(s.down_rate)}</span>
                        <span class="up">"↑ " {units::rate_per_second(s.up_rate)}</span>
                        <span>{t_args("lib-uploaded-size", &[("size", units::bytes(s.uploaded).into())])}</span>
                        <span>{t_args("tr-peers", &[("count", s.peers.len().into())])}</span>
                    </div>
                }
            })}
            <div class="actions">
                <a class="copy" href="#download">{move || t("lib-details")}</a>
                <button class="remove" on:click=move |_| transfers.remove(remove_hash.clone())>{move || t("remove")}</button>
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
        "unavailable" => view! { <span class="meta">{move || t("keep-unavailable")}</span> }.into_any(),
        "offered" => view! {
            <button class="copy keep" id="keep-copy" disabled=move || !library.loaded.get() on:click=move |_| keep()>
                {move || t_args("keep-offer", &[("size", units::bytes(size).into())])}
            </button>
        }
        .into_any(),
        "copying" => view! {
            <span>{move || match status.get() {
                Some(Status::Copying { done }) => t_args("keep-copying", &[("percent", units::percent(done as f64 / size.max(1) as f64, 0).into())]),
                _ => String::new(),
            }}</span>
        }
        .into_any(),
        "error" => view! { <span class="error">{move || t_args("keep-error", &[("error", error.get().unwrap_or_default().into())])}</span> }.into_any(),
        _ => view! {
            <span>
                {move || if has_handle { t("keep-kept-disk") } else { t("keep-kept-copy") }} " "
                <a href="#library">{move || t("keep-open-library")}</a>
            </span>
        }
        .into_any(),
    };
    view! {
        <div class="row">
            <span class="label">{move || t("keep-label")}</span>
            <span class="value keep-state" id="keep-state" data-state=state>{body}</span>
            <span></span>
        </div>
    }
}
