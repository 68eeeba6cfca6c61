//! The Download view: a CID in, what the DHT knows out (seeders by protocol, prices,
//! chunk availability). Transfers arrive with the transfer issue.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_node::file_record::{FileView, Seeder};

use crate::network::Network;
use crate::units;

#[derive(Debug, Clone, PartialEq)]
enum Lookup {
    Idle,
    Searching(String),
    Found(FileView),
    NotFound(String),
    Failed(String),
}

impl Lookup {
    fn name(&self) -> &'static str {
        match self {
            Lookup::Idle => "idle",
            Lookup::Searching(_) => "searching",
            Lookup::Found(_) => "found",
            Lookup::NotFound(_) => "not-found",
            Lookup::Failed(_) => "error",
        }
    }
}

#[component]
pub fn DownloadView() -> impl IntoView {
    let network = expect_context::<Network>();
    let (cid, set_cid) = signal(String::new());
    let (lookup, set_lookup) = signal(Lookup::Idle);
    let find = move || {
        let wanted = cid.get_untracked().trim().to_ascii_lowercase();
        if wanted.len() != 64 || !wanted.bytes().all(|c| c.is_ascii_hexdigit()) {
            set_lookup.set(Lookup::Failed("A content ID is 64 hexadecimal digits.".into()));
            return;
        }
        let Some(node) = network.node.get_untracked() else {
            set_lookup.set(Lookup::Failed("Not connected to the network yet; try again in a moment.".into()));
            return;
        };
        set_lookup.set(Lookup::Searching(wanted.clone()));
        spawn_local(async move {
            let now = web_node::browser::now_secs();
            set_lookup.set(match node.lookup(&wanted, now).await {
                Ok(Some(view)) => Lookup::Found(view),
                Ok(None) => Lookup::NotFound(wanted),
                Err(e) => Lookup::Failed(e.to_string()),
            });
        });
    };
    view! {
        <section class="download" id="download-view" data-state=move || lookup.with(Lookup::name)>
            <h1>"Download"</h1>
            <p class="lede">"Every download starts with a DHT lookup: paste a content ID to see who has it."</p>
            <form class="search" on:submit=move |ev| {
                ev.prevent_default();
                find();
            }>
                <input id="cid-input" type="text" placeholder="Content ID (64 hex digits)" spellcheck="false"
                    prop:value=cid on:input=move |ev| set_cid.set(event_target_value(&ev)) />
                <button id="find" type="submit" disabled=move || matches!(lookup.get(), Lookup::Searching(_))>"Find"</button>
            </form>
            {move || match lookup.get() {
                Lookup::Idle => ().into_any(),
                Lookup::Searching(c) => view! { <div class="card searching"><span class="spinner"></span>" Asking the DHT about " <code>{c}</code> "…"</div> }.into_any(),
                Lookup::NotFound(c) => view! { <div class="card error" id="lookup-error">"Nobody in the DHT has " <code>{c}</code> " right now."</div> }.into_any(),
                Lookup::Failed(e) => view! { <div class="card error" id="lookup-error">{e}</div> }.into_any(),
                Lookup::Found(v) => view! { <FileCard view=v /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn FileCard(view: FileView) -> impl IntoView {
    let f = view.file.clone();
    let chunks = f.chunks;
    let seeders = view.seeders.clone();
    view! {
        <div class="card result" id="lookup-result">
            <div class="file-name">
                <strong id="found-name">{f.name.clone()}</strong>
                <span class="meta">{units::bytes(f.size)} " · " {f.chunks} " chunks · " {f.mime.clone().unwrap_or_default()}</span>
            </div>
            <div class="row"><span class="label">"Infohash"</span><code class="value" id="found-infohash">{f.infohash.clone()}</code><span></span></div>
            {(view.conflicting_records > 0).then(|| view! {
                <div class="warn">{view.conflicting_records} " record(s) disagreed about this file and were left out."</div>
            })}
            <h3>{format!("{} seeder{}", seeders.len(), if seeders.len() == 1 { "" } else { "s" })}</h3>
            <table class="seeders" id="seeders">
                <thead><tr><th>"Protocol"</th><th>"Peer"</th><th>"Endpoint"</th><th>"Price"</th><th>"Chunks"</th></tr></thead>
                <tbody>
                    {seeders.into_iter().map(|s| view! { <SeederRow seeder=s chunks /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn SeederRow(seeder: Seeder, chunks: u64) -> impl IntoView {
    let have: u64 = seeder.available_chunks.iter().map(|(a, z)| z - a).sum();
    let short_peer = format!("…{}", &seeder.peer_id[seeder.peer_id.len().saturating_sub(8)..]);
    let price = if seeder.price_per_mb_wei == 0 {
        "free".to_string()
    } else {
        format!("{:.6} per MB", seeder.price_per_mb_wei as f64 / 1e18)
    };
    // One bar per seeder: filled where the seeder has chunks.
    let segments = seeder
        .available_chunks
        .iter()
        .map(|(a, z)| {
            let left = *a as f64 / chunks.max(1) as f64 * 100.0;
            let width = (z - a) as f64 / chunks.max(1) as f64 * 100.0;
            view! { <span class="have" style:left=format!("{left:.2}%") style:width=format!("{width:.2}%")></span> }
        })
        .collect_view();
    view! {
        <tr class="seeder" data-peer=seeder.peer_id.clone() data-protocol=format!("{:?}", seeder.protocol).to_lowercase()>
            <td><span class="proto">{format!("{:?}", seeder.protocol)}</span></td>
            <td title=seeder.peer_id.clone()><code>{short_peer}</code></td>
            <td class="endpoint" title=seeder.endpoint.clone()><code>{seeder.endpoint.clone()}</code></td>
            <td>{price}</td>
            <td><div class="chunkbar" title=format!("{have} of {chunks} chunks")>{segments}</div></td>
        </tr>
    }
}
