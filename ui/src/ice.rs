//! The page's ICE servers: the relay's (`GET /api/ice`: its STUN and TURN, with a TURN
//! credential fetched again before it expires) and the user's own (settings, kept in
//! localStorage), merged ([`web_node::ice`]) and handed to every new peer connection.

use std::time::Duration;

use leptos::prelude::*;

use crate::i18n::{t, t_args};
use leptos::task::spawn_local;
use web_node::browser::rtc;
use web_node::ice::{self, IceConfig, IceServer};

const STORAGE_KEY: &str = "chiral.ice_servers";

/// What the Network view shows and edits.
#[derive(Clone, Copy)]
pub struct Ice {
    /// The relay's servers, once fetched (empty: the relay runs none).
    pub relay: RwSignal<Option<Vec<IceServer>>>,
    pub relay_error: RwSignal<Option<String>>,
    /// The user's lines, as typed.
    pub user_text: RwSignal<String>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

impl Ice {
    pub fn new() -> Self {
        let text = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()).unwrap_or_default();
        Self { relay: RwSignal::new(None), relay_error: RwSignal::new(None), user_text: RwSignal::new(text) }
    }

    /// Gives peer connections the merged list (user lines that do not parse are left out;
    /// the settings card says why).
    fn apply(&self) {
        let user = ice::parse_user_servers(&self.user_text.get_untracked()).unwrap_or_default();
        rtc::set_ice_servers(ice::merge(&self.relay.get_untracked().unwrap_or_default(), &user));
    }

    /// Fetches the relay's servers now and again before each credential expires.
    pub fn start(self) {
        self.apply();
        spawn_local(async move {
            loop {
                let wait = match crate::network::fetch_text("/api/ice").await.and_then(|t| IceConfig::from_json(t.as_bytes()).map_err(|e| e.to_string())) {
                    Ok(config) => {
                        let wait = config.refresh_in(now_secs());
                        self.relay.set(Some(config.ice_servers));
                        self.relay_error.set(None);
                        self.apply();
                        wait
                    }
                    Err(e) => {
                        self.relay_error.set(Some(e));
                        30
                    }
                };
                rtc::ice_settled();
                crate::network::sleep(Duration::from_secs(wait)).await;
            }
        });
    }

    /// Checks and keeps the user's lines; applied to new connections at once.
    pub fn save_user(&self, text: String) -> Result<usize, String> {
        let servers = ice::parse_user_servers(&text).map_err(|e| e.to_string())?;
        if let Some(s) = storage() {
            s.set_item(STORAGE_KEY, &text).map_err(|_| "the browser refused to store the setting".to_string())?;
        }
        self.user_text.set(text);
        self.apply();
        Ok(servers.len())
    }
}

impl Default for Ice {
    fn default() -> Self {
        Self::new()
    }
}

fn describe(servers: &[IceServer]) -> String {
    let kinds: Vec<&str> = servers
        .iter()
        .flat_map(|s| s.urls.iter())
        .map(|u| if u.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("turn")) { "TURN" } else { "STUN" })
        .collect();
    if kinds.is_empty() {
        t("ice-none")
    } else {
        let mut unique = kinds.clone();
        unique.dedup();
        unique.join(" + ")
    }
}

/// The Network view's NAT traversal card: what the relay gives, and the user's own servers.
#[component]
pub fn IceCard() -> impl IntoView {
    let ice = expect_context::<Ice>();
    let draft = RwSignal::new(ice.user_text.get_untracked());
    let (message, set_message) = signal(None::<Result<usize, String>>);
    let save = move |_| {
        set_message.set(Some(ice.save_user(draft.get_untracked())));
    };
    view! {
        <div class="card ice" id="ice-card">
            <h2>{move || t("ice-title")}</h2>
            <p class="meta">{move || t("ice-lede")}</p>
            <p>
                {move || t("ice-from-relay")} " "
                <strong id="ice-relay" data-ready=move || ice.relay.get().is_some().to_string()>
                    {move || match (ice.relay.get(), ice.relay_error.get()) {
                        (Some(s), _) => describe(&s),
                        (None, Some(e)) => t_args("ice-unavailable", &[("error", e.into())]),
                        (None, None) => t("ice-asking"),
                    }}
                </strong>
            </p>
            <label for="ice-user">{move || t("ice-own-servers")} " " <code>"stun:HOST:PORT"</code> " " {move || t("ice-or")} " " <code>"turn:HOST:PORT USER PASSWORD"</code></label>
            <textarea id="ice-user" rows="3" spellcheck="false" prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
            <div class="actions">
                <button class="primary" id="ice-save" on:click=save>{move || t("save")}</button>
                {move || message.get().map(|m| match m {
                    Ok(n) => view! { <span class="ok">{move || t_args("ice-saved", &[("count", n.into())])}</span> }.into_any(),
                    Err(e) => view! { <span class="error" role="alert">{e}</span> }.into_any(),
                })}
            </div>
        </div>
    }
}
