//! The page's language: five locales, their Fluent messages (`ui/locales/*.ftl`, built into
//! the wasm), the user's choice, and `t`/`t_args` to look a message up.
//!
//! The choice is, in order: `localStorage["chiral.locale"]`, the first of
//! `navigator.languages` whose primary subtag is one of ours, English. [`I18n`] holds it in a
//! signal, provided as a context by `App`; [`t`] reads that signal, so a view closure that
//! calls it renders again when the user switches language. A message missing in a locale
//! falls back to English, then to its key.

use std::cell::{Cell, RefCell};

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
use leptos::prelude::*;
use unic_langid::LanguageIdentifier;

/// Where the user's choice is kept.
pub const STORAGE_KEY: &str = "chiral.locale";

/// A language the page is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    Es,
    Ru,
    Zh,
    Ko,
}

impl Locale {
    pub const ALL: [Locale; 5] = [Locale::En, Locale::Es, Locale::Ru, Locale::Zh, Locale::Ko];

    /// The BCP 47 tag (`html[lang]`, `Intl`, the stored choice, the `<option>` value).
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
            Locale::Ru => "ru",
            Locale::Zh => "zh",
            Locale::Ko => "ko",
        }
    }

    /// The language's name in itself, as the switcher shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Es => "Español",
            Locale::Ru => "Русский",
            Locale::Zh => "中文",
            Locale::Ko => "한국어",
        }
    }

    /// The locale of a language tag by its primary subtag (`es-MX` → Es, `zh-Hans-CN` → Zh).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.code() == primary)
    }

    fn source(self) -> &'static str {
        match self {
            Locale::En => include_str!("../locales/en.ftl"),
            Locale::Es => include_str!("../locales/es.ftl"),
            Locale::Ru => include_str!("../locales/ru.ftl"),
            Locale::Zh => include_str!("../locales/zh.ftl"),
            Locale::Ko => include_str!("../locales/ko.ftl"),
        }
    }
}

/// The page's current language, shared through context.
#[derive(Clone, Copy)]
pub struct I18n {
    pub locale: RwSignal<Locale>,
}

thread_local! {
    /// The page's one [`I18n`] signal, for code that runs outside the component tree
    /// (tasks, handlers) where contexts are not reachable.
    static CURRENT: Cell<Option<RwSignal<Locale>>> = const { Cell::new(None) };
    /// One bundle per locale, built on first use.
    static BUNDLES: RefCell<Vec<(Locale, FluentBundle<FluentResource>)>> = const { RefCell::new(Vec::new()) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The stored choice, else the browser's languages, else English.
fn initial() -> Locale {
    if let Some(l) = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()).and_then(|c| Locale::from_tag(&c)) {
        return l;
    }
    let languages = web_sys::window().map(|w| w.navigator().languages()).unwrap_or_else(js_sys::Array::new);
    languages.iter().filter_map(|v| v.as_string()).find_map(|tag| Locale::from_tag(&tag)).unwrap_or(Locale::En)
}

fn set_document_lang(locale: Locale) {
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", locale.code());
    }
}

impl I18n {
    /// The page's language as first chosen; `<html lang>` is set to it.
    pub fn new() -> Self {
        let locale = initial();
        set_document_lang(locale);
        let locale = RwSignal::new(locale);
        CURRENT.with(|c| c.set(Some(locale)));
        Self { locale }
    }

    /// Switches the page to `locale` and remembers the choice.
    pub fn choose(self, locale: Locale) {
        if let Some(s) = storage() {
            let _ = s.set_item(STORAGE_KEY, locale.code());
        }
        set_document_lang(locale);
        self.locale.set(locale);
    }
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

/// The current locale, tracked when read inside a reactive closure.
pub fn locale() -> Locale {
    CURRENT.with(Cell::get).and_then(|s| s.try_get()).unwrap_or(Locale::En)
}

fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(locale.source().to_string()).unwrap_or_else(|(partial, _)| partial);
    let id: LanguageIdentifier = locale.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new(vec![id]);
    bundle.set_use_isolating(false);
    // A duplicate message keeps the first; the key test keeps the files free of them.
    let _ = bundle.add_resource(resource);
    bundle
}

fn format(locale: Locale, key: &str, args: Option<&FluentArgs>) -> Option<String> {
    BUNDLES.with(|bundles| {
        let mut bundles = bundles.borrow_mut();
        if !bundles.iter().any(|(l, _)| *l == locale) {
            bundles.push((locale, bundle(locale)));
        }
        let (_, bundle) = bundles.iter().find(|(l, _)| *l == locale)?;
        let pattern = bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        Some(bundle.format_pattern(pattern, args, &mut errors).into_owned())
    })
}

fn lookup(key: &str, args: Option<&FluentArgs>) -> String {
    let locale = locale();
    format(locale, key, args).or_else(|| format(Locale::En, key, args)).unwrap_or_else(|| key.to_string())
}

/// The message `key` in the current language.
pub fn t(key: &str) -> String {
    lookup(key, None)
}

/// A Fluent variable: a number (plural selectors see it) or a text.
#[derive(Debug, Clone)]
pub enum Arg {
    Number(f64),
    Text(String),
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::Number(n as f64)
    }
}
impl From<u64> for Arg {
    fn from(n: u64) -> Self {
        Arg::Number(n as f64)
    }
}
impl From<u32> for Arg {
    fn from(n: u32) -> Self {
        Arg::Number(f64::from(n))
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}
impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

/// The message `key` in the current language with its variables filled in,
/// e.g. `t_args("tr-peers", &[("count", n.into())])`.
pub fn t_args(key: &str, args: &[(&str, Arg)]) -> String {
    let mut fluent = FluentArgs::new();
    for (name, value) in args {
        match value {
            Arg::Number(n) => fluent.set(*name, FluentValue::from(*n)),
            Arg::Text(s) => fluent.set(*name, FluentValue::from(s.clone())),
        }
    }
    lookup(key, Some(&fluent))
}

/// The header's language menu (`#locale`).
#[component]
pub fn LocaleSwitcher() -> impl IntoView {
    let i18n = expect_context::<I18n>();
    view! {
        <select id="locale" title=move || t("locale-title") on:change=move |ev| {
            if let Some(l) = Locale::from_tag(&event_target_value(&ev)) {
                i18n.choose(l);
            }
        }>
            {Locale::ALL.into_iter().map(|l| view! {
                <option value=l.code() selected=move || i18n.locale.get() == l>{l.native_name()}</option>
            }).collect_view()}
        </select>
    }
}
