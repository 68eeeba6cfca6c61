//! Downloading by ed2k link: the page asks its relay to fetch the file from the link's eD2k
//! sources (`POST /api/ed2k/fetch`), shows the parts verified as they come in
//! (`GET /api/ed2k/fetch/{hash}`), then downloads the file from the relay by magnet, checking
//! every piece and the content ID like any other download.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_node::ed2k::Ed2kLink;

use crate::transfers::{own_tracker, Transfers};
use crate::i18n::t_args;
use crate::units;

/// What the relay said about the fetch: its JSON, or why it could not be asked.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchStatus {
    pub name: String,
    pub size: u64,
    pub verified: u64,
    pub sources: u64,
    /// "fetching", "done", "failed", or "error" (the page could not ask).
    pub state: String,
    pub error: Option<String>,
    pub liars: Vec<String>,
}

impl FetchStatus {
    fn from_json(v: &serde_json::Value) -> Self {
        Self {
            name: v["name"].as_str().unwrap_or_default().to_string(),
            size: v["size"].as_u64().unwrap_or(0),
            verified: v["verified"].as_u64().unwrap_or(0),
            sources: v["sources"].as_u64().unwrap_or(0),
            state: v["state"].as_str().unwrap_or("error").to_string(),
            error: v["error"].as_str().map(str::to_string),
            liars: v["liars"].as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default(),
        }
    }

    fn failed(name: &str, error: String) -> Self {
        Self { name: name.to_string(), size: 0, verified: 0, sources: 0, state: "error".into(), error: Some(error), liars: vec![] }
    }
}

async fn request(method: &str, url: &str, body: Option<&str>) -> Result<serde_json::Value, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(b) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|_| format!("cannot reach {url}"))?.unchecked_into();
    let text = JsFuture::from(response.text().map_err(|_| "unreadable response")?).await.map_err(|_| "unreadable response")?;
    let text = text.as_string().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| format!("{url} answered {}", response.status()))?;
    if !response.ok() {
        return Err(v["error"].as_str().map(str::to_string).unwrap_or_else(|| format!("{url} answered {}", response.status())));
    }
    Ok(v)
}

/// Starts fetching `link` through the relay; `status` follows it; when the relay has the
/// whole file, its magnet download starts in `transfers`.
pub fn start(link: Ed2kLink, raw: String, status: RwSignal<Option<FetchStatus>>, transfers: Transfers, owner: Option<Owner>) {
    let hash = hex::encode(link.hash);
    status.set(Some(FetchStatus { name: link.name.clone(), size: link.size, verified: 0, sources: link.sources.len() as u64, state: "fetching".into(), error: None, liars: vec![] }));
    spawn_local(async move {
        if let Err(e) = request("POST", "/api/ed2k/fetch", Some(&raw)).await {
            status.set(Some(FetchStatus::failed(&link.name, e)));
            return;
        }
        loop {
            crate::network::sleep(Duration::from_millis(500)).await;
            let now = match request("GET", &format!("/api/ed2k/fetch/{hash}"), None).await {
                Ok(v) => v,
                Err(e) => {
                    status.set(Some(FetchStatus::failed(&link.name, e)));
                    return;
                }
            };
            let s = FetchStatus::from_json(&now);
            status.set(Some(s.clone()));
            match s.state.as_str() {
                "fetching" => continue,
                "done" => {
                    let Ok(magnet) = web_node::tracker_client::parse_magnet(now["magnet"].as_str().unwrap_or_default()) else {
                        status.set(Some(FetchStatus::failed(&link.name, crate::i18n::t("ed2k-bad-magnet"))));
                        return;
                    };
                    let mut trackers = magnet.trackers;
                    trackers.extend(own_tracker());
                    let cid = now["cid"].as_str().map(str::to_string);
                    let start = move || {
                        let options = transfers.options(magnet.info_hash, Some(link.name.clone()), trackers, magnet.peers, cid);
                        transfers.download(options);
                    };
                    match &owner {
                        Some(o) => o.with(start),
                        None => start(),
                    }
                    return;
                }
                _ => return,
            }
        }
    });
}

/// The fetch's card: a progress bar of verified parts, then where the download went.
#[component]
pub fn Ed2kFetchCard(status: RwSignal<Option<FetchStatus>>) -> impl IntoView {
    move || {
        status.get().map(|s| {
            let pct = if s.size > 0 { s.verified as f64 * 100.0 / s.size as f64 } else { 0.0 };
            let text = match s.state.as_str() {
                "fetching" => t_args(
                    "ed2k-fetching",
                    &[("name", (&s.name).into()), ("count", s.sources.into()), ("done", units::bytes(s.verified).into()), ("total", units::bytes(s.size).into())],
                ),
                "done" => t_args("ed2k-done", &[("name", (&s.name).into())]),
                _ => t_args("ed2k-failed", &[("name", (&s.name).into()), ("error", s.error.clone().unwrap_or_default().into())]),
            };
            let liars = (!s.liars.is_empty()).then(|| t_args("ed2k-liars", &[("peers", s.liars.join(", ").into())]));
            view! {
                <div class="card" id="ed2k-fetch" data-state=s.state.clone() data-verified=s.verified.to_string() data-size=s.size.to_string() data-liars=s.liars.len().to_string()>
                    <div>{text}</div>
                    <progress max="100" value=format!("{pct:.1}")></progress>
                    {liars.map(|l| view! { <div class="warn">{l}</div> })}
                </div>
            }
        })
    }
}
