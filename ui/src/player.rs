//! Playing a transfer's audio or video while it downloads: a Play button on media files,
//! and a `<video>`/`<audio>` element whose source is the Service Worker's
//! `/stream/<infohash>/0/<name>` ([`web_node::browser::stream`]): the element's Range
//! requests are answered from verified pieces, the playhead's pieces fetched first.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{t, t_args};
use crate::transfers::Transfers;

/// Whether streaming works in this page: `None` while the Service Worker starts.
#[derive(Clone, Copy)]
pub struct Streaming(pub RwSignal<Option<Result<(), String>>>);

impl Streaming {
    /// Registers the Service Worker and serves its stream requests from `transfers`.
    pub fn start(transfers: Transfers) -> Self {
        let state = RwSignal::new(None);
        spawn_local(async move {
            let lookup: web_node::browser::stream::Lookup = Rc::new(move |h| transfers.find_torrent(h));
            let result = web_node::browser::stream::start(lookup).await;
            if let Err(e) = &result {
                web_sys::console::warn_1(&format!("streaming unavailable: {e}").into());
            }
            state.set(Some(result));
        });
        Self(state)
    }
}

/// `audio`, `video`, or `None` for other files (by the name's extension).
fn media_kind(name: &str) -> Option<&'static str> {
    let mime = web_node::stream::content_type(name);
    if mime.starts_with("video/") {
        Some("video")
    } else if mime.starts_with("audio/") {
        Some("audio")
    } else {
        None
    }
}

/// The Play button and, once pressed, the player, for a single-file transfer of media.
#[component]
pub fn Player(info_hash: String, name: String) -> impl IntoView {
    let streaming = expect_context::<Streaming>();
    let Some(kind) = media_kind(&name) else { return ().into_any() };
    let Some(id) = hex::decode(&info_hash).ok().and_then(|v| <[u8; 20]>::try_from(v).ok()) else { return ().into_any() };
    let src = web_node::browser::stream::stream_url(&id, 0, &name);
    let open = RwSignal::new(false);
    let ready = move || matches!(streaming.0.get(), Some(Ok(())));
    view! {
        <div class="player-box">
            <button class="play" title=move || t("tr-play-title") disabled=move || !ready() on:click=move |_| open.set(true)>{move || t("tr-play")}</button>
            {move || match streaming.0.get() {
                Some(Err(e)) => Some(view! { <span class="warn">{t_args("tr-stream-unavailable", &[("error", (&e).into())])}</span> }.into_any()),
                _ => None,
            }}
            {move || (open.get() && ready()).then(|| {
                let src = src.clone();
                if kind == "video" {
                    view! { <video class="player" controls=true autoplay=true muted=true playsinline=true src=src></video> }.into_any()
                } else {
                    view! { <audio class="player" controls=true autoplay=true src=src></audio> }.into_any()
                }
            })}
        </div>
    }
    .into_any()
}
