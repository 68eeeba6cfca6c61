//! A simulated Internet in network namespaces, made and removed by the test that uses it.
//!
//! [`TwoHomes`]: an "Internet" namespace routing 198.18.0.0/15 (RFC 2544's benchmarking
//! range; the relay sits at 198.18.0.1 on its loopback), and two homes, each behind a NAT
//! namespace of its own:
//!
//! ```text
//!  home1 10.1.0.2 ─ 10.1.0.1 nat1 198.18.1.2 ─ 198.18.1.1 ┐
//!                                                          internet (relay 198.18.0.1)
//!  home2 10.2.0.2 ─ 10.2.0.1 nat2 198.18.2.2 ─ 198.18.2.1 ┘
//! ```
//!
//! Each NAT masquerades its home (nftables, so Linux conntrack: endpoint-independent
//! mapping, address-and-port-dependent filtering, like most home routers) and silently
//! drops unsolicited inbound traffic, before conntrack records it (otherwise a peer's
//! early hole-punching packet would claim the port the home's own packet needs next,
//! and the mapping would turn endpoint-dependent). No namespace has a route out of the sandbox: nothing is
//! connected to the test's own namespace but the loopback forwards of [`forward_into`].
//! [`TwoHomes::block_direct_udp`] makes the Internet drop UDP between the two NATs, so
//! only a TURN relay joins the homes. Everything is deleted on drop; namespaces a killed
//! test left behind (named `chiral-PID-…` of a process that is gone) are swept first.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};

/// Why network namespaces cannot be used here (not root, no iproute2 or nftables).
#[derive(Debug)]
pub struct Unavailable(pub String);

/// Why the lab was not built: the machine cannot (a test may skip), or building it failed
/// (a test must fail).
#[derive(Debug)]
pub enum LabError {
    Unavailable(Unavailable),
    Broken(anyhow::Error),
}

fn run(args: &[&str], stdin: Option<&str>) -> anyhow::Result<()> {
    let mut child = Command::new(args[0])
        .args(&args[1..])
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", args[0]))?;
    if let Some(text) = stdin {
        child.stdin.take().context("stdin")?.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// One network namespace, deleted on drop (after the processes in it are gone: keep it
/// declared after them).
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates namespace `name` with its loopback up (name it `chiral-PID-…` so a killed
    /// test's leftovers are swept).
    pub fn create(name: String) -> anyhow::Result<Self> {
        run(&["ip", "netns", "add", &name], None)?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// `ip -n NAME ARGS…`
    pub fn ip(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut all = vec!["ip", "-n", &self.name];
        all.extend_from_slice(args);
        run(&all, None)
    }

    /// Runs `program args…` inside the namespace and waits for it.
    pub fn exec(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<()> {
        let mut all = vec!["ip", "netns", "exec", &self.name];
        all.extend_from_slice(args);
        run(&all, stdin)
    }

    /// A command that runs `program` inside the namespace (`ip netns exec` execs it, so
    /// the child's PID is the program's).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    fn forwarding(&self) -> anyhow::Result<()> {
        self.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=1"], None)
    }
}

/// Kills whatever still runs in namespace `name` (deleting a namespace does not), then deletes it.
fn remove(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).stderr(Stdio::null()).status();
        }
    }
    let _ = Command::new("ip").args(["netns", "del", name]).stderr(Stdio::null()).status();
}

impl Drop for Netns {
    fn drop(&mut self) {
        remove(&self.name);
    }
}

/// Deletes `chiral-PID-…` namespaces whose process is gone (a test killed mid-run).
pub(crate) fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name.strip_prefix("chiral-").and_then(|r| r.split('-').next()).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            remove(name);
        }
    }
}

/// Checks that this machine lets the test make namespaces and NAT rules.
pub fn available() -> Result<(), Unavailable> {
    for tool in ["ip", "nft"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).stdout(Stdio::null()).status().is_ok_and(|s| s.success());
        if !found {
            return Err(Unavailable(format!("`{tool}` is not installed (Debian: iproute2, nftables)")));
        }
    }
    let probe = format!("chiral-{}-probe", std::process::id());
    match Netns::create(probe) {
        Ok(ns) => ns.exec(&["nft", "list", "tables"], None).map_err(|e| Unavailable(format!("nftables does not work in a new namespace: {e}"))),
        Err(e) => Err(Unavailable(format!("cannot create a network namespace (needs root / CAP_SYS_ADMIN): {e}"))),
    }
}

/// The two-homes lab (see the module docs).
pub struct TwoHomes {
    pub internet: Netns,
    pub homes: [Netns; 2],
    pub nats: [Netns; 2],
}

/// The relay's address on the simulated Internet.
pub const RELAY_IP: &str = "198.18.0.1";

impl TwoHomes {
    /// Builds the lab; `LabError::Unavailable` only when this machine cannot make
    /// namespaces or NAT rules at all (and `CHIRAL_REQUIRE_NETNS` is not set).
    pub fn create() -> Result<Self, LabError> {
        if let Err(why) = available() {
            if std::env::var_os("CHIRAL_REQUIRE_NETNS").is_some() {
                return Err(LabError::Broken(anyhow::anyhow!("CHIRAL_REQUIRE_NETNS is set, but {}", why.0)));
            }
            return Err(LabError::Unavailable(why));
        }
        sweep_stale();
        Self::build().map_err(LabError::Broken)
    }

    fn build() -> anyhow::Result<Self> {
        let pid = std::process::id();
        let ns = |role: &str| Netns::create(format!("chiral-{pid}-{role}"));
        let internet = ns("internet")?;
        let nats = [ns("nat1")?, ns("nat2")?];
        let homes = [ns("home1")?, ns("home2")?];
        internet.ip(&["addr", "add", &format!("{RELAY_IP}/32"), "dev", "lo"])?;
        internet.forwarding()?;
        for (i, (nat, home)) in nats.iter().zip(&homes).enumerate() {
            let n = i + 1;
            // Internet ↔ NAT (the home's "WAN"), NAT ↔ home (its "LAN").
            run(&["ip", "link", "add", "wan", "netns", &nat.name, "type", "veth", "peer", "name", &format!("isp{n}"), "netns", &internet.name], None)?;
            run(&["ip", "link", "add", "lan", "netns", &nat.name, "type", "veth", "peer", "name", "eth0", "netns", &home.name], None)?;
            internet.ip(&["addr", "add", &format!("198.18.{n}.1/24"), "dev", &format!("isp{n}")])?;
            internet.ip(&["link", "set", &format!("isp{n}"), "up"])?;
            nat.ip(&["addr", "add", &format!("198.18.{n}.2/24"), "dev", "wan"])?;
            nat.ip(&["addr", "add", &format!("10.{n}.0.1/24"), "dev", "lan"])?;
            nat.ip(&["link", "set", "wan", "up"])?;
            nat.ip(&["link", "set", "lan", "up"])?;
            nat.ip(&["route", "add", "default", "via", &format!("198.18.{n}.1")])?;
            nat.forwarding()?;
            nat.exec(
                &["nft", "-f", "-"],
                Some(
                    "table ip nat {\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n    oifname \"wan\" masquerade\n  }\n}\n\
                     table inet filter {\n  chain homefwd {\n    type filter hook forward priority filter; policy drop;\n    ct state established,related accept\n    iifname \"lan\" oifname \"wan\" accept\n  }\n  \
                     chain wanin {\n    type filter hook input priority filter; policy accept;\n    iifname \"wan\" ct state new drop\n  }\n}\n",
                ),
            )?;
            home.ip(&["addr", "add", &format!("10.{n}.0.2/24"), "dev", "eth0"])?;
            home.ip(&["link", "set", "eth0", "up"])?;
            home.ip(&["route", "add", "default", "via", &format!("10.{n}.0.1")])?;
        }
        Ok(Self { internet, homes, nats })
    }

    /// From now on the Internet drops UDP between the two NATs' public addresses: the
    /// homes can still reach the relay, but no direct WebRTC path exists.
    pub fn block_direct_udp(&self) -> anyhow::Result<()> {
        self.internet.exec(
            &["nft", "-f", "-"],
            Some(
                "table inet block {\n  chain between_homes {\n    type filter hook forward priority filter; policy accept;\n    \
                 ip saddr 198.18.1.0/24 ip daddr 198.18.2.0/24 meta l4proto udp drop\n    \
                 ip saddr 198.18.2.0/24 ip daddr 198.18.1.0/24 meta l4proto udp drop\n  }\n}\n",
            ),
        )
    }
}

/// A `127.0.0.1` port of the test's own namespace that reaches `127.0.0.1:port` inside the
/// namespace `ns`: each accepted connection is joined to one a thread opens after entering
/// that namespace (`setns(2)`), so nothing is bound outside loopback and no route is added.
pub struct Forward {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

fn connect_in(ns: &str, port: u16) -> std::io::Result<TcpStream> {
    let file = std::fs::File::open(format!("/run/netns/{ns}"))?;
    // SAFETY: setns on a namespace fd we hold open; it changes only this thread, which is
    // made for this one connection and never runs other work.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    TcpStream::connect(("127.0.0.1", port))
}

/// A listener bound to `addr` inside namespace `ns` (a short-lived thread enters it with
/// `setns(2)` and binds; the socket stays in that namespace wherever it is used).
pub fn bind_in(ns: &Netns, addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(path)?;
        // SAFETY: setns on a namespace fd we hold open; it changes only this thread, which
        // ends right after binding.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        TcpListener::bind(addr)
    })
    .join()
    .map_err(|_| std::io::Error::other("the setns thread panicked"))?
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

pub fn forward_into(ns: &Netns, port: u16) -> anyhow::Result<Forward> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let local = listener.local_addr()?.port();
    let stop = Arc::new(AtomicBool::new(false));
    let (name, stopped) = (ns.name.clone(), stop.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stopped.load(Ordering::SeqCst) {
                break;
            }
            let Ok(client) = conn else { break };
            let name = name.clone();
            std::thread::spawn(move || {
                let Ok(upstream) = connect_in(&name, port) else { return };
                let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else { return };
                std::thread::spawn(move || pipe(c2, u2));
                pipe(upstream, client);
            });
        }
    });
    Ok(Forward { port: local, stop })
}
