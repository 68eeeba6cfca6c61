//! The Wallet view's payment channels card (Style 2): channels this page pays through
//! (per seller: deposit, paid so far, what closing will settle and refund) and channels
//! that pay this page (highest voucher, Close), plus the idle-close setting. Data comes
//! from the channel books ([`web_node::browser::channels`]), re-read every few seconds.

use leptos::prelude::*;

use crate::i18n::{t, t_args};
use leptos::task::spawn_local;
use web_node::browser::channels;
use web_node::pay::book::{BuyerBook, SellerBook};

use crate::wallet::eth;

const IDLE_KEY: &str = "chiral.channels.close_idle_secs";
/// Default: a channel that has been quiet for 10 minutes is closed by the page itself.
pub const DEFAULT_IDLE_SECS: u64 = 600;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Seconds of quiet after which this page closes a channel that pays it (0: never).
pub fn idle_close_secs() -> u64 {
    storage().and_then(|s| s.get_item(IDLE_KEY).ok().flatten()).and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_IDLE_SECS)
}

fn short(text: &str) -> String {
    if text.len() > 14 { format!("{}…{}", &text[..8], &text[text.len() - 4..]) } else { text.to_string() }
}

#[derive(Clone, Copy)]
pub struct Channels {
    pub buying: RwSignal<BuyerBook>,
    pub selling: RwSignal<SellerBook>,
    pub status: RwSignal<Option<String>>,
    closing: RwSignal<bool>,
}

impl Channels {
    /// Asks the relay which contract its chain's channels live on (`GET /api/channels`);
    /// without an answer the dev chain's address stays.
    pub fn load_contract(self) {
        spawn_local(async move {
            let Ok(text) = crate::network::fetch_text("/api/channels").await else { return };
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if let Some(address) = v["contract"].as_str().and_then(|a| a.parse().ok()) {
                channels::set_contract(address);
            }
        });
    }

    pub fn new() -> Self {
        Self { buying: RwSignal::new(channels::buyer_book()), selling: RwSignal::new(channels::seller_book()), status: RwSignal::new(None), closing: RwSignal::new(false) }
    }

    /// Re-reads the books, and closes idle channels (one round at a time).
    pub fn poll(self) {
        self.buying.set(channels::buyer_book());
        self.selling.set(channels::seller_book());
        let idle = idle_close_secs();
        if idle == 0 || self.closing.get_untracked() || !channels::can_buy() {
            return;
        }
        self.closing.set(true);
        spawn_local(async move {
            let closed = channels::close_due(idle).await;
            if !closed.is_empty() {
                self.status.set(Some(t_args("ch-closed-idle", &[("count", closed.len().into())])));
            }
            self.closing.set(false);
            self.selling.set(channels::seller_book());
        });
    }

    fn reclaim(self, id: String) {
        self.status.set(Some(t_args("ch-reclaiming", &[("channel", short(&id).into())])));
        spawn_local(async move {
            let result = channels::reclaim(&id).await;
            self.status.set(Some(match result {
                Ok(tx) => t_args("ch-reclaimed", &[("channel", short(&id).into()), ("tx", short(&tx).into())]),
                Err(e) => t_args("ch-reclaim-failed", &[("channel", short(&id).into()), ("error", e.to_string().into())]),
            }));
            self.buying.set(channels::buyer_book());
        });
    }

    fn close(self, id: String) {
        self.status.set(Some(t_args("ch-closing", &[("channel", short(&id).into())])));
        spawn_local(async move {
            let result = channels::close(&id).await;
            self.status.set(Some(match result {
                Ok(tx) => t_args("ch-closed", &[("channel", short(&id).into()), ("tx", short(&tx).into())]),
                Err(e) => t_args("ch-close-failed", &[("channel", short(&id).into()), ("error", e.to_string().into())]),
            }));
            self.selling.set(channels::seller_book());
        });
    }
}

#[component]
pub fn ChannelsCard() -> impl IntoView {
    let ch = expect_context::<Channels>();
    let (idle, set_idle) = signal(idle_close_secs().to_string());
    view! {
        <div class="card" id="channels">
            <h3>{move || t("ch-title")}</h3>
            <p class="meta">{move || t("ch-lede")}</p>
            <label class="check"><input type="checkbox" id="channels-enabled" prop:checked=channels::enabled()
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    channels::set_enabled(on);
                    ch.status.set(Some(if on { t("ch-on") } else { t("ch-off") }));
                } />" " {move || t("ch-enable")}</label>
            {move || ch.status.get().map(|s| view! { <div class="meta" id="channels-status">{s}</div> })}
            <h4>{move || t("ch-paying")}</h4>
            <table class="seeders" id="channels-out">
                <thead><tr><th>{move || t("ch-col-seller")}</th><th>{move || t("ch-col-deposit")}</th><th>{move || t("ch-col-paid")}</th><th>{move || t("ch-col-settles")}</th><th>{move || t("ch-col-refund")}</th><th></th></tr></thead>
                <tbody>
                    {move || {
                        let book = ch.buying.get();
                        let live = book.channels.into_iter().map(|(seller, c)| (seller.rsplit(':').next().unwrap_or_default().to_string(), c));
                        live.chain(book.archived.into_iter().rev().map(|c| (t("ch-replaced"), c))).filter(|(_, c)| !c.channel.is_empty()).collect::<Vec<_>>()
                    }.into_iter().map(|(payee, c)| {
                        let (deposit, signed) = (c.deposit(), c.signed());
                        let id = c.channel.clone();
                        let expires = crate::units::date_time(c.expires_at as f64 * 1000.0);
                        view! {
                            <tr class="channel-out" data-channel=c.channel.clone() data-deposit=deposit.to_string() data-signed=signed.to_string() data-finished=c.finished.to_string()>
                                <td><code>{short(&payee)}</code></td>
                                <td>{eth(deposit)}</td>
                                <td>{eth(signed)}</td>
                                <td>{eth(signed)}</td>
                                <td>{eth(deposit.saturating_sub(signed))}</td>
                                <td>{(!c.finished).then(|| view! {
                                    <button class="channel-reclaim" title=t_args("ch-reclaim-title", &[("time", expires.into())])
                                        on:click=move |_| ch.reclaim(id.clone())>{t("ch-reclaim")}</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h4>{move || t("ch-paid-by")}</h4>
            <table class="seeders" id="channels-in">
                <thead><tr><th>{move || t("ch-col-payer")}</th><th>{move || t("ch-col-deposit")}</th><th>{move || t("ch-col-voucher")}</th><th>{move || t("col-state")}</th><th></th></tr></thead>
                <tbody>
                    {move || ch.selling.get().channels.into_iter().map(|(id, c)| {
                        let closed = c.closed_tx.clone();
                        let id2 = id.clone();
                        view! {
                            <tr class="channel-in" data-channel=id.clone() data-paid=c.paid().to_string() data-closed=closed.clone().unwrap_or_default()>
                                <td><code>{short(&c.payer)}</code></td>
                                <td>{eth(c.deposit_wei.parse().unwrap_or(0))}</td>
                                <td>{eth(c.paid())}</td>
                                <td>{closed.as_ref().map_or_else(|| t("ch-open"), |tx| t_args("ch-closed-tx", &[("tx", short(tx).into())]))}</td>
                                <td>{(closed.is_none() && c.paid() > 0).then(|| view! {
                                    <button class="channel-close" on:click=move |_| ch.close(id2.clone())>{t("ch-close")}</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <div class="search">
                <label for="channels-idle">{move || t("ch-idle-label")}</label>
                <input type="number" min="0" id="channels-idle" prop:value=idle on:input=move |ev| set_idle.set(event_target_value(&ev)) />
                <button id="channels-idle-save" on:click=move |_| {
                    let v: u64 = idle.get_untracked().parse().unwrap_or(DEFAULT_IDLE_SECS);
                    if let Some(s) = storage() {
                        let _ = s.set_item(IDLE_KEY, &v.to_string());
                    }
                    ch.status.set(Some(t_args("ch-idle-saved", &[("seconds", v.into())])));
                }>{move || t("save")}</button>
            </div>
        </div>
    }
}
