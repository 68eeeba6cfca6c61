//! Harness for end-to-end tests and benchmarks: starts real processes (the relay binary,
//! chromedriver + Debian's Chromium) on 127.0.0.1 with OS-chosen ports, and stops every
//! one of them on drop, tests passing or failing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub mod amule;
pub mod anvil;
mod browser;
pub mod dht_sim;
pub mod netns;
pub mod wallet_pages;

pub use anvil::Anvil;
pub use browser::Browser;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

/// The relay binary the test command built (`CHIRAL_RELAY_BIN` overrides).
pub fn relay_bin() -> PathBuf {
    if let Ok(p) = std::env::var("CHIRAL_RELAY_BIN") {
        return p.into();
    }
    let p = workspace_root().join("target/debug/relay");
    assert!(p.exists(), "{} is missing: run `cargo build -p relay` (scripts/test.sh does)", p.display());
    p
}

/// A child process in its own process group, killed with everything it started.
pub struct Guarded(Child);

impl Guarded {
    pub fn spawn(cmd: &mut Command) -> anyhow::Result<Self> {
        let child = cmd.process_group(0).spawn().with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
        Ok(Self(child))
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.0
    }

    /// SIGKILL to the whole group, no grace (a crash, a power cut), and reaps it.
    pub fn kill_now(&mut self) {
        let pgid = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &pgid]).stderr(Stdio::null()).status();
        let _ = self.0.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &pgid]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &pgid]).stderr(Stdio::null()).status();
        let _ = self.0.wait();
    }
}

/// A relay process on ephemeral ports, serving the built app (`www/` with `www/pkg`).
/// [`Relay::kill`] and [`Relay::restart`] crash it and bring it back on the same addresses
/// with the same data dir (so the same PeerId), as a community relay's supervisor would.
pub struct Relay {
    pub url: String,
    pub data_dir: PathBuf,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Where the current process's output starts in `lines` (0 until a restart).
    since: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    www: PathBuf,
    args: Vec<String>,
    /// The addresses the killed process listened on: (HTTP, libp2p, BitTorrent).
    listened: Option<(String, Vec<String>, String)>,
    /// The network namespace it runs in ([`Relay::start_in_netns`]).
    netns: Option<String>,
    process: Guarded,
    _data: Option<tempfile::TempDir>,
}

impl Relay {
    pub fn start() -> anyhow::Result<Self> {
        let www = workspace_root().join("www");
        if !www.join("pkg/chiral_ui_bg.wasm").exists() {
            bail!("the page is not built: run scripts/build-wasm.sh (scripts/test.sh does)");
        }
        Self::start_with(&www, None, &[])
    }

    pub fn start_with_www(www: &Path) -> anyhow::Result<Self> {
        Self::start_with(www, None, &[])
    }

    /// `data_dir`: keep state across restarts (a temporary one otherwise); `args`: extra
    /// flags or a subcommand prefix (e.g. `["seed", FILE]`).
    pub fn start_with(www: &Path, data_dir: Option<&Path>, args: &[&str]) -> anyhow::Result<Self> {
        let temp = if data_dir.is_none() { Some(tempfile::tempdir()?) } else { None };
        let data_dir = data_dir.map(Path::to_path_buf).unwrap_or_else(|| temp.as_ref().unwrap().path().to_path_buf());
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let since = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let process = Self::spawn(www, &data_dir, &args, None, None, &lines)?;
        let mut relay = Self { url: String::new(), data_dir, lines, since, www: www.to_path_buf(), args, listened: None, netns: None, process, _data: temp };
        relay.url = relay.wait_for_line("relay listening on ", Duration::from_secs(60))?;
        Ok(relay)
    }

    /// A relay inside network namespace `ns` on `ip` (HTTP 8080, libp2p TCP 4001 and
    /// WebSocket 4002, BitTorrent 6881), serving the workspace's built app; `args`: extra flags.
    pub fn start_in_netns(ns: &netns::Netns, ip: &str, args: &[&str]) -> anyhow::Result<Self> {
        let www = workspace_root().join("www");
        let temp = tempfile::tempdir()?;
        let data_dir = temp.path().to_path_buf();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let since = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let listen = (format!("{ip}:8080"), vec![format!("/ip4/{ip}/tcp/4001"), format!("/ip4/{ip}/tcp/4002/ws")], format!("{ip}:6881"));
        let process = Self::spawn(&www, &data_dir, &args, Some(&listen), Some(&ns.name), &lines)?;
        let mut relay = Self { url: String::new(), data_dir, lines, since, www, args, listened: None, netns: Some(ns.name.clone()), process, _data: Some(temp) };
        relay.url = relay.wait_for_line("relay listening on ", Duration::from_secs(60))?;
        Ok(relay)
    }

    /// Starts the relay binary; `listen`: (HTTP, libp2p, BitTorrent) addresses to take again;
    /// `netns`: the network namespace to run it in.
    fn spawn(www: &Path, data_dir: &Path, args: &[String], listen: Option<&(String, Vec<String>, String)>, netns: Option<&str>, lines: &std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> anyhow::Result<Guarded> {
        // No mainline DHT (its default is the public routers) unless a test sets one up.
        let dht: &[&str] = if args.iter().any(|a| a == "--dht-listen") { &[] } else { &["--no-dht"] };
        // eD2k on a port of its own (its default, 4662, is one port for every relay on 127.0.0.1).
        let ed2k: &[&str] = if netns.is_some() || args.iter().any(|a| a == "--ed2k-listen" || a == "--no-ed2k") { &[] } else { &["--ed2k-listen", "127.0.0.1:0"] };
        let (http, p2p, bt) = match listen {
            Some((http, p2p, bt)) => (http.clone(), p2p.join(","), bt.clone()),
            None => ("127.0.0.1:0".into(), "/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/tcp/0/ws".into(), "127.0.0.1:0".into()),
        };
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(relay_bin());
                c
            }
            None => Command::new(relay_bin()),
        };
        let mut process = Guarded::spawn(
            command
                .args(args)
                .args(dht)
                .args(ed2k)
                .args(["--listen", &http, "--p2p-listen", &p2p, "--bt-listen", &bt, "--www"])
                .arg(www)
                .arg("--data-dir")
                .arg(data_dir)
                .env("RUST_LOG", std::env::var("CHIRAL_RELAY_LOG").unwrap_or_else(|_| "warn".into()))
                .stdout(Stdio::piped()),
        )?;
        let stdout = process.child().stdout.take().context("relay stdout")?;
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Ok(process)
    }

    /// Kills the relay with SIGKILL (no shutdown of any kind), remembering the addresses it
    /// listened on for [`Relay::restart`].
    pub fn kill(&mut self) -> anyhow::Result<()> {
        let http = self.url.strip_prefix("http://").context("the relay's URL is not http://")?.to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        let p2p = loop {
            let found: Vec<String> =
                self.current_lines().iter().filter_map(|l| l.strip_prefix("p2p listening on ")).map(|a| a.split("/p2p/").next().unwrap_or(a).to_string()).collect();
            if found.iter().any(|a| a.ends_with("/ws")) && found.iter().any(|a| !a.ends_with("/ws")) {
                break found;
            }
            anyhow::ensure!(Instant::now() < deadline, "the relay did not report its libp2p listen addresses");
            std::thread::sleep(Duration::from_millis(20));
        };
        let bt = self.current_lines().iter().find_map(|l| l.strip_prefix("bittorrent listening on ")).unwrap_or("127.0.0.1:0").to_string();
        self.process.kill_now();
        self.listened = Some((http, p2p, bt));
        Ok(())
    }

    /// Starts the relay killed by [`Relay::kill`] again: same flags, data dir (so PeerId)
    /// and addresses (HTTP, libp2p TCP and WebSocket, BitTorrent). Returns once it serves.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        let listen = self.listened.take().context("restart() comes after kill()")?;
        self.since.store(self.lines.lock().unwrap().len(), std::sync::atomic::Ordering::SeqCst);
        self.process = Self::spawn(&self.www, &self.data_dir, &self.args, Some(&listen), self.netns.as_deref(), &self.lines)?;
        let url = self.wait_for_line("relay listening on ", Duration::from_secs(60))?;
        anyhow::ensure!(url == self.url, "the relay came back on {url}, not {}", self.url);
        Ok(())
    }

    /// The lines the current process printed (after the last restart).
    fn current_lines(&self) -> Vec<String> {
        let since = self.since.load(std::sync::atomic::Ordering::SeqCst);
        self.lines.lock().unwrap().get(since..).map(<[String]>::to_vec).unwrap_or_default()
    }

    /// The rest of the first stdout line (of the current process) starting with `prefix`,
    /// waiting for it.
    pub fn wait_for_line(&self, prefix: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(rest) = self.current_lines().iter().find_map(|l| l.strip_prefix(prefix)) {
                return Ok(rest.to_string());
            }
            if Instant::now() > deadline {
                bail!("the relay did not print `{prefix}…` within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stdout line the relay printed so far.
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The relay's TCP multiaddr (with /p2p/), for other relays to bootstrap from.
    pub fn tcp_multiaddr(&self) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self
                .current_lines()
                .iter()
                .filter_map(|l| l.strip_prefix("p2p listening on "))
                .find(|a| !a.contains("/ws/"))
                .map(str::to_string);
            if let Some(a) = found {
                return Ok(a);
            }
            if Instant::now() > deadline {
                bail!("the relay reported no TCP listen address");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET path` → JSON.
    pub fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let (status, body) = http_get(&format!("{}{path}", self.url))?;
        if status != 200 {
            bail!("GET {path}: {status} {body}");
        }
        Ok(serde_json::from_str(&body)?)
    }
}

/// Minimal HTTP/1.1 GET for tests (no client library needed for loopback JSON).
pub fn http_get(url: &str) -> anyhow::Result<(u16, String)> {
    use std::io::Read;
    let rest = url.strip_prefix("http://").context("http:// URLs only")?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("bad HTTP response")?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    Ok((status, body))
}

/// `relay manifest FILE ARGS…` → its JSON.
pub fn relay_manifest(file: &Path, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let out = Command::new(relay_bin()).arg("manifest").arg(file).args(args).output()?;
    if !out.status.success() {
        bail!("relay manifest failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Writes `size` pseudo-random bytes (deterministic per seed) without holding them in memory.
pub fn write_test_file(path: &Path, size: u64, seed: u32) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut x = seed | 1;
    let mut block = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = (x >> 7) as u8;
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

/// Runs a command and returns its stdout, failing with its stderr.
pub fn run_tool(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run {:?} (is it installed?)", cmd.get_program()))?;
    if !out.status.success() {
        bail!("{:?} failed: {}{}", cmd.get_program(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A `www` directory for tests that mix our page with the real WebTorrent client: symlinks
/// to every entry of the built `www/` (so `/` is our app), plus `webtorrent.min.js` and the
/// test pages `webtorrent-peer.html`, `webtorrent-download.html` and `webtorrent-liar.html`
/// beside it, so every page announces to the same relay's `/announce`.
pub fn mixed_www() -> anyhow::Result<tempfile::TempDir> {
    let root = workspace_root();
    let www = root.join("www");
    if !www.join("pkg/chiral_ui_bg.wasm").exists() {
        bail!("the page is not built ({} is missing): run scripts/build-wasm.sh (scripts/test.sh does)", www.join("pkg").display());
    }
    let dist = root.join("tests/node_modules/webtorrent/dist/webtorrent.min.js");
    if !dist.exists() {
        bail!("WebTorrent is not installed ({} is missing): run scripts/setup.sh test", dist.display());
    }
    let pages = ["webtorrent-peer.html", "webtorrent-download.html", "webtorrent-liar.html"];
    let dir = tempfile::tempdir()?;
    for entry in std::fs::read_dir(&www)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "webtorrent.min.js" || pages.iter().any(|p| name == *p) {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), dir.path().join(&name))
            .with_context(|| format!("cannot link {}", entry.path().display()))?;
    }
    std::fs::copy(&dist, dir.path().join("webtorrent.min.js"))?;
    for page in pages {
        let src = root.join("tests/pages").join(page);
        std::fs::copy(&src, dir.path().join(page)).with_context(|| format!("cannot copy {}", src.display()))?;
    }
    Ok(dir)
}

/// Every file under `dir`: its path below `dir` ('/'-joined) → SHA-256.
pub fn tree(dir: &Path) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir)?.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
                out.insert(rel, sha256_file(&path)?);
            }
        }
    }
    Ok(out)
}

/// aria2 downloads `magnet` into `out`, finding peers only at the HTTP `tracker` (no DHT,
/// LPD or PEX) on 127.0.0.1, and stops once complete; fails with aria2's log.
pub async fn aria2_fetch_magnet(magnet: &str, tracker: &str, out: &Path) -> anyhow::Result<()> {
    let (magnet, tracker, out) = (magnet.to_string(), tracker.to_string(), out.to_path_buf());
    let result = tokio::task::spawn_blocking(move || {
        Command::new("aria2c")
            .args(["--seed-time=0", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false"])
            .args(["--bt-stop-timeout=60", "--summary-interval=0", "--console-log-level=warn", "--bt-save-metadata=false"])
            .arg(format!("--bt-tracker={tracker}"))
            .arg("--interface=127.0.0.1")
            .arg("-d")
            .arg(&out)
            .arg(&magnet)
            .output()
    })
    .await??;
    if !result.status.success() {
        bail!("aria2 failed:\n{}{}", String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    }
    Ok(())
}

/// SHA-256 of a file, hex, read in 1 MiB chunks.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// JavaScript's `encodeURIComponent` (UTF-8, everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`).
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the Share view shows for a file once hashed and seeding.
#[derive(Debug, Clone)]
pub struct Shared {
    pub magnet: String,
    pub cid: String,
    pub infohash: String,
}

/// Opens our app, chooses `file` in the Share view and waits until it is hashed
/// (`#share[data-state=done]`, within `timeout`) and seeding (`#seed-state[data-state=seeding]`).
pub async fn share_file(browser: &Browser, relay: &Relay, file: &Path, timeout: Duration) -> anyhow::Result<Shared> {
    browser.client.goto(&relay.url).await?;
    browser.wait_for("return document.querySelector('#file-input') ? true : null;", Duration::from_secs(60)).await.context("our app did not boot")?;
    let path = file.to_str().context("the test file's path is not UTF-8")?;
    browser.client.find(fantoccini::Locator::Css("#file-input")).await?.send_keys(path).await?;
    let state = browser
        .wait_for(
            "const s = document.querySelector('#share'); \
             return s && (s.dataset.state === 'done' || s.dataset.state === 'error') ? s.dataset.state : null;",
            timeout,
        )
        .await
        .context("the Share view did not finish hashing")?;
    let text = |id: &'static str| async move {
        let v = browser.client.execute(&format!("const e = document.getElementById('{id}'); return e ? e.textContent : null;"), vec![]).await?;
        anyhow::Ok(v.as_str().unwrap_or_default().trim().to_string())
    };
    if state != "done" {
        bail!("the Share view failed: {}", text("error").await.unwrap_or_default());
    }
    let shared = Shared { magnet: text("magnet").await?, cid: text("cid").await?, infohash: text("infohash").await?.to_lowercase() };
    if !shared.magnet.starts_with("magnet:?") {
        bail!("#magnet does not hold a magnet URI: {:?}", shared.magnet);
    }
    let seeding = browser
        .wait_for(
            "const s = document.querySelector('#seed-state'); return s && s.dataset.state === 'seeding' ? true : null;",
            Duration::from_secs(60),
        )
        .await;
    if let Err(e) = seeding {
        let html = outer_html(browser, "#seed-state").await;
        bail!("the page never started seeding: {e}\n#seed-state: {html}");
    }
    Ok(shared)
}

/// Opens our app's Download view (`location.hash = '#download'`).
pub async fn open_download(browser: &Browser, relay: &Relay) -> anyhow::Result<()> {
    browser.client.goto(&relay.url).await?;
    browser.wait_for("return document.querySelector('#file-input') ? true : null;", Duration::from_secs(60)).await.context("our app did not boot")?;
    browser.client.execute("location.hash = '#download'; return true;", vec![]).await?;
    browser
        .wait_for("return document.querySelector('#download-input') && document.querySelector('#download-button') ? true : null;", Duration::from_secs(30))
        .await
        .context("the Download view has no #download-input / #download-button")?;
    Ok(())
}

/// Records when transfers enter each state, relative to now (`performance.now()` ms):
/// `window.__transferTimes = { t0, states: { STATE: ms }, sha256: ms }`.
const TRANSFER_TIMER: &str = "const times = { t0: performance.now(), states: {}, sha256: null }; \
    window.__transferTimes = times; \
    const look = () => { \
      const now = performance.now(); \
      for (const t of document.querySelectorAll('#transfers .transfer')) { \
        const s = t.dataset.state; \
        if (s && times.states[s] == null) times.states[s] = now; \
        if (t.dataset.sha256 && times.sha256 == null) times.sha256 = now; \
      } \
    }; \
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true }); \
    return true;";

/// Types `source` (a magnet or CID) into the Download view and clicks download. Starts
/// `window.__transferTimes` just before the click.
pub async fn start_download(browser: &Browser, source: &str) -> anyhow::Result<()> {
    browser.client.find(fantoccini::Locator::Css("#download-input")).await?.send_keys(source).await?;
    browser.client.execute(TRANSFER_TIMER, vec![]).await?;
    browser.client.find(fantoccini::Locator::Css("#download-button")).await?.click().await?;
    Ok(())
}

/// A `.transfer` element's attributes once it finished (or failed).
#[derive(Debug, Clone)]
pub struct Transfer {
    pub state: String,
    pub infohash: String,
    pub sha256: String,
    pub have: Option<u64>,
    pub pieces: Option<u64>,
    pub banned: Option<u64>,
    pub failed_pieces: Option<u64>,
    pub downloaded: Option<u64>,
    pub error: String,
    /// The element's outerHTML, for assertion messages.
    pub html: String,
}

/// Waits until the `.transfer` for `infohash` (hex; any transfer when `None`) is `complete`
/// or `seeding` with `data-sha256` set. Fails on `data-state=error` or on timeout, with
/// the transfer's outerHTML in the message.
pub async fn wait_for_transfer(browser: &Browser, infohash: Option<&str>, timeout: Duration) -> anyhow::Result<Transfer> {
    let wanted = serde_json::to_string(&infohash.map(str::to_lowercase))?;
    let js = format!(
        "const ih = {wanted}; \
         const all = [...document.querySelectorAll('#transfers .transfer')]; \
         const t = ih ? all.find(e => (e.dataset.infohash || '').toLowerCase() === ih) : all[0]; \
         if (!t) return null; \
         const d = t.dataset; \
         if (d.state !== 'error' && !((d.state === 'complete' || d.state === 'seeding') && d.sha256)) return null; \
         return {{ state: d.state, infohash: d.infohash || '', sha256: d.sha256 || '', have: d.have ?? null, \
                  pieces: d.pieces ?? null, banned: d.banned ?? null, failed: d.failedPieces ?? null, \
                  downloaded: d.downloaded ?? null, error: d.error || '', html: t.outerHTML }};"
    );
    let v = match browser.wait_for(&js, timeout).await {
        Ok(v) => v,
        Err(e) => {
            let html = outer_html(browser, "#transfers").await;
            bail!("the download did not finish: {e}\n#transfers: {html}");
        }
    };
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let n = |k: &str| v[k].as_str().and_then(|x| x.trim().parse().ok()).or_else(|| v[k].as_u64());
    let transfer = Transfer {
        state: s("state"),
        infohash: s("infohash").to_lowercase(),
        sha256: s("sha256").to_lowercase(),
        have: n("have"),
        pieces: n("pieces"),
        banned: n("banned"),
        failed_pieces: n("failed"),
        downloaded: n("downloaded"),
        error: s("error"),
        html: s("html"),
    };
    if transfer.state == "error" {
        bail!("the download failed: {}\n{}", transfer.error, transfer.html);
    }
    Ok(transfer)
}

/// The outerHTML of the first element matching `selector` (or a note that there is none).
pub async fn outer_html(browser: &Browser, selector: &str) -> String {
    let js = format!("const e = document.querySelector({}); return e ? e.outerHTML : '(no element)';", serde_json::json!(selector));
    match browser.client.execute(&js, vec![]).await {
        Ok(v) => v.as_str().unwrap_or_default().to_string(),
        Err(e) => format!("(cannot read it: {e})"),
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}


/// Minimal HTTP/1.1 POST of a JSON body for tests; returns status and body.
pub fn http_post_json(url: &str, body: &str) -> anyhow::Result<(u16, String)> {
    use std::io::Read;
    let rest = url.strip_prefix("http://").context("http:// URLs only")?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body.as_bytes())?;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("bad HTTP response")?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    Ok((status, body))
}

/// A JSON-RPC call through `url`; the whole response object.
pub fn json_rpc(url: &str, method: &str, params: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let (_, text) = http_post_json(url, &body)?;
    Ok(serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))?)
}

