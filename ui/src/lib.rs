//! Chiral's page: thin Leptos components over plain data from `web-node`.
//!
//! | module | what it is |
//! | --- | --- |
//! | [`share`] | the Share view: choose or drop a file, watch it hash, copy its links, publish it |
//! | [`download`] | the Download view: look a CID up in the DHT, see seeders by protocol |
//! | [`network`] | the page's libp2p node (started at load) and the Network view |
//! | [`player`] | play a transfer's audio or video while it downloads (the Service Worker's `/stream/…`) |
//! | [`dashboard`] | the Network view's dashboard: rate plot, peers per protocol, relay/DHT, the chain panel |
//! | [`transfers`] | every download and seed of this page, live: progress, rates, peers, save |
//! | [`channels`] | Style 2: the Wallet view's payment channels card (paying, paid by, close, idle close) |
//! | [`wallet`] | the Wallet view: built-in or browser wallet, price, payments, earnings; the payment box |
//! | [`library`] | what the page shares across reloads (IndexedDB + OPFS copies / file handles): resumed and republished at load |
//! | [`library_view`] | the Library view: shared and downloaded files, state, uploads, earnings, stop sharing |
//! | [`publish`] | this page's DHT record for a file it seeds |
//! | [`hashing`] | the data side of Share: one async fn over `web_node::browser` |
//! | [`i18n`] | the page's language: locales, Fluent messages, `t`/`t_args`, the switcher |
//! | [`units`] | human-readable sizes, rates, durations and dates in the page's language |
//! | [`clipboard`] | copy to the clipboard |

pub mod channels;
pub mod clipboard;
pub mod dashboard;
pub mod download;
pub mod ed2k_fetch;
pub mod folder;
pub mod hashing;
pub mod i18n;
pub mod ice;
pub mod library;
pub mod library_view;
pub mod network;
pub mod player;
pub mod publish;
pub mod share;
pub mod share_folder;
pub mod transfers;
pub mod units;
pub mod wallet;

use leptos::prelude::*;
use i18n::t;
use wasm_bindgen::prelude::wasm_bindgen;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Share,
    Download,
    Library,
    Wallet,
    Network,
}

impl View {
    fn from_hash(hash: &str) -> Self {
        match hash {
            "#download" => View::Download,
            "#library" => View::Library,
            "#network" => View::Network,
            "#wallet" => View::Wallet,
            _ => View::Share,
        }
    }
}

fn current_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

#[component]
pub fn App() -> impl IntoView {
    provide_context(i18n::I18n::new());
    // The tab's title follows the language too.
    Effect::new(move |_| {
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            d.set_title(&t("page-title"));
        }
    });
    let network = network::Network {
        node: RwSignal::new(None),
        status: RwSignal::new(None),
        keypair: StoredValue::new_local(None),
        start_error: RwSignal::new(None),
    };
    provide_context(network);
    network::start(network);
    let ice = ice::Ice::new();
    provide_context(ice);
    ice.start();
    let wallet = wallet::Wallet::new();
    provide_context(wallet);
    wallet.start();
    let channels = channels::Channels::new();
    provide_context(channels);
    channels.load_contract();
    if let Ok(handle) = set_interval_with_handle(move || channels.poll(), std::time::Duration::from_secs(3)) {
        on_cleanup(move || handle.clear());
    }
    let transfers = transfers::Transfers::new();
    provide_context(transfers);
    transfers.resume();
    provide_context(player::Streaming::start(transfers));
    provide_context(dashboard::RateHistory::start(transfers));
    let library = library::Library::new(transfers, network, wallet);
    provide_context(library);
    library.start();
    let (view, set_view) = signal(View::from_hash(&current_hash()));
    let _ = window_event_listener(leptos::ev::hashchange, move |_| set_view.set(View::from_hash(&current_hash())));
    // `key`: the label's message.
    let tab = move |target: View, href: &'static str, key: &'static str| {
        view! { <a href=href class:active=move || view.get() == target>{move || t(key)}</a> }
    };
    view! {
        <header class="top">
            <div class="brand"><span class="logo">"◐"</span>" Chiral"</div>
            <nav>
                {tab(View::Share, "#share", "nav-share")}
                {tab(View::Download, "#download", "nav-download")}
                {tab(View::Library, "#library", "nav-library")}
                {tab(View::Wallet, "#wallet", "nav-wallet")}
                {tab(View::Network, "#network", "nav-network")}
                <network::NetworkPill />
                <i18n::LocaleSwitcher />
            </nav>
        </header>
        <main>
            // Share stays mounted so a running hash or publication survives tab switches.
            <div class:hidden=move || view.get() != View::Share><share::Share /><share_folder::ShareFolder /></div>
            // Download stays mounted too: its transfer list is live while seeding.
            <div class:hidden=move || view.get() != View::Download><download::DownloadView /></div>
            <div class:hidden=move || view.get() != View::Library><library_view::LibraryView /></div>
            <div class:hidden=move || view.get() != View::Wallet><wallet::WalletView /></div>
            <Show when=move || view.get() == View::Network><network::NetworkView /></Show>
        </main>
        <footer>{move || t("footer")}</footer>
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
