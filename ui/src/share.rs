//! The Share view: choose or drop a file, watch it hash, copy its identities.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_node::browser::kept_file;
use web_sys::{DragEvent, File, FileSystemFileHandle, HtmlInputElement};

use crate::clipboard::copy;
use crate::network::Network;
use crate::transfers::Transfers;
use web_node::browser::p2p::Connection;
use web_node::file_record::{FileInfo, DEFAULT_TTL_SECS};
use crate::hashing::{hash_file, now_ms, Hashed, Progress};
use crate::i18n::{t, t_args};
use crate::units;

#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Idle,
    Hashing { name: String, progress: Progress, started_ms: f64, now_ms: f64 },
    Done(Hashed),
    Failed(String),
}

impl Stage {
    /// Exposed as `data-state` for tests and styling.
    fn name(&self) -> &'static str {
        match self {
            Stage::Idle => "idle",
            Stage::Hashing { .. } => "hashing",
            Stage::Done(_) => "done",
            Stage::Failed(_) => "error",
        }
    }
}

#[component]
pub fn Share() -> impl IntoView {
    let (stage, set_stage) = signal_local(Stage::Idle);
    let (dragging, set_dragging) = signal(false);
    let (encrypt, set_encrypt) = signal(false);
    let (passphrase, set_passphrase) = signal(String::new());

    let start = move |file: File, handle: Option<FileSystemFileHandle>| {
        if matches!(stage.get_untracked(), Stage::Hashing { .. }) {
            return;
        }
        let passphrase = encrypt.get_untracked().then(|| passphrase.get_untracked());
        if passphrase.as_deref() == Some("") {
            set_stage.set(Stage::Failed(t("share-need-passphrase")));
            return;
        }
        let started_ms = now_ms();
        let total = file.size() as u64;
        set_stage.set(Stage::Hashing {
            name: file.name(),
            progress: Progress { done: 0, total },
            started_ms,
            now_ms: started_ms,
        });
        spawn_local(async move {
            let mut last_paint = 0.0;
            let result = hash_file(file, passphrase, move |done, total| {
                let now = now_ms();
                // Repaint at most ~10 times a second: the numbers stay live, hashing stays fast.
                if now - last_paint >= 100.0 || done == total {
                    last_paint = now;
                    set_stage.update(|s| {
                        if let Stage::Hashing { progress, now_ms, .. } = s {
                            *progress = Progress { done, total };
                            *now_ms = now;
                        }
                    });
                }
            })
            .await;
            set_stage.set(match result {
                Ok(hashed) => Stage::Done(Hashed { handle, ..hashed }),
                Err(why) => Stage::Failed(why),
            });
        });
    };

    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        set_dragging.set(false);
        let Some(transfer) = ev.data_transfer() else { return };
        let Some(file) = transfer.files().and_then(|l| l.get(0)) else { return };
        // The handle must be asked for inside the event; its promise outlives it.
        match transfer.items().get(0).as_ref().and_then(kept_file::dropped_handle_promise) {
            Some(promise) => spawn_local(async move { start(file, kept_file::dropped_handle(promise).await) }),
            None => start(file, None),
        }
    };
    let on_pick = move |_| {
        spawn_local(async move {
            match kept_file::pick_file().await {
                Ok(Some(handle)) => match kept_file::handle_file(&handle).await {
                    Ok(file) => start(file, Some(handle)),
                    Err(e) => set_stage.set(Stage::Failed(t_args("share-unreadable", &[("error", e.to_string().into())]))),
                },
                Ok(None) => {}
                Err(e) => set_stage.set(Stage::Failed(t_args("share-picker-failed", &[("error", e.to_string().into())]))),
            }
        });
    };
    let on_choose = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|l| l.get(0)) {
            start(file, None);
        }
    };

    view! {
        <section class="share" id="share" data-state=move || stage.with(Stage::name)>
            <h1>{move || t("share-title")}</h1>
            <p class="lede">{move || t("share-lede")}</p>
            <label
                class="drop"
                class:dragging=dragging
                on:dragover=move |ev: DragEvent| {
                    ev.prevent_default();
                    set_dragging.set(true);
                }
                on:dragleave=move |_| set_dragging.set(false)
                on:drop=on_drop
            >
                <input id="file-input" type="file" on:change=on_choose />
                <span class="drop-icon">"⇪"</span>
                <span class="drop-title">{move || t("share-drop-title")}</span>
                <span class="drop-hint">{move || t("share-drop-hint")}</span>
            </label>
            <div class="options">
                <Show when=kept_file::has_file_picker>
                    <button class="copy" id="pick-file" on:click=on_pick
                        title=move || t("share-pick-title")>
                        {move || t("share-pick")}
                    </button>
                </Show>
                <label class="check">
                    <input
                        type="checkbox"
                        id="encrypt"
                        prop:checked=encrypt
                        on:change=move |ev| set_encrypt.set(event_target_checked(&ev))
                    />
                    " " {move || t("share-encrypt")}
                </label>
                <Show when=move || encrypt.get()>
                    <input
                        type="password"
                        id="passphrase"
                        placeholder=move || t("passphrase")
                        autocomplete="new-password"
                        on:input=move |ev| set_passphrase.set(event_target_value(&ev))
                    />
                </Show>
            </div>
            {move || match stage.get() {
                Stage::Idle => ().into_any(),
                Stage::Hashing { name, progress, started_ms, now_ms } => {
                    view! { <HashingCard name progress elapsed_s=(now_ms - started_ms) / 1000.0 /> }.into_any()
                }
                Stage::Done(hashed) => view! { <ResultCard hashed /> }.into_any(),
                Stage::Failed(why) => view! { <div class="card error" id="error" role="alert">{why}</div> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn HashingCard(name: String, progress: Progress, elapsed_s: f64) -> impl IntoView {
    let fraction = if progress.total == 0 { 0.0 } else { progress.done as f64 / progress.total as f64 };
    let per_second = if elapsed_s > 0.0 { progress.done as f64 / elapsed_s } else { 0.0 };
    let eta = if per_second > 0.0 { (progress.total - progress.done) as f64 / per_second } else { f64::NAN };
    view! {
        <div class="card" id="progress">
            <div class="file-name">{move || t("share-hashing")} " " <strong>{name}</strong></div>
            <div class="bar" role="progressbar" aria-valuenow=format!("{:.0}", fraction * 100.0) aria-valuemin="0" aria-valuemax="100">
                <div class="fill" style:width=format!("{:.2}%", fraction * 100.0)></div>
            </div>
            <div class="stats">
                <span class="pct">{units::percent(fraction, 1)}</span>
                <span>{move || t_args("share-of", &[("done", units::bytes(progress.done).into()), ("total", units::bytes(progress.total).into())])}</span>
                <span id="rate">{move || units::rate(progress.done, elapsed_s)}</span>
                <span>{move || t_args("share-eta", &[("time", units::duration(eta).into())])}</span>
            </div>
        </div>
    }
}

#[component]
fn ResultCard(hashed: Hashed) -> impl IntoView {
    let hashed = hashed.clone();
    let keep = hashed.clone();
    let s = hashed.summary.clone();
    let file = hashed.file.clone();
    let seconds = hashed.elapsed_ms / 1000.0;
    let size_read = s.plaintext_size;
    view! {
        <div class="card result" id="result" data-elapsed-ms=format!("{:.0}", hashed.elapsed_ms)>
            <div class="file-name">
                <strong id="name">{s.name.clone()}</strong>
                <span class="meta">
                    <span id="size" data-bytes=s.size.to_string()>{move || units::bytes(s.size)}</span>
                    " · " <span id="chunks">{s.chunks}</span> " " {move || t_args("share-chunks-of", &[("count", s.chunks.into())])}
                    {s.encrypted.then_some(view! { " · " {move || t("share-encrypted")} })}
                    " · " {move || t_args("share-hashed-in", &[("time", units::duration(seconds).into()), ("rate", units::rate(size_read, seconds).into())])}
                </span>
            </div>
            <CopyRow label="share-cid" id="cid" value=s.cid.clone() />
            <CopyRow label="share-infohash" id="infohash" value=s.infohash.clone() />
            <CopyRow label="share-magnet" id="magnet" value=s.magnet />
            <Ed2kRow link=s.ed2k_link />
            <CopyRow label="share-merkle-root" id="merkle-root" value=s.merkle_root />
            <SeedRow source=hashed.source info_bytes=hashed.info_bytes chunk_hashes=hashed.chunk_hashes infohash=s.infohash.clone() cid=s.cid.clone() ed2k=s.ed2k.clone() />
            <PublishRow file />
            <crate::library_view::KeepRow hashed=keep />
        </div>
    }
}

/// The ed2k link; when this page's relay speaks eD2k (`/api/ed2k`), with the relay as its
/// source, so aMule users can fetch the file from this tab through the relay.
#[component]
fn Ed2kRow(link: String) -> impl IntoView {
    let with_source = RwSignal::new(link.clone());
    let plain = link.clone();
    leptos::task::spawn_local(async move {
        if let Some(source) = crate::network::ed2k_source().await {
            with_source.set(format!("{plain}|sources,{source}|/"));
        }
    });
    view! { {move || view! { <CopyRow label="share-ed2k-link" id="ed2k-link" value=with_source.get() /> }} }
}

/// `label`: the label's message key.
#[component]
fn CopyRow(label: &'static str, id: &'static str, value: String) -> impl IntoView {
    let (copied, set_copied) = signal(None::<bool>);
    let text = value.clone();
    let title = value.clone();
    let on_copy = move |_| {
        let text = text.clone();
        spawn_local(async move {
            set_copied.set(Some(copy(&text).await.is_ok()));
            set_timeout(move || set_copied.set(None), Duration::from_millis(1500));
        });
    };
    view! {
        <div class="row">
            <span class="label">{move || t(label)}</span>
            <code id=id class="value" title=title>{value}</code>
            <button class="copy" on:click=on_copy>
                {move || match copied.get() {
                    None => t("copy"),
                    Some(true) => t("copied"),
                    Some(false) => t("copy-failed"),
                }}
            </button>
        </div>
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Publish {
    WaitingForNetwork,
    Publishing,
    Published { remote: bool, at: f64 },
    Failed(String),
}

/// Publishes this page as a seeder of the file (WebTorrent, through the relay's tracker)
/// as soon as the page is online, again after every reconnect, and every 2 hours.
#[component]
pub(crate) fn PublishRow(file: FileInfo, #[prop(into, default = "publish".to_string())] id: String) -> impl IntoView {
    let network = expect_context::<Network>();
    let (state, set_state) = signal(Publish::WaitingForNetwork);
    let file = StoredValue::new(file);
    let publish = move || {
        if network.node.get_untracked().is_none() || network.keypair.get_value().is_none() {
            return;
        }
        set_state.set(Publish::Publishing);
        let file = file.get_value();
        let terms = use_context::<crate::wallet::Wallet>().and_then(|w| w.pay_to());
        spawn_local(async move {
            let result = crate::publish::publish_file(network, &file, DEFAULT_TTL_SECS, terms).await;
            set_state.set(match result {
                Ok(report) => Publish::Published { remote: report.record_stored_remotely, at: js_sys::Date::now() },
                Err(e) => Publish::Failed(e),
            });
        });
    };
    let was_connected = StoredValue::new(false);
    Effect::new(move |_| {
        let connected = network.status.get().is_some_and(|s| s.connection == Connection::Connected);
        if connected && !was_connected.get_value() {
            publish();
        }
        was_connected.set_value(connected);
    });
    if let Ok(handle) = set_interval_with_handle(publish, Duration::from_secs(web_node::file_record::DEFAULT_TTL_SECS / 3)) {
        on_cleanup(move || handle.clear());
    }
    let label = move || match state.get() {
        Publish::WaitingForNetwork => t("publish-waiting"),
        Publish::Publishing => t("publish-publishing"),
        Publish::Published { remote: true, at } => t_args("publish-published", &[("time", units::time(at).into())]),
        Publish::Published { remote: false, .. } => t("publish-relay-only"),
        Publish::Failed(e) => t_args("publish-failed", &[("error", e.into())]),
    };
    let data = move || match state.get() {
        Publish::WaitingForNetwork => "waiting",
        Publish::Publishing => "publishing",
        Publish::Published { .. } => "published",
        Publish::Failed(_) => "error",
    };
    let published_at = move || match state.get() {
        Publish::Published { at, .. } => format!("{at:.0}"),
        _ => String::new(),
    };
    view! {
        <div class="row">
            <span class="label">{move || t("publish-label")}</span>
            <span class="value publish" id=id data-state=data data-published-at=published_at>{label}</span>
            <span></span>
        </div>
    }
}

/// Seeds the file from this tab over WebRTC (WebTorrent-compatible, through the relay's
/// tracker) for as long as the page is open.
#[component]
fn SeedRow(source: Option<File>, info_bytes: Vec<u8>, chunk_hashes: Vec<[u8; 32]>, infohash: String, cid: String, ed2k: String) -> impl IntoView {
    let transfers = expect_context::<Transfers>();
    let ed2k = hex::decode(&ed2k).ok().and_then(|b| b.try_into().ok());
    let started = match source {
        Some(file) => transfers.seed(file, info_bytes, chunk_hashes, cid, ed2k),
        None => Err(t("seed-encrypted")),
    };
    let error = started.err();
    let snapshot = move || transfers.list.with(|l| l.iter().find(|s| s.info_hash == infohash).cloned());
    let state = {
        let error = error.clone();
        let snapshot = snapshot.clone();
        move || if error.is_some() { "error".to_string() } else { snapshot().map_or("starting".into(), |s| s.state.as_str().to_string()) }
    };
    let peers = {
        let snapshot = snapshot.clone();
        move || snapshot().map_or(0, |s| s.peers.len()).to_string()
    };
    let label = move || match (&error, snapshot()) {
        (Some(e), _) => t_args("seed-not-seeded", &[("error", e.into())]),
        (None, Some(s)) => t_args(
            "seed-seeding",
            &[("count", s.peers.len().into()), ("rate", units::rate_per_second(s.up_rate).into()), ("sent", units::bytes(s.uploaded).into())],
        ),
        (None, None) => t("net-starting"),
    };
    view! {
        <div class="row">
            <span class="label">{move || t("seed-label")}</span>
            <span class="value" id="seed-state" data-state=state data-peers=peers>{label}</span>
            <span></span>
        </div>
    }
}
