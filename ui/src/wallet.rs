//! The Wallet view and the page's payer: a built-in wallet (key made here, kept only
//! encrypted in localStorage) or a browser wallet (EIP-1193), the price this page asks
//! as a seeder, balance, payment history (the ledger) and earnings.

use std::time::Duration;

use alloy_signer_local::PrivateKeySigner;
use leptos::prelude::*;

use crate::i18n::{t, t_args};
use leptos::task::spawn_local;
use web_node::browser::chain::{Chain, Injected};
use web_node::browser::settle::{self, Payer};
use web_node::settlement::{Ledger, PayTo, PaymentState, PlanLine};
use web_node::wallet::{self, Keystore, KEYSTORE_ITERATIONS};

const KEYSTORE_KEY: &str = "chiral.wallet";
const PRICE_KEY: &str = "chiral.price_wei_per_mb";
const EARNINGS_FROM_KEY: &str = "chiral.earnings_from_block";
pub const WEI_PER_ETH: f64 = 1e18;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn stored(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

fn store(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

pub fn eth(wei: u128) -> String {
    let v = wei as f64 / WEI_PER_ETH;
    if v == 0.0 { "0 ETH".into() } else if v < 0.0001 { format!("{v:.8} ETH") } else { format!("{v:.6} ETH") }
}

pub fn short(address: &str) -> String {
    if address.len() > 12 { format!("{}…{}", &address[..6], &address[address.len() - 4..]) } else { address.to_string() }
}

#[derive(Clone, Copy)]
pub struct Wallet {
    pub keystore: RwSignal<Option<Keystore>>,
    signer: StoredValue<Option<PrivateKeySigner>, LocalStorage>,
    pub unlocked: RwSignal<bool>,
    injected: StoredValue<Option<Injected>, LocalStorage>,
    pub injected_account: RwSignal<Option<String>>,
    pub use_injected: RwSignal<bool>,
    pub balance: RwSignal<Option<u128>>,
    pub price_wei: RwSignal<u128>,
    pub ledger: RwSignal<Ledger>,
    pub earnings: RwSignal<Vec<settle::Earning>>,
    pub status: RwSignal<Option<String>>,
    pub busy: RwSignal<bool>,
}

impl Wallet {
    pub fn new() -> Self {
        let keystore = stored(KEYSTORE_KEY).and_then(|t| Keystore::from_json(&t).ok());
        Self {
            keystore: RwSignal::new(keystore),
            signer: StoredValue::new_local(None),
            unlocked: RwSignal::new(false),
            injected: StoredValue::new_local(None),
            injected_account: RwSignal::new(None),
            use_injected: RwSignal::new(false),
            balance: RwSignal::new(None),
            price_wei: RwSignal::new(stored(PRICE_KEY).and_then(|p| p.parse().ok()).unwrap_or(0)),
            ledger: RwSignal::new(settle::load_ledger()),
            earnings: RwSignal::new(Vec::new()),
            status: RwSignal::new(None),
            busy: RwSignal::new(false),
        }
    }

    /// The address payments come from and earnings go to.
    pub fn address(&self) -> Option<String> {
        if self.use_injected.get_untracked() {
            return self.injected_account.get_untracked();
        }
        self.keystore.get_untracked().map(|k| k.address)
    }

    /// Our terms as a seeder: a price and the wallet it is paid to.
    pub fn pay_to(&self) -> Option<PayTo> {
        let price = self.price_wei.get_untracked();
        let wallet = wallet::parse_address(&self.address()?)?;
        (price > 0).then_some(PayTo { wallet, price_per_mb_wei: price })
    }

    fn payer(&self) -> Option<Payer> {
        if self.use_injected.get_untracked() {
            let provider = self.injected.get_value()?;
            return Some(Payer::Injected { provider, account: self.injected_account.get_untracked()? });
        }
        self.signer.get_value().map(Payer::BuiltIn)
    }

    fn refresh_ledger(&self) {
        self.ledger.set(settle::load_ledger());
    }

    /// Starts the background work: balance and earnings every 3 s, and re-broadcasting
    /// any signed payment a previous visit left unconfirmed.
    pub fn start(self) {
        let this = self;
        spawn_local(async move {
            let chain = Chain::for_page();
            let _ = settle::settle(&chain, None, None, &move || this.refresh_ledger()).await;
            this.refresh_ledger();
        });
        let poll = move || {
            // Style 2 opens channels and closes them with whichever wallet pays now.
            web_node::browser::channels::set_payer(self.payer());
            let Some(address) = self.address() else { return };
            spawn_local(async move {
                let chain = Chain::for_page();
                if let Ok(b) = chain.balance(&address).await {
                    self.balance.set(Some(b));
                }
                let from = stored(EARNINGS_FROM_KEY).and_then(|b| b.split_once(':').filter(|(a, _)| a.eq_ignore_ascii_case(&address)).and_then(|(_, n)| n.parse().ok()));
                let from = match from {
                    Some(n) => n,
                    None => chain.block_number().await.unwrap_or(0).saturating_sub(64),
                };
                if let Ok((found, next)) = settle::earnings(&chain, &address, from).await {
                    if !found.is_empty() {
                        self.earnings.update(|e| e.extend(found));
                    }
                    store(EARNINGS_FROM_KEY, &format!("{address}:{next}"));
                }
            });
        };
        poll();
        if let Ok(handle) = set_interval_with_handle(poll, Duration::from_secs(3)) {
            on_cleanup(move || handle.clear());
        }
    }

    fn after_new_key(self, secret: [u8; 32], passphrase: String) {
        self.busy.set(true);
        self.status.set(Some(t("wallet-encrypting")));
        spawn_local(async move {
            // Let the status paint before the key derivation holds the thread.
            futures_timer_delay(50).await;
            let result = (|| {
                let salt = web_node::browser::random_bytes::<16>().map_err(|e| e.to_string())?;
                let nonce = web_node::browser::random_bytes::<12>().map_err(|e| e.to_string())?;
                let ks = Keystore::seal(&secret, &passphrase, salt, nonce, KEYSTORE_ITERATIONS).map_err(|e| e.to_string())?;
                let signer = PrivateKeySigner::from_slice(&secret).map_err(|e| e.to_string())?;
                Ok::<_, String>((ks, signer))
            })();
            match result {
                Ok((ks, signer)) => {
                    store(KEYSTORE_KEY, &ks.to_json());
                    store(EARNINGS_FROM_KEY, "");
                    self.keystore.set(Some(ks.clone()));
                    self.signer.set_value(Some(signer));
                    web_node::browser::channels::set_payer(self.payer());
                    self.unlocked.set(true);
                    self.status.set(Some(t_args("wallet-ready", &[("address", short(&ks.address).into())])));
                    self.faucet(ks.address);
                }
                Err(e) => self.status.set(Some(e)),
            }
            self.busy.set(false);
        });
    }

    pub fn create(self, passphrase: String) {
        match web_node::browser::random_bytes::<32>() {
            // A random 32-byte string is a valid secp256k1 key with overwhelming probability.
            Ok(secret) if wallet::parse_private_key(&hex::encode(secret)).is_ok() => self.after_new_key(secret, passphrase),
            Ok(_) => self.status.set(Some(t("wallet-unlucky"))),
            Err(e) => self.status.set(Some(e.to_string())),
        }
    }

    pub fn import(self, key: String, passphrase: String) {
        match wallet::parse_private_key(&key) {
            Ok(secret) => self.after_new_key(secret, passphrase),
            Err(e) => self.status.set(Some(e.to_string())),
        }
    }

    /// Restores a wallet file exported earlier (still encrypted).
    pub fn import_file(self, text: String) {
        match Keystore::from_json(&text) {
            Ok(ks) => {
                store(KEYSTORE_KEY, &ks.to_json());
                self.keystore.set(Some(ks));
                self.signer.set_value(None);
                self.unlocked.set(false);
                self.status.set(Some(t("wallet-file-imported")));
            }
            Err(e) => self.status.set(Some(e.to_string())),
        }
    }

    pub fn unlock(self, passphrase: String) {
        let Some(ks) = self.keystore.get_untracked() else { return };
        self.busy.set(true);
        self.status.set(Some(t("wallet-unlocking")));
        spawn_local(async move {
            futures_timer_delay(50).await;
            match ks.open(&passphrase) {
                Ok(signer) => {
                    self.signer.set_value(Some(signer));
                    web_node::browser::channels::set_payer(self.payer());
                    self.unlocked.set(true);
                    self.status.set(Some(t("wallet-unlocked-status")));
                    // Payments planned before a reload continue now.
                    self.resume_payments();
                }
                Err(e) => self.status.set(Some(e.to_string())),
            }
            self.busy.set(false);
        });
    }

    pub fn lock(self) {
        self.signer.set_value(None);
        self.unlocked.set(false);
    }

    /// Dev chain only (the relay refuses elsewhere): 10 ETH for a new wallet.
    pub fn faucet(self, address: String) {
        spawn_local(async move {
            let body = serde_json::json!({ "address": address }).to_string();
            if let Ok(text) = post_json("/api/faucet", &body).await {
                if text.contains("\"tx\"") {
                    self.status.set(Some(t("wallet-funded")));
                }
            }
        });
    }

    pub fn connect_injected(self) {
        let Some(provider) = Injected::find() else {
            self.status.set(Some(t("wallet-no-injected")));
            return;
        };
        spawn_local(async move {
            match provider.connect().await {
                Ok(account) => {
                    self.injected.set_value(Some(provider));
                    self.injected_account.set(Some(account.clone()));
                    self.use_injected.set(true);
                    web_node::browser::channels::set_payer(self.payer());
                    self.status.set(Some(t_args("wallet-injected-connected", &[("address", short(&account).into())])));
                    self.resume_payments();
                }
                Err(e) => self.status.set(Some(t_args("wallet-injected-refused", &[("error", e.to_string().into())]))),
            }
        });
    }

    pub fn set_price_eth(self, eth_per_mb: &str) {
        match web_node::settlement::parse_eth(eth_per_mb) {
            Some(wei) => {
                self.price_wei.set(wei);
                store(PRICE_KEY, &wei.to_string());
                self.status.set(Some(t_args("wallet-price-set", &[("price", eth(wei).into())])));
            }
            None => self.status.set(Some(t("wallet-price-invalid"))),
        }
    }

    /// Plans and pays what a finished download owes (after the user saw the plan).
    pub fn pay(self, file: String, lines: Vec<PlanLine>) {
        let Some(payer) = self.payer() else {
            self.status.set(Some(t("wallet-unlock-to-pay")));
            return;
        };
        if let Err(e) = settle::plan(&file, &payer.address(), &lines) {
            self.status.set(Some(e.to_string()));
            return;
        }
        self.refresh_ledger();
        self.run(payer, Some(file));
    }

    fn resume_payments(self) {
        if let Some(payer) = self.payer() {
            self.run(payer, None);
        }
    }

    fn run(self, payer: Payer, file: Option<String>) {
        spawn_local(async move {
            let chain = Chain::for_page();
            let result = settle::settle(&chain, Some(&payer), file.as_deref(), &move || self.refresh_ledger()).await;
            self.refresh_ledger();
            if let Err(e) = result {
                self.status.set(Some(e.to_string()));
            }
        });
    }
}

impl Default for Wallet {
    fn default() -> Self {
        Self::new()
    }
}

async fn futures_timer_delay(ms: u64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

async fn post_json(path: &str, body: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&wasm_bindgen::JsValue::from_str(body));
    let headers = web_sys::Headers::new().map_err(|_| "headers")?;
    let _ = headers.set("content-type", "application/json");
    init.set_headers(&headers);
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(path, &init)).await.map_err(|_| "unreachable")?.unchecked_into();
    let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| "body")?).await.map_err(|_| "body")?;
    Ok(text.as_string().unwrap_or_default())
}

fn download_text(name: &str, text: &str) {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let Ok(blob) = web_sys::Blob::new_with_str_sequence(&parts) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Some(a) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.create_element("a").ok()) {
        let a: web_sys::HtmlAnchorElement = a.unchecked_into();
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
}

fn state_name(s: &PaymentState) -> &'static str {
    match s {
        PaymentState::Planned => "planned",
        PaymentState::Signed { .. } => "signed",
        PaymentState::Submitting { .. } => "submitting",
        PaymentState::Sent { .. } => "sent",
        PaymentState::Confirmed { .. } => "confirmed",
        PaymentState::Failed { .. } => "failed",
    }
}

/// A payment state in the page's language (`state_name` stays the `data-state`).
fn state_text(name: &str) -> String {
    match name {
        "planned" => t("pay-state-planned"),
        "signed" => t("pay-state-signed"),
        "submitting" => t("pay-state-submitting"),
        "sent" => t("pay-state-sent"),
        "confirmed" => t("pay-state-confirmed"),
        "failed" => t("pay-state-failed"),
        other => other.to_string(),
    }
}

fn tx_of(s: &PaymentState) -> String {
    match s {
        PaymentState::Signed { tx_hash, .. } | PaymentState::Sent { tx_hash } | PaymentState::Confirmed { tx_hash, .. } => tx_hash.clone(),
        _ => String::new(),
    }
}

/// The payment box of a finished download: the plan before paying, receipts after.
#[component]
pub fn PaymentBox(file: String, plan: Vec<PlanLine>) -> impl IntoView {
    let wallet = expect_context::<Wallet>();
    let total: u128 = plan.iter().map(|l| l.amount_wei).sum();
    let file_for_rows = file.clone();
    let rows = move || {
        wallet.ledger.with(|l| l.payments.iter().filter(|p| p.file == file_for_rows).cloned().collect::<Vec<_>>())
    };
    let paid_state = {
        let rows = rows.clone();
        move || {
            let r = rows();
            if r.is_empty() { "unpaid".to_string() } else if r.iter().all(|p| p.is_settled()) { "paid".into() } else { "paying".into() }
        }
    };
    let lines = plan.clone();
    let pay_file = file.clone();
    view! {
        <div class="payment-box" data-paid=paid_state.clone()>
            <h3>{move || t("pay-title")}</h3>
            <table class="plan">
                <thead><tr><th>{move || t("pay-col-seeder-wallet")}</th><th>{move || t("pay-col-verified")}</th><th>{move || t("col-price")}</th><th>{move || t("col-amount")}</th><th>{move || t("col-chunks")}</th></tr></thead>
                <tbody>
                    {lines.iter().map(|l| { let (mb, ranges) = (l.bytes as f64 / 1e6, l.chunks.len()); view! {
                        <tr class="plan-line" data-to=format!("0x{}", hex::encode(l.to)) data-amount-wei=l.amount_wei.to_string()>
                            <td><code>{short(&format!("0x{}", hex::encode(l.to)))}</code></td>
                            <td>{move || t_args("units-mb", &[("n", crate::units::number(mb, 2).into())])}</td>
                            <td>{format!("{} /MB", eth(l.price_per_mb_wei))}</td>
                            <td>{eth(l.amount_wei)}</td>
                            <td>{move || t_args("pay-ranges", &[("count", ranges.into())])}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
            <div class="stats"><span>{move || t("pay-total")} " " <strong>{eth(total)}</strong> " · " {move || t("pay-one-tx")}</span></div>
            <Show when={
                let paid_state = paid_state.clone();
                move || paid_state() == "unpaid"
            }>
                <button class="pay primary" disabled=move || wallet.busy.get()
                    on:click={
                        let f = pay_file.clone();
                        let p = plan.clone();
                        move |_| wallet.pay(f.clone(), p.clone())
                    }>{move || t("pay-button")} " " {eth(total)}</button>
            </Show>
            <ul class="receipts">
                {move || rows().into_iter().map(|p| {
                    let state = state_name(&p.state);
                    let detail = match &p.state {
                        PaymentState::Confirmed { block, gas_used, .. } => t_args("pay-confirmed", &[("block", block.to_string().into()), ("gas", gas_used.to_string().into())]),
                        PaymentState::Failed { reason } => t_args("pay-failed", &[("reason", reason.into())]),
                        _ => format!("{}…", state_text(state)),
                    };
                    view! {
                        <li class="receipt" data-state=state data-tx=tx_of(&p.state)>
                            {eth(p.amount())} " → " <code>{short(&p.to)}</code> " · " {detail}
                            {(!tx_of(&p.state).is_empty()).then(|| view! { " · " {t("pay-tx")} " " <code>{short(&tx_of(&p.state))}</code> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn WalletView() -> impl IntoView {
    let wallet = expect_context::<Wallet>();
    let (passphrase, set_passphrase) = signal(String::new());
    let (key_text, set_key_text) = signal(String::new());
    let (price_text, set_price_text) = signal(format!("{}", wallet.price_wei.get_untracked() as f64 / WEI_PER_ETH));
    let has_injected = Injected::find().is_some();
    let total_earned = move || wallet.earnings.with(|e| e.iter().map(|x| x.wei).sum::<u128>());
    view! {
        <section class="wallet" id="wallet-view">
            <h1>{move || t("wallet-title")}</h1>
            <p class="lede">{move || t("wallet-lede")}</p>
            {move || wallet.status.get().map(|s| view! { <div class="card" id="wallet-status">{s}</div> })}
            <div class="card">
                {move || match (wallet.keystore.get(), wallet.unlocked.get()) {
                    (None, _) => view! {
                        <h3>{t("wallet-builtin")}</h3>
                        <p class="meta">{t("wallet-builtin-lede")}</p>
                        <div class="search">
                            <input type="password" id="wallet-passphrase" placeholder=t("wallet-passphrase-placeholder") autocomplete="new-password"
                                on:input=move |ev| set_passphrase.set(event_target_value(&ev)) />
                            <button id="wallet-create" disabled=move || wallet.busy.get()
                                on:click=move |_| wallet.create(passphrase.get_untracked())>{t("wallet-create")}</button>
                        </div>
                        <details>
                            <summary>{t("wallet-import-summary")}</summary>
                            <textarea id="wallet-import-key" placeholder=t("wallet-import-placeholder")
                                on:input=move |ev| set_key_text.set(event_target_value(&ev))></textarea>
                            <button id="wallet-import" on:click=move |_| {
                                let text = key_text.get_untracked();
                                if text.trim_start().starts_with('{') { wallet.import_file(text) } else { wallet.import(text, passphrase.get_untracked()) }
                            }>{t("wallet-import")}</button>
                        </details>
                    }.into_any(),
                    (Some(ks), false) => view! {
                        <h3>{t("wallet-builtin")} " " <code id="wallet-address">{ks.address.clone()}</code></h3>
                        <div class="search">
                            <input type="password" id="wallet-unlock-passphrase" placeholder=t("passphrase")
                                on:input=move |ev| set_passphrase.set(event_target_value(&ev)) />
                            <button id="wallet-unlock" disabled=move || wallet.busy.get()
                                on:click=move |_| wallet.unlock(passphrase.get_untracked())>{t("wallet-unlock")}</button>
                        </div>
                    }.into_any(),
                    (Some(ks), true) => {
                        let export = ks.to_json();
                        view! {
                            <h3>{t("wallet-builtin")} " " <code id="wallet-address">{ks.address.clone()}</code> " " <span class="pill ok" id="wallet-unlocked">{t("wallet-unlocked")}</span></h3>
                            <div class="actions">
                                <button id="wallet-export" on:click=move |_| download_text("chiral-wallet.json", &export)>{t("wallet-export")}</button>
                                <button id="wallet-lock" on:click=move |_| wallet.lock()>{t("wallet-lock")}</button>
                            </div>
                        }.into_any()
                    }
                }}
                <div class="row">
                    <span class="label">{move || t("wallet-balance")}</span>
                    <span class="value" id="wallet-balance" data-wei=move || wallet.balance.get().map(|b| b.to_string()).unwrap_or_default()>
                        {move || wallet.balance.get().map(eth).unwrap_or_else(|| "—".into())}
                    </span>
                    <span></span>
                </div>
            </div>
            {has_injected.then(|| view! {
                <div class="card">
                    <h3>{move || t("wallet-browser")}</h3>
                    {move || match wallet.injected_account.get() {
                        None => view! { <button id="connect-injected" class="primary" on:click=move |_| wallet.connect_injected()>{t("wallet-connect-browser")}</button> }.into_any(),
                        Some(a) => view! {
                            <div><code id="injected-account">{a}</code></div>
                            <label class="check"><input type="checkbox" id="use-injected" prop:checked=move || wallet.use_injected.get()
                                on:change=move |ev| wallet.use_injected.set(event_target_checked(&ev)) />" " {t("wallet-use-browser")}</label>
                        }.into_any(),
                    }}
                </div>
            })}
            <div class="card">
                <h3>{move || t("wallet-price-title")}</h3>
                <p class="meta">{move || t("wallet-price-lede")}</p>
                <div class="search">
                    <input type="text" inputmode="decimal" id="price-per-mb" placeholder="0.001" prop:value=price_text
                        on:input=move |ev| set_price_text.set(event_target_value(&ev)) />
                    <button id="price-save" on:click=move |_| wallet.set_price_eth(&price_text.get_untracked())>{move || t("wallet-price-save")}</button>
                </div>
                <div class="meta" id="price-current" data-wei=move || wallet.price_wei.get().to_string()>{move || t_args("wallet-price-now", &[("price", eth(wallet.price_wei.get()).into())])}</div>
            </div>
            <crate::channels::ChannelsCard />
            <div class="card">
                <h3>{move || t("wallet-payments-made")}</h3>
                <table class="seeders" id="ledger">
                    <thead><tr><th>{move || t("col-file")}</th><th>{move || t("col-to")}</th><th>{move || t("col-amount")}</th><th>{move || t("col-state")}</th><th>{move || t("col-transaction")}</th></tr></thead>
                    <tbody>
                        {move || wallet.ledger.get().payments.into_iter().map(|p| view! {
                            <tr class="payment" data-id=p.id.clone() data-state=state_name(&p.state) data-tx=tx_of(&p.state) data-amount-wei=p.amount_wei.clone()>
                                <td><code>{short(&p.file)}</code></td>
                                <td><code>{short(&p.to)}</code></td>
                                <td>{eth(p.amount())}</td>
                                <td>{state_text(state_name(&p.state))}</td>
                                <td><code>{short(&tx_of(&p.state))}</code></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="card">
                <h3>{move || t("wallet-earnings")} " " <span id="earnings-total" data-wei=move || total_earned().to_string()>{move || eth(total_earned())}</span></h3>
                <ul class="receipts">
                    {move || wallet.earnings.get().into_iter().map(|settle::Earning { tx: hash, from, wei, block, .. }| view! {
                        <li class="earning">{eth(wei)} " " {t("wallet-from")} " " <code>{short(&from)}</code> " · " {t_args("wallet-block", &[("block", block.to_string().into())])} " · " {t("pay-tx")} " " <code>{short(&hash)}</code></li>
                    }).collect_view()}
                </ul>
            </div>
        </section>
    }
}
