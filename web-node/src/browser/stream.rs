//! Streaming to `<video>`/`<audio>` while a file downloads: the page's side of the Service
//! Worker (`www/sw.js`), as WebTorrent's `createServer` does with its worker.
//!
//! A media element asks `GET /stream/<infohash>/<file index>/<name>` with `Range`; the
//! worker posts `{chiral: "stream", infohash, file, range}` to the page with a
//! `MessagePort`. Over that port the page answers `{head: {status, headers: [[k, v]…]}}`
//! ([`crate::stream::head`]; with `text` when that is the whole body: errors, 416), then
//! one `{chunk: Uint8Array}` per `{pull: true}` the worker
//! sends (backpressure: the worker pulls only as the element reads), and `{done: true}`
//! after the last byte, or `{error: "…"}`. `{cancel: true}` (a seek, the element gone)
//! ends it; so does [`IDLE_MS`] without a pull. Bytes come only from verified stored
//! pieces ([`Torrent::stream_read`]); the playhead's pieces get the swarm's deadlines.

use std::rc::Rc;

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{MessageEvent, MessagePort};

use super::torrent::Torrent;
use crate::peer_wire::Id20;
use crate::stream::{head, next_read};

/// A stream the worker stops pulling from for this long is closed.
pub const IDLE_MS: u64 = 60_000;
/// How long a stream waits for a magnet's metadata before answering 504.
const INFO_WAIT_MS: f64 = 60_000.0;
/// Messages from one port waiting to be handled (pulls arrive one at a time).
const PORT_QUEUE: usize = 16;

/// Finds the torrent a stream names (the page's transfers).
pub type Lookup = Rc<dyn Fn(&Id20) -> Option<Torrent>>;

/// The URL a media element plays file `index` (0 for a single file) of a torrent from.
pub fn stream_url(info_hash: &Id20, index: usize, name: &str) -> String {
    let name: String = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("/stream/{}/{index}/{name}", hex::encode(info_hash))
}

/// Registers `/sw.js` (scope `/`) and answers its stream requests from `lookup`'s torrents.
/// Resolves once the worker controls the page (stream URLs work from then on). Errors: no
/// Service Worker support (not a secure context: serve over https or localhost).
pub async fn start(lookup: Lookup) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let navigator = window.navigator();
    if !Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return Err("this browser offers no Service Worker here (streaming needs https or localhost)".into());
    }
    let container = navigator.service_worker();
    let listener = gloo_events::EventListener::new(&container, "message", move |event| {
        let Some(event) = event.dyn_ref::<MessageEvent>() else { return };
        let data = event.data();
        if Reflect::get(&data, &"chiral".into()).ok().and_then(|v| v.as_string()).as_deref() != Some("stream") {
            return;
        }
        let Some(port) = event.ports().get(0).dyn_into::<MessagePort>().ok() else { return };
        let field = |k: &str| Reflect::get(&data, &k.into()).ok();
        let info_hash = field("infohash").and_then(|v| v.as_string()).and_then(|h| hex::decode(h).ok()).and_then(|v| <Id20>::try_from(v).ok());
        let file = field("file").and_then(|v| v.as_f64()).map_or(0, |f| f as usize);
        let range = field("range").and_then(|v| v.as_string());
        let torrent = info_hash.and_then(|h| lookup(&h));
        spawn_local(answer(torrent, file, range, port));
    });
    listener.forget(); // for the page's lifetime
    JsFuture::from(container.register("/sw.js")).await.map_err(|e| super::js_message(&e))?;
    JsFuture::from(container.ready().map_err(|e| super::js_message(&e))?).await.map_err(|e| super::js_message(&e))?;
    // The worker claims open pages when it activates; wait for that on a first visit.
    for _ in 0..100 {
        if container.controller().is_some() {
            return Ok(());
        }
        futures_timer::Delay::new(std::time::Duration::from_millis(50)).await;
    }
    Err("the Service Worker did not take control of the page".into())
}

fn post(port: &MessagePort, key: &str, value: &JsValue) {
    let msg = Object::new();
    let _ = Reflect::set(&msg, &key.into(), value);
    let _ = port.post_message(&msg);
}

/// The head; `body`: the whole (short) body with it, `Some("")` for none: nothing follows.
fn post_head(port: &MessagePort, status: u16, headers: &[(&'static str, String)], body: Option<&str>) {
    let head = Object::new();
    if let Some(body) = body {
        let _ = Reflect::set(&head, &"text".into(), &body.into());
    }
    let _ = Reflect::set(&head, &"status".into(), &f64::from(status).into());
    let list = Array::new();
    for (k, v) in headers {
        list.push(&Array::of2(&(*k).into(), &v.into()));
    }
    let _ = Reflect::set(&head, &"headers".into(), &list);
    post(port, "head", &head);
}

enum FromWorker {
    Pull,
    Cancel,
}

/// Answers one stream request on `port`, then closes it.
async fn answer(torrent: Option<Torrent>, file: usize, range: Option<String>, port: MessagePort) {
    let (tx, mut rx) = mpsc::channel::<FromWorker>(PORT_QUEUE);
    let listener = gloo_events::EventListener::new(&port, "message", move |event| {
        let Some(event) = event.dyn_ref::<MessageEvent>() else { return };
        let data = event.data();
        let msg = if Reflect::get(&data, &"pull".into()).is_ok_and(|v| v.is_truthy()) { FromWorker::Pull } else { FromWorker::Cancel };
        let _ = tx.clone().try_send(msg);
    });
    port.start();
    serve(torrent, file, range, &port, &mut rx).await;
    drop(listener);
    port.close();
}

async fn serve(torrent: Option<Torrent>, file: usize, range: Option<String>, port: &MessagePort, rx: &mut mpsc::Receiver<FromWorker>) {
    let text = |s: &str| vec![("Content-Type", "text/plain; charset=utf-8".to_owned()), ("Content-Length", s.len().to_string())];
    let Some(torrent) = torrent else {
        let why = "this page is not downloading or sharing that torrent";
        post_head(port, 404, &text(why), Some(why));
        return;
    };
    let target = match torrent.stream_file(file, INFO_WAIT_MS).await {
        Ok(f) => f,
        Err(e) => {
            let why = e.to_string();
            post_head(port, 504, &text(&why), Some(&why));
            return;
        }
    };
    let head = head(range.as_deref(), target.length, &target.name);
    let Some(range) = head.range else {
        post_head(port, head.status, &head.headers, Some(""));
        return;
    };
    post_head(port, head.status, &head.headers, None);
    let Some(id) = torrent.stream_open() else {
        post(port, "error", &"too many streams of this file at once".into());
        return;
    };
    // Absolute positions in the torrent.
    let (mut pos, end) = (target.offset + range.start(), target.offset + range.end());
    loop {
        let next = futures::select! {
            m = rx.next() => m,
            _ = futures_timer::Delay::new(std::time::Duration::from_millis(IDLE_MS)).fuse() => None,
        };
        match next {
            Some(FromWorker::Pull) => {}
            Some(FromWorker::Cancel) | None => break,
        }
        let Some(read) = next_read(pos, end, target.piece_length) else {
            post(port, "done", &true.into());
            break;
        };
        torrent.stream_at(id, read.piece);
        match torrent.stream_read(read.piece, read.offset, read.len).await {
            Ok(bytes) => {
                pos += bytes.len() as u64;
                post(port, "chunk", &Uint8Array::from(bytes.as_slice()).into());
            }
            Err(e) => {
                post(port, "error", &e.to_string().into());
                break;
            }
        }
    }
    torrent.stream_close(id);
}
