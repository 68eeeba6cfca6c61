//! The Network view's dashboard: the page's upload and download rates over the last five
//! minutes (sampled each second from the transfers' snapshots), current totals, peers per
//! protocol, the relay and DHT at a glance, and the chain behind the relay's `/rpc`.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};
use web_node::browser::chain::{hex_u128, hex_u64, Chain};
use web_node::browser::p2p::Connection;
use web_node::browser::torrent::Snapshot;
use web_node::dht::NodeInfo;

use crate::i18n::{t, t_args};
use crate::network::{connection_label, Network};
use crate::transfers::Transfers;
use crate::units;

/// Samples kept: one a second for five minutes.
pub const HISTORY: usize = 300;
/// How often the chain panel asks the chain while shown.
const CHAIN_POLL: Duration = Duration::from_secs(5);

/// The page's total rates (bytes per second), one sample a second, oldest first.
#[derive(Clone, Copy)]
pub struct RateHistory {
    pub samples: RwSignal<VecDeque<(f64, f64)>>,
}

/// (download, upload) bytes per second over every transfer.
pub fn totals(list: &[Snapshot]) -> (f64, f64) {
    list.iter().fold((0.0, 0.0), |(d, u), s| (d + s.down_rate, u + s.up_rate))
}

/// Connected peers per protocol over every transfer, by protocol name.
pub fn peers_by_protocol(list: &[Snapshot]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for p in list.iter().flat_map(|s| &s.peers) {
        *out.entry(p.protocol).or_default() += 1;
    }
    out
}

impl RateHistory {
    /// Starts sampling `transfers` every second, for as long as the page lives.
    pub fn start(transfers: Transfers) -> Self {
        let history = Self { samples: RwSignal::new(VecDeque::with_capacity(HISTORY)) };
        let sample = move || {
            let now = transfers.list.with_untracked(|l| totals(l));
            history.samples.update(|s| {
                if s.len() >= HISTORY {
                    s.pop_front();
                }
                s.push_back(now);
            });
        };
        if let Ok(handle) = set_interval_with_handle(sample, Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
        history
    }
}

const PLOT_W: f64 = 600.0;
const PLOT_H: f64 = 120.0;
const PLOT_MARGIN: f64 = 2.0;

/// SVG points of `values` (oldest first, the newest at the right edge) scaled to `max`.
fn points(values: impl ExactSizeIterator<Item = f64>, max: f64) -> Vec<(f64, f64)> {
    let n = values.len();
    let step = PLOT_W / (HISTORY - 1) as f64;
    values
        .enumerate()
        .map(|(i, v)| {
            let x = PLOT_W - (n - 1 - i) as f64 * step;
            // A margin, so a line at zero or at the top is not cut in half by the edge.
            let y = PLOT_H - PLOT_MARGIN - (v / max).clamp(0.0, 1.0) * (PLOT_H - 2.0 * PLOT_MARGIN);
            (x, y)
        })
        .collect()
}

fn polyline(points: &[(f64, f64)]) -> String {
    points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ")
}

/// The area under a line, closed along the bottom.
fn area(points: &[(f64, f64)]) -> String {
    match (points.first(), points.last()) {
        (Some(first), Some(last)) => format!("{:.1},{PLOT_H} {} {:.1},{PLOT_H}", first.0, polyline(points), last.0),
        _ => String::new(),
    }
}

#[component]
pub fn Dashboard(info: ReadSignal<Option<NodeInfo>>) -> impl IntoView {
    let transfers = expect_context::<Transfers>();
    let history = expect_context::<RateHistory>();
    let network = expect_context::<Network>();
    let now = Memo::new(move |_| transfers.list.with(|l| totals(l)));
    let by_protocol = Memo::new(move |_| transfers.list.with(|l| peers_by_protocol(l).into_iter().collect::<Vec<_>>()));
    // The plot's scale: the highest rate in the window, at least 10 kB/s.
    let max = Memo::new(move |_| history.samples.with(|s| s.iter().fold(10_000.0_f64, |m, (d, u)| m.max(*d).max(*u))));
    let down = move || history.samples.with(|s| points(s.iter().map(|x| x.0), max.get()));
    let up = move || history.samples.with(|s| points(s.iter().map(|x| x.1), max.get()));
    let totals_bytes = Memo::new(move |_| transfers.list.with(|l| l.iter().fold((0u64, 0u64), |(d, u), s| (d + s.downloaded, u + s.uploaded))));
    view! {
        <div class="card dashboard" id="dashboard">
            <h2>{move || t("dash-title")}</h2>
            <div class="dash-now">
                <span class="down" id="dash-down">"↓ " {move || units::rate_per_second(now.get().0)}</span>
                <span class="up" id="dash-up">"↑ " {move || units::rate_per_second(now.get().1)}</span>
                <span class="meta">{move || t_args("dash-totals", &[
                    ("down", units::bytes(totals_bytes.get().0).into()),
                    ("up", units::bytes(totals_bytes.get().1).into()),
                ])}</span>
            </div>
            <svg id="rate-plot" class="rate-plot" viewBox=format!("0 0 {PLOT_W} {PLOT_H}") preserveAspectRatio="none"
                role="img" aria-label=move || t("dash-plot-label") data-samples=move || history.samples.with(|s| s.len().to_string())>
                <polygon class="down-area" fill="rgba(56,189,248,0.25)" stroke="none" points=move || area(&down()) />
                <polyline class="down-line" fill="none" stroke="#38bdf8" stroke-width="1.5" points=move || polyline(&down()) />
                <polyline class="up-line" fill="none" stroke="#a78bfa" stroke-width="1.5" points=move || polyline(&up()) />
            </svg>
            <div class="plot-axis meta">
                <span>{move || t("dash-five-minutes-ago")}</span>
                <span>{move || t_args("dash-scale", &[("rate", units::rate_per_second(max.get()).into())])}</span>
                <span>{move || t("dash-now")}</span>
            </div>
            <div class="dash-grid">
                <div>
                    <h3>{move || t("dash-peers-by-protocol")}</h3>
                    <ul id="peers-by-protocol">
                        {move || {
                            let rows = by_protocol.get();
                            if rows.is_empty() {
                                view! { <li class="meta">{t("dash-no-peers")}</li> }.into_any()
                            } else {
                                rows.into_iter().map(|(protocol, count)| view! {
                                    <li data-protocol=protocol data-count=count.to_string()>
                                        <span class="proto">{protocol}</span> " " {t_args("tr-peers", &[("count", count.into())])}
                                    </li>
                                }).collect_view().into_any()
                            }
                        }}
                    </ul>
                </div>
                <div>
                    <h3>{move || t("dash-network")}</h3>
                    <ul id="dash-network">
                        <li>{move || t("net-relay")} ": " {move || network.status.get().map_or_else(
                            || t("net-starting"),
                            |s| format!("{} · {}", s.relay, connection_label(&s.connection)),
                        )}</li>
                        <li>{move || t("dash-dht")} ": " {move || match (network.status.get().map(|s| s.connection), info.get()) {
                            (Some(Connection::Connected), Some(i)) => t_args("dash-dht-state", &[
                                ("peers", i.connected_peers.into()),
                                ("routing", i.routing_table_size.into()),
                            ]),
                            _ => t("dash-dht-offline"),
                        }}</li>
                    </ul>
                </div>
            </div>
        </div>
        <ChainPanel />
    }
}

/// What the chain said in one poll. `None`: the method errored (not reported).
#[derive(Debug, Clone, Default, PartialEq)]
struct ChainInfo {
    height: u64,
    /// The block's timestamp, ms since the epoch.
    time_ms: Option<f64>,
    base_fee_wei: Option<u128>,
    chain_id: Option<u64>,
    network_id: Option<String>,
    client: Option<String>,
    mining: Option<bool>,
    hashrate: Option<u128>,
}

#[derive(Debug, Clone, PartialEq)]
enum ChainState {
    Loading,
    Up(ChainInfo),
    Down(String),
}

async fn poll_chain(chain: &Chain) -> Result<ChainInfo, String> {
    // The latest block first: if that fails, the chain is down.
    let block = chain.call("eth_getBlockByNumber", json!(["latest", false])).await.map_err(|e| e.to_string())?;
    let height = hex_u64(&block["number"]).ok_or_else(|| "bad block".to_string())?;
    let optional = |r: Result<Value, _>| r.ok().filter(|v: &Value| !v.is_null());
    Ok(ChainInfo {
        height,
        time_ms: hex_u64(&block["timestamp"]).map(|s| s as f64 * 1000.0),
        base_fee_wei: hex_u128(&block["baseFeePerGas"]),
        chain_id: optional(chain.call("eth_chainId", json!([])).await).and_then(|v| hex_u64(&v)),
        network_id: optional(chain.call("net_version", json!([])).await).and_then(|v| v.as_str().map(String::from)),
        client: optional(chain.call("web3_clientVersion", json!([])).await).and_then(|v| v.as_str().map(String::from)),
        mining: optional(chain.call("eth_mining", json!([])).await).and_then(|v| v.as_bool()),
        hashrate: optional(chain.call("eth_hashrate", json!([])).await).and_then(|v| hex_u128(&v)),
    })
}

/// The chain behind the relay's `/rpc`, asked every five seconds while shown.
#[component]
fn ChainPanel() -> impl IntoView {
    let state = RwSignal::new(ChainState::Loading);
    let busy = StoredValue::new(false);
    let poll = move || {
        if busy.get_value() {
            return;
        }
        busy.set_value(true);
        spawn_local(async move {
            let result = poll_chain(&Chain::for_page()).await;
            // The view may be gone by now.
            let _ = busy.try_update_value(|b| *b = false);
            state.try_set(match result {
                Ok(info) => ChainState::Up(info),
                Err(e) => ChainState::Down(e),
            });
        });
    };
    poll();
    if let Ok(handle) = set_interval_with_handle(poll, CHAIN_POLL) {
        on_cleanup(move || handle.clear());
    }
    let up = move || match state.get() {
        ChainState::Up(i) => Some(i),
        _ => None,
    };
    let not_reported = || t("dash-not-reported");
    let row = |key: &'static str, id: &'static str, value: Box<dyn Fn() -> String + Send + Sync>| {
        view! { <tr><th>{move || t(key)}</th><td id=id>{value}</td></tr> }
    };
    view! {
        <div class="card chain-panel" id="chain-panel"
            data-state=move || match state.get() { ChainState::Loading => "loading", ChainState::Up(_) => "up", ChainState::Down(_) => "down" }
            data-height=move || up().map(|i| i.height.to_string()).unwrap_or_default()
            data-chain-id=move || up().and_then(|i| i.chain_id).map(|c| c.to_string()).unwrap_or_default()>
            <h2>{move || t("chain-title")}</h2>
            {move || match state.get() {
                ChainState::Loading => view! { <p class="meta">{t("chain-loading")}</p> }.into_any(),
                ChainState::Down(e) => view! { <p class="error" role="alert" id="chain-down">{t_args("chain-down", &[("error", e.into())])}</p> }.into_any(),
                ChainState::Up(_) => view! {
                    <table class="chain">
                        {row("chain-height", "chain-height", Box::new(move || up().map(|i| units::number(i.height as f64, 0)).unwrap_or_default()))}
                        {row("chain-block-time", "chain-block-time", Box::new(move || up().and_then(|i| i.time_ms).map_or_else(not_reported, |ms| format!("{} {}", units::date(ms), units::time(ms)))))}
                        {row("chain-base-fee", "chain-base-fee", Box::new(move || up().and_then(|i| i.base_fee_wei).map_or_else(not_reported, |w| t_args("chain-gwei", &[("n", units::number(w as f64 / 1e9, 3).into())]))))}
                        {row("chain-id", "chain-id", Box::new(move || up().and_then(|i| i.chain_id).map_or_else(not_reported, |c| c.to_string())))}
                        {row("chain-network-id", "chain-network-id", Box::new(move || up().and_then(|i| i.network_id).unwrap_or_else(not_reported)))}
                        {row("chain-client", "chain-client", Box::new(move || up().and_then(|i| i.client).unwrap_or_else(not_reported)))}
                        {row("chain-mining", "chain-mining", Box::new(move || up().and_then(|i| i.mining).map_or_else(not_reported, |m| t(if m { "chain-mining-yes" } else { "chain-mining-no" }))))}
                        {row("chain-hashrate", "chain-hashrate", Box::new(move || up().and_then(|i| i.hashrate).map_or_else(not_reported, |h| t_args("chain-hashes-per-s", &[("n", units::number(h as f64, 0).into())]))))}
                    </table>
                }.into_any(),
            }}
        </div>
    }
}
