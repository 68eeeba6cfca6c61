//! The Download view: a magnet link or a CID in (a CID is looked up in the DHT first),
//! a live transfer out; below, a DHT lookup that shows who seeds a CID by which protocol.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_node::file_record::{merge, FileView, Seeder};
use web_node::root_candidates::{Candidate, RootCandidates};

use crate::network::Network;
use crate::transfers::{own_tracker, Sources, TransferList, Transfers};
use web_node::file_record::Protocol;
use crate::i18n::{t, t_args};
use crate::units;

#[derive(Debug, Clone, PartialEq)]
enum Lookup {
    Idle,
    Searching(String),
    /// The merged view, and every claim (Merkle root) the records made, for the download.
    Found(FileView, RootCandidates),
    NotFound(String),
    Failed(String),
}

impl Lookup {
    fn name(&self) -> &'static str {
        match self {
            Lookup::Idle => "idle",
            Lookup::Searching(_) => "searching",
            Lookup::Found(..) => "found",
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
            set_lookup.set(Lookup::Failed(t("dl-bad-cid")));
            return;
        }
        let Some(node) = network.node.get_untracked() else {
            set_lookup.set(Lookup::Failed(t("dl-not-connected")));
            return;
        };
        set_lookup.set(Lookup::Searching(wanted.clone()));
        spawn_local(async move {
            let now = web_node::browser::now_secs();
            set_lookup.set(match node.lookup_records(&wanted, now).await {
                Ok(records) => match merge(&records) {
                    Some(view) => Lookup::Found(view, RootCandidates::new(&wanted, &records)),
                    None => Lookup::NotFound(wanted),
                },
                Err(e) => Lookup::Failed(e.to_string()),
            });
        });
    };
    let transfers = expect_context::<Transfers>();
    view! {
        <section class="download" id="download-view" data-state=move || lookup.with(Lookup::name)>
            <h1>{move || t("dl-title")}</h1>
            <StartDownload />
            <label class="check">
                <input type="checkbox" id="auto-seed" prop:checked=move || transfers.auto_seed.get()
                    on:change=move |ev| transfers.set_auto_seed(event_target_checked(&ev)) />
                " " {move || t("dl-auto-seed")}
            </label>
            <label class="sources">
                {move || t("dl-from")} " "
                <select id="source-mode" on:change=move |ev| transfers.set_sources(Sources::parse(&event_target_value(&ev)))>
                    {Sources::ALL.into_iter().map(|s| view! {
                        <option value=s.key() selected=move || transfers.sources.get() == s>{move || t(s.label())}</option>
                    }).collect_view()}
                </select>
            </label>
            <TransferList />
            <h2>{move || t("dl-who-has")}</h2>
            <p class="lede">{move || t("dl-who-has-lede")}</p>
            <form class="search" on:submit=move |ev| {
                ev.prevent_default();
                find();
            }>
                <input id="cid-input" type="text" placeholder=move || t("dl-cid-placeholder") spellcheck="false"
                    prop:value=cid on:input=move |ev| set_cid.set(event_target_value(&ev)) />
                <button id="find" type="submit" disabled=move || matches!(lookup.get(), Lookup::Searching(_))>{move || t("dl-find")}</button>
            </form>
            {move || match lookup.get() {
                Lookup::Idle => ().into_any(),
                Lookup::Searching(c) => view! { <div class="card searching"><span class="spinner"></span>" " {move || t("dl-asking")} " " <code>{c}</code> "…"</div> }.into_any(),
                Lookup::NotFound(c) => view! { <div class="card error" id="lookup-error">{move || t("dl-nobody-before")} <code>{c}</code> {move || t("dl-nobody-after")}</div> }.into_any(),
                Lookup::Failed(e) => view! { <div class="card error" id="lookup-error">{e}</div> }.into_any(),
                Lookup::Found(v, candidates) => view! { <FileCard view=v candidates /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn FileCard(view: FileView, candidates: RootCandidates) -> impl IntoView {
    let f = view.file.clone();
    let chunks = f.chunks;
    let seeders = view.seeders.clone();
    let n_seeders = seeders.len();
    // Handlers run outside the component's reactive owner; contexts are read through it.
    let owner = Owner::current();
    view! {
        <div class="card result" id="lookup-result">
            <div class="file-name">
                <strong id="found-name">{f.name.clone()}</strong>
                <span class="meta">{move || units::bytes(f.size)} " · " {move || t_args("dl-chunks", &[("count", chunks.into())])} " · " {f.mime.clone().unwrap_or_default()}</span>
            </div>
            <div class="row"><span class="label">{move || t("share-infohash")}</span><code class="value" id="found-infohash">{f.infohash.clone()}</code><span></span></div>
            {(view.conflicting_records > 0).then(|| view! {
                <div class="warn">{move || t_args("dl-conflicting", &[("count", view.conflicting_records.into())])}</div>
            })}
            <button id="download-found" on:click={
                move |_| with_owner(&owner, || start_cid(candidates.clone()))
            }>{move || t("dl-download")}</button>
            <h3>{move || t_args("dl-seeders", &[("count", n_seeders.into())])}</h3>
            <table class="seeders" id="seeders">
                <thead><tr><th>{move || t("col-protocol")}</th><th>{move || t("col-peer")}</th><th>{move || t("col-endpoint")}</th><th>{move || t("col-price")}</th><th>{move || t("col-chunks")}</th></tr></thead>
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
    let wei = seeder.price_per_mb_wei;
    let price = move || if wei == 0 { t("dl-free") } else { t_args("dl-price-per-mb", &[("price", format!("{:.6}", wei as f64 / 1e18).into())]) };
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
            <td><div class="chunkbar" title=move || t_args("dl-have-of", &[("have", have.into()), ("count", chunks.into())])>{segments}</div></td>
        </tr>
    }
}

/// Runs `f` under `owner` so that it sees the app's contexts (event handlers and tasks do
/// not run under one by themselves).
fn with_owner<T>(owner: &Option<Owner>, f: impl FnOnce() -> T) -> T {
    match owner {
        Some(o) => o.with(f),
        None => f(),
    }
}

/// Starts a download of a CID by the claims its DHT records made (Merkle root and
/// infohash), best first; a claim whose whole file is not the CID is dropped and the next
/// one tried. The finished file must hash to the CID.
fn start_cid(candidates: RootCandidates) {
    let transfers = expect_context::<Transfers>();
    if candidates.next().is_none() {
        transfers.error.set(Some(t("dl-no-usable-record")));
        return;
    }
    // The options are made later, outside this owner: read the settings now.
    let owner = Owner::current();
    transfers.download_cid(candidates, move |c| with_owner(&owner, || options_for(&transfers, c)))
}

/// A claim's torrent options: its WebTorrent seeders' trackers (and this relay's).
fn options_for(transfers: &Transfers, c: &Candidate) -> web_node::browser::torrent::TorrentOptions {
    let mut trackers: Vec<String> = own_tracker().into_iter().collect();
    for s in c.view.seeders.iter().filter(|s| s.protocol == Protocol::WebTorrent) {
        if (s.endpoint.starts_with("ws://") || s.endpoint.starts_with("wss://")) && !trackers.contains(&s.endpoint) {
            trackers.push(s.endpoint.clone());
        }
    }
    transfers.options(c.info_hash, Some(c.view.file.name.clone()), trackers, Vec::new(), Some(c.view.file.cid.clone()))
}

/// One box for a magnet link or a content ID.
#[component]
fn StartDownload() -> impl IntoView {
    let network = expect_context::<Network>();
    let transfers = expect_context::<Transfers>();
    let (text, set_text) = signal(String::new());
    let (status, set_status) = signal(None::<String>);
    let ed2k = RwSignal::new(None::<crate::ed2k_fetch::FetchStatus>);
    let owner = Owner::current();
    let start = move || {
        let owner = owner.clone();
        let input = text.get_untracked().trim().to_string();
        set_status.set(None);
        if input.to_ascii_lowercase().starts_with("ed2k://") {
            match input.parse::<web_node::ed2k::Ed2kLink>() {
                Ok(link) => {
                    crate::ed2k_fetch::start(link, input, ed2k, transfers, owner);
                    set_text.set(String::new());
                }
                Err(e) => set_status.set(Some(e.to_string())),
            }
            return;
        }
        if input.starts_with("magnet:") {
            match web_node::tracker_client::parse_magnet(&input) {
                Ok(m) => {
                    let mut trackers = m.trackers;
                    if trackers.iter().all(|t| !t.starts_with("ws")) {
                        trackers.extend(own_tracker());
                    }
                    let mut options = transfers.options(m.info_hash, m.name, trackers, m.peers, None);
                    options.select_only = m.select_only;
                    with_owner(&owner, || transfers.download(options));
                    set_text.set(String::new());
                }
                Err(e) => set_status.set(Some(e.to_string())),
            }
            return;
        }
        let cid = input.to_ascii_lowercase();
        if cid.len() != 64 || !cid.bytes().all(|c| c.is_ascii_hexdigit()) {
            set_status.set(Some(t("dl-paste-hint")));
            return;
        }
        let Some(node) = network.node.get_untracked() else {
            set_status.set(Some(t("dl-not-connected")));
            return;
        };
        set_status.set(Some(t_args("dl-looking-up", &[("cid", (&cid).into())])));
        spawn_local(async move {
            match node.lookup_records(&cid, web_node::browser::now_secs()).await {
                Ok(records) if !records.is_empty() => {
                    set_status.set(None);
                    set_text.set(String::new());
                    with_owner(&owner, || start_cid(RootCandidates::new(&cid, &records)));
                }
                Ok(_) => set_status.set(Some(t_args("dl-nobody", &[("cid", (&cid).into())]))),
                Err(e) => set_status.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <form class="search" on:submit=move |ev| {
            ev.prevent_default();
            start();
        }>
            <input id="download-input" type="text" placeholder=move || t("dl-input-placeholder") spellcheck="false"
                prop:value=text on:input=move |ev| set_text.set(event_target_value(&ev)) />
            <button id="download-button" type="submit">{move || t("dl-download")}</button>
        </form>
        {move || status.get().map(|s| view! { <div class="card" id="download-status">{s}</div> })}
        <crate::ed2k_fetch::Ed2kFetchCard status=ed2k />
    }
}
