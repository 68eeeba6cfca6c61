//! The page's place in the network: starts the libp2p node at load, keeps its status in
//! signals for every view, and shows it in the Network view.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_node::browser::p2p::{self, Connection, PageNodeStatus};
use web_node::dht::{Handle, NodeInfo};

use crate::i18n::{t, t_args};

/// Shared by all views through context.
#[derive(Clone, Copy)]
pub struct Network {
    pub node: RwSignal<Option<Handle>>,
    pub status: RwSignal<Option<PageNodeStatus>>,
    pub keypair: StoredValue<Option<p2p::PageKeypair>, LocalStorage>,
    pub start_error: RwSignal<Option<String>>,
}

pub(crate) async fn fetch_text(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| format!("cannot reach {url}"))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(|_| "unreadable response")?)
        .await
        .map_err(|_| "unreadable response")?;
    text.as_string().ok_or_else(|| "unreadable response".into())
}

/// Waits `d` on the page's event loop (a `setTimeout`).
pub(crate) async fn sleep(d: Duration) {
    let ms = i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Reads the relay's addresses from `/api/node` and starts the page's node on its
/// WebSocket address.
pub fn start(network: Network) {
    spawn_local(async move {
        let result = async {
            let info: NodeInfo = serde_json::from_str(&fetch_text("/api/node").await?).map_err(|e| e.to_string())?;
            let ws = info
                .multiaddrs
                .iter()
                .find(|a| a.contains("/ws/"))
                .ok_or("the relay offers no WebSocket address for pages")?;
            let addr: p2p::RelayAddr = ws.parse().map_err(|e| format!("bad relay address {ws}: {e}"))?;
            let keypair = p2p::load_or_create_identity().map_err(|e| e.to_string())?;
            network.keypair.set_value(Some(keypair.clone()));
            let status = network.status;
            p2p::start(keypair, addr, move |s| status.set(Some(s))).map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok(handle) => network.node.set(Some(handle)),
            Err(e) => network.start_error.set(Some(e)),
        }
    });
}

pub fn connection_label(c: &Connection) -> String {
    match c {
        Connection::Connecting => t("net-connecting"),
        Connection::Connected => t("net-connected"),
        Connection::Retrying { attempt, in_ms, error } => t_args(
            "net-retrying",
            &[("error", error.into()), ("attempt", (*attempt).into()), ("seconds", crate::units::number(*in_ms as f64 / 1000.0, 0).into())],
        ),
    }
}

/// A small status pill for the header.
#[component]
pub fn NetworkPill() -> impl IntoView {
    let network = expect_context::<Network>();
    let class = move || match network.status.get().map(|s| s.connection) {
        Some(Connection::Connected) => "pill ok",
        Some(Connection::Retrying { .. }) => "pill bad",
        _ => "pill",
    };
    let label = move || match network.status.get() {
        Some(s) if s.connection == Connection::Connected => t("net-online"),
        Some(s) => connection_label(&s.connection),
        None => network.start_error.get().map_or_else(|| t("net-starting"), |_| t("net-offline")),
    };
    view! { <span class=class id="net-pill">{label}</span> }
}

#[component]
pub fn NetworkView() -> impl IntoView {
    let network = expect_context::<Network>();
    let (info, set_info) = signal(None::<NodeInfo>);
    // Live numbers: refresh every 2 s while the view is shown.
    let refresh = move || {
        if let Some(node) = network.node.get_untracked() {
            spawn_local(async move {
                if let Ok(i) = node.info().await {
                    set_info.set(Some(i));
                }
            });
        }
    };
    Effect::new(move |_| {
        network.node.track();
        network.status.track();
        refresh();
    });
    if let Ok(handle) = set_interval_with_handle(refresh, Duration::from_secs(2)) {
        on_cleanup(move || handle.clear());
    }
    view! {
        <section class="network" id="network-view">
            <h1>{move || t("net-title")}</h1>
            <p class="lede">{move || t("net-lede")}</p>
            {move || network.start_error.get().map(|e| view! { <div class="card error" id="net-error">{e}</div> })}
            <div class="card stats-grid">
                <Stat label="net-connection" id="net-state" value=Signal::derive(move || network.status.get().map_or_else(|| t("net-starting"), |s| connection_label(&s.connection))) />
                <Stat label="net-relay" id="net-relay" value=Signal::derive(move || network.status.get().map_or("–".into(), |s| s.relay)) />
                <Stat label="net-peer-id" id="peer-id" value=Signal::derive(move || network.status.get().map_or("–".into(), |s| s.peer_id)) />
                <Stat label="net-connected-peers" id="net-peers" value=Signal::derive(move || info.get().map_or("–".into(), |i| i.connected_peers.to_string())) />
                <Stat label="net-routing-table" id="net-routing" value=Signal::derive(move || info.get().map_or("–".into(), |i| t_args("net-routing-peers", &[("count", i.routing_table_size.into())]))) />
            </div>
            <crate::dashboard::Dashboard info=info />
            <crate::ice::IceCard />
        </section>
    }
}

/// `label`: the label's message key.
#[component]
fn Stat(label: &'static str, id: &'static str, value: Signal<String>) -> impl IntoView {
    view! {
        <div class="stat">
            <span class="label">{move || t(label)}</span>
            <code class="value" id=id>{value}</code>
        </div>
    }
}

/// Where eD2k clients reach this page's relay (`GET /api/ed2k` → `{"source": "IP:PORT"}`),
/// or `None` when it does not speak eD2k.
pub async fn ed2k_source() -> Option<String> {
    let text = fetch_text("/api/ed2k").await.ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["source"].as_str().map(str::to_string)
}
