//! Headless Debian Chromium driven over WebDriver (chromedriver), on the test's loopback
//! or inside a network namespace ([`crate::netns`]).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::{free_port, netns, Guarded};

/// Headless Debian Chromium driven over WebDriver (chromedriver on an ephemeral port).
pub struct Browser {
    pub client: fantoccini::Client,
    _driver: Guarded,
    _profile: tempfile::TempDir,
    /// The loopback forward to a chromedriver inside a network namespace.
    _forward: Option<netns::Forward>,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_prefs(serde_json::json!({})).await
    }

    /// A browser whose user prefers language `lang` (a BCP 47 tag such as `ko`): Chromium
    /// runs with `--lang` and the `intl.accept_languages` preference, so the page sees it
    /// first in `navigator.languages`.
    pub async fn start_in_language(lang: &str) -> anyhow::Result<Self> {
        let prefs = serde_json::json!({ "intl.accept_languages": lang });
        Self::start_with(prefs, None, &[format!("--lang={lang}")]).await
    }

    /// A browser whose Chromium (and chromedriver) run inside network namespace `ns`,
    /// driven through a loopback forward ([`netns::forward_into`]). `origin` (the relay's
    /// `http://IP:PORT`) is treated as secure, as it would be behind the TLS a public relay
    /// has: Web Crypto and OPFS need a secure context, which plain http only is on loopback.
    pub async fn start_in_netns(ns: &netns::Netns, origin: &str) -> anyhow::Result<Self> {
        Self::start_with(serde_json::json!({}), Some((ns, origin)), &[]).await
    }

    /// A browser whose downloads (the page's "Save file") land in `dir` without asking.
    pub async fn start_saving_to(dir: &Path) -> anyhow::Result<Self> {
        Self::start_with_prefs(serde_json::json!({
            "download.default_directory": dir.display().to_string(),
            "download.prompt_for_download": false,
            "download.directory_upgrade": true,
        }))
        .await
    }

    async fn start_with_prefs(prefs: serde_json::Value) -> anyhow::Result<Self> {
        Self::start_with(prefs, None, &[]).await
    }

    /// `extra_args`: Chromium flags besides the usual ones.
    async fn start_with(prefs: serde_json::Value, netns: Option<(&netns::Netns, &str)>, extra_args: &[String]) -> anyhow::Result<Self> {
        let ns = netns.map(|(ns, _)| ns);
        // In a namespace of its own chromedriver has the whole port space; the test reaches it
        // through a forward on its own loopback.
        let (driver_port, port) = match ns {
            Some(_) => (9515, 0),
            None => {
                let p = free_port()?;
                (p, p)
            }
        };
        let mut command = match ns {
            Some(ns) => ns.command("chromedriver"),
            None => Command::new("chromedriver"),
        };
        let driver = Guarded::spawn(command.arg(format!("--port={driver_port}")).stdout(Stdio::null()).stderr(Stdio::null()))?;
        let forward = ns.map(|ns| netns::forward_into(ns, driver_port)).transpose()?;
        let port = forward.as_ref().map_or(port, |f| f.port);
        let profile = tempfile::tempdir()?;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "prefs": prefs,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    // Plain-IP host candidates (not *.local mDNS names) so separate headless
                    // Chromiums reach each other over WebRTC without STUN.
                    "--disable-features=WebRtcHideLocalIpsWithMdns",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        if let Some(args) = caps["goog:chromeOptions"]["args"].as_array_mut() {
            if let Some((_, origin)) = netns {
                args.push(format!("--unsafely-treat-insecure-origin-as-secure={origin}").into());
            }
            args.extend(extra_args.iter().map(|a| serde_json::Value::from(a.as_str())));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let attempt = fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match attempt {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => bail!("chromedriver/chromium did not start: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Ok(Self { client, _driver: driver, _profile: profile, _forward: forward })
    }

    /// Polls `js` (a function body returning a value) until it returns non-null.
    pub async fn wait_for(&self, js: &str, timeout: Duration) -> anyhow::Result<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.client.execute(js, vec![]).await?;
            if !v.is_null() {
                return Ok(v);
            }
            if Instant::now() > deadline {
                bail!("timed out after {timeout:?} waiting for: {js}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await?;
        Ok(())
    }
}
