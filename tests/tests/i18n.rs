//! The page in five languages, in headless Chromium: the header's switcher (`#locale`)
//! re-renders every view without a reload, the choice survives a reload, a browser that
//! prefers Korean gets Korean on its first visit, and no raw message key ever shows.
//! Expected texts are read from `ui/locales/*.ftl`. With `CHIRAL_SCREENSHOT_DIR` set, a PNG
//! per view per locale is saved there.

use std::collections::BTreeMap;
use std::time::Duration;

use chiral_e2e::{workspace_root, Browser, Relay};
use fluent_syntax::ast::{Entry, PatternElement};
use serde_json::json;

const LOCALES: [&str; 5] = ["en", "es", "ru", "zh", "ko"];

/// Each view: its hash, the element that holds it, and the message of its heading.
const VIEWS: [(&str, &str, &str); 5] = [
    ("#share", "#share h1", "share-title"),
    ("#download", "#download-view h1", "dl-title"),
    ("#library", "#library h1", "lib-title"),
    ("#wallet", "#wallet-view h1", "wallet-title"),
    ("#network", "#network-view h1", "net-title"),
];
const NAV: [&str; 5] = ["nav-share", "nav-download", "nav-library", "nav-wallet", "nav-network"];

/// A locale's plain messages (those without variables or selectors), by key.
fn messages(locale: &str) -> BTreeMap<String, String> {
    let path = workspace_root().join(format!("ui/locales/{locale}.ftl"));
    let source = std::fs::read_to_string(&path).unwrap();
    let resource = fluent_syntax::parser::parse(source.as_str()).unwrap_or_else(|(_, e)| panic!("{}: {e:?}", path.display()));
    let mut out = BTreeMap::new();
    for entry in resource.body {
        if let Entry::Message(m) = entry {
            let Some(value) = m.value else { continue };
            let text: Option<String> = value
                .elements
                .iter()
                .map(|e| match e {
                    PatternElement::TextElement { value } => Some(value.to_string()),
                    PatternElement::Placeable { .. } => None,
                })
                .collect();
            if let Some(text) = text {
                out.insert(m.id.name.to_string(), text);
            }
        }
    }
    out
}

async fn js(browser: &Browser, script: &str) -> anyhow::Result<serde_json::Value> {
    Ok(browser.client.execute(script, vec![]).await?)
}

async fn open(browser: &Browser, url: &str) -> anyhow::Result<()> {
    browser.client.goto(url).await?;
    browser.wait_for("return document.querySelector('#locale') && document.querySelector('header nav a') ? true : null;", Duration::from_secs(30)).await?;
    Ok(())
}

/// Chooses `locale` in the header's menu, as a user does.
async fn choose(browser: &Browser, locale: &str) -> anyhow::Result<()> {
    js(
        browser,
        &format!("const s = document.getElementById('locale'); s.value = '{locale}'; s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;"),
    )
    .await?;
    Ok(())
}

/// Every text node, placeholder and title in the body that is exactly a message key.
async fn raw_keys(browser: &Browser, keys: &[String]) -> anyhow::Result<serde_json::Value> {
    let script = "const keys = new Set(arguments[0]); const found = []; \
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT); \
        while (walker.nextNode()) { const t = walker.currentNode.textContent.trim(); if (keys.has(t)) found.push(t); } \
        for (const e of document.body.querySelectorAll('[placeholder], [title]')) { \
          for (const a of ['placeholder', 'title']) { const v = e.getAttribute(a); if (v && keys.has(v.trim())) found.push(a + '=' + v); } } \
        if (keys.has(document.title)) found.push('document.title=' + document.title); \
        return found;";
    Ok(browser.client.execute(script, vec![json!(keys)]).await?)
}

/// Checks the page is wholly in `locale`: `<html lang>`, the menu, the nav labels and each
/// view's heading; no raw key anywhere. Saves screenshots when asked.
async fn check_locale(browser: &Browser, locale: &str, keys: &[String]) -> anyhow::Result<()> {
    let want = messages(locale);
    let lang = browser.wait_for(&format!("return document.documentElement.lang === '{locale}' ? true : null;"), Duration::from_secs(10)).await;
    anyhow::ensure!(lang.is_ok(), "{locale}: <html lang> is {}", js(browser, "return document.documentElement.lang;").await?);
    assert_eq!(js(browser, "return document.getElementById('locale').value;").await?, json!(locale), "the menu shows the locale");
    let nav: Vec<&str> = NAV.iter().map(|k| want[*k].as_str()).collect();
    let shown = browser
        .wait_for(
            &format!("const n = [...document.querySelectorAll('header nav a')].map(a => a.textContent); return JSON.stringify(n) === '{}' ? n : null;", serde_json::to_string(&nav)?),
            Duration::from_secs(10),
        )
        .await;
    anyhow::ensure!(shown.is_ok(), "{locale}: nav shows {}, want {nav:?}", js(browser, "return [...document.querySelectorAll('header nav a')].map(a => a.textContent);").await?);
    assert_eq!(js(browser, "return document.title;").await?, json!(want["page-title"]), "{locale}: the tab's title");
    for (hash, heading, key) in VIEWS {
        js(browser, &format!("location.hash = '{hash}'; return true;")).await?;
        let expected = &want[key];
        let found = browser
            .wait_for(&format!("const h = document.querySelector('{heading}'); return h && h.offsetParent !== null && h.textContent === {} ? true : null;", json!(expected)), Duration::from_secs(10))
            .await;
        if found.is_err() {
            let got = js(browser, &format!("const h = document.querySelector('{heading}'); return h ? h.textContent : null;")).await?;
            anyhow::bail!("{locale} {hash}: heading is {got}, want {expected:?}");
        }
        let raw = raw_keys(browser, keys).await?;
        assert_eq!(raw, json!([]), "{locale} {hash}: raw message keys on the page");
        // Numbers go through Intl.NumberFormat, which writes an empty sum (-0.0) as "-0".
        let negative_zero = js(browser, "return document.body.innerText.match(/(^|[^\\w.,])-0(?![\\d.,])/g);").await?;
        assert_eq!(negative_zero, json!(null), "{locale} {hash}: a negative zero is shown");
        if let Ok(dir) = std::env::var("CHIRAL_SCREENSHOT_DIR") {
            let name = format!("i18n-{locale}-{}.png", &hash[1..]);
            std::fs::write(std::path::Path::new(&dir).join(name), browser.client.screenshot().await?)?;
        }
    }
    Ok(())
}

fn all_keys() -> Vec<String> {
    let path = workspace_root().join("ui/locales/en.ftl");
    let source = std::fs::read_to_string(path).unwrap();
    let resource = fluent_syntax::parser::parse(source.as_str()).unwrap_or_else(|(_, e)| panic!("en.ftl: {e:?}"));
    resource.body.iter().filter_map(|e| if let Entry::Message(m) = e { Some(m.id.name.to_string()) } else { None }).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_switcher_translates_every_view_and_the_choice_is_remembered() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let browser = Browser::start().await?;
    let keys = all_keys();
    open(&browser, &relay.url).await?;
    // A browser in English, with nothing stored: English.
    check_locale(&browser, "en", &keys).await?;
    for locale in LOCALES.into_iter().skip(1).chain(["en", "ko"]) {
        choose(&browser, locale).await?;
        check_locale(&browser, locale, &keys).await?;
    }
    // The switcher's choice is stored and outlives a reload.
    assert_eq!(js(&browser, "return localStorage.getItem('chiral.locale');").await?, json!("ko"));
    browser.client.refresh().await?;
    browser.wait_for("return document.querySelector('#locale') ? true : null;", Duration::from_secs(30)).await?;
    check_locale(&browser, "ko", &keys).await?;
    // A choice written to localStorage is taken at load.
    js(&browser, "localStorage.setItem('chiral.locale', 'ru'); return true;").await?;
    browser.client.refresh().await?;
    browser.wait_for("return document.querySelector('#locale') ? true : null;", Duration::from_secs(30)).await?;
    check_locale(&browser, "ru", &keys).await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_that_prefers_korean_gets_korean_first() -> anyhow::Result<()> {
    let relay = Relay::start()?;
    let browser = Browser::start_in_language("ko").await?;
    open(&browser, &relay.url).await?;
    let languages = js(&browser, "return navigator.languages;").await?;
    assert_eq!(languages[0].as_str().map(|l| l.split('-').next().unwrap_or_default()), Some("ko"), "navigator.languages: {languages}");
    assert_eq!(js(&browser, "return localStorage.getItem('chiral.locale');").await?, json!(null), "nothing stored yet");
    check_locale(&browser, "ko", &all_keys()).await?;
    browser.close().await
}
