//! Real aMule daemons (Debian's `amuled` / `amulecmd` 2.3.3) for end-to-end tests.
//!
//! aMule 2.3.3 drops sources in 127.0.0.0/8 and 198.18.0.0/15 (`IsGoodIP`), and 10.x only
//! passes with `FilterLanIPs=0`; so every daemon runs inside an [`Ed2kLab`]: one network
//! namespace with 10.66.0.x/32 addresses on its loopback (10.66.0.1 is the relay's, the
//! ed2k server; aMule peers take 10.66.0.2 and up) and no route anywhere else.
//!
//! aMule asks its sources only while "connected" (logged into an ed2k server or Kad), so
//! [`Amule::start`] takes the server's address: it is written to `server.met` and aMule
//! connects to it on its own (`Autoconnect=1`). Each daemon has a temporary home (config,
//! `Temp/`, `Incoming/`, aMule's log `logfile`, its stdout in `amuled.log`), its EC port
//! on the namespace's 127.0.0.1 (driven with `amulecmd`), and is killed on drop.

use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::netns::{self, Forward, LabError, Netns};
use crate::Guarded;

/// The relay's (the ed2k server's) address in every [`Ed2kLab`].
pub const RELAY_IP: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 1);
/// The EC password every [`Amule`] uses.
pub const EC_PASSWORD: &str = "chiral";

/// One network namespace (`chiral-PID-ed2k-N`) with 10.66.0.1 (the relay) and the peer
/// addresses 10.66.0.2..=10.66.0.9 as /32s on its loopback.
pub struct Ed2kLab {
    next_ec_port: AtomicU16,
    ns: Netns,
}

static LABS: AtomicUsize = AtomicUsize::new(0);

impl Ed2kLab {
    /// A lab with the relay's address and 8 peer addresses (10.66.0.2..=10.66.0.9).
    /// `LabError::Unavailable`: this machine cannot make namespaces (a test may skip,
    /// unless `CHIRAL_REQUIRE_NETNS` is set).
    pub fn create() -> Result<Self, LabError> {
        if let Err(why) = netns::available() {
            if std::env::var_os("CHIRAL_REQUIRE_NETNS").is_some() {
                return Err(LabError::Broken(anyhow::anyhow!("CHIRAL_REQUIRE_NETNS is set, but {}", why.0)));
            }
            return Err(LabError::Unavailable(why));
        }
        netns::sweep_stale();
        let build = || -> anyhow::Result<Self> {
            let n = LABS.fetch_add(1, Ordering::SeqCst);
            let ns = Netns::create(format!("chiral-{}-ed2k-{n}", std::process::id()))?;
            for last in 1..=9 {
                ns.ip(&["addr", "add", &format!("10.66.0.{last}/32"), "dev", "lo"])?;
            }
            Ok(Self { next_ec_port: AtomicU16::new(4712), ns })
        };
        build().map_err(LabError::Broken)
    }

    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    /// The `n`th peer address (0 → 10.66.0.2).
    pub fn peer_ip(n: u8) -> Ipv4Addr {
        assert!(n < 8, "the lab has 8 peer addresses");
        Ipv4Addr::new(10, 66, 0, 2 + n)
    }

    /// A 127.0.0.1 port of the test's namespace reaching `127.0.0.1:port` in the lab.
    pub fn http_forward(&self, port: u16) -> anyhow::Result<Forward> {
        netns::forward_into(&self.ns, port)
    }

    fn ec_port(&self) -> u16 {
        self.next_ec_port.fetch_add(1, Ordering::SeqCst)
    }
}

/// A running `amuled` in an [`Ed2kLab`].
pub struct Amule {
    pub ip: Ipv4Addr,
    pub tcp_port: u16,
    pub ec_port: u16,
    pub incoming: PathBuf,
    pub temp: PathBuf,
    ns_name: String,
    log: PathBuf,
    process: Option<Guarded>,
    /// When the server login was seen (see [`Amule::add_link`]).
    connected_at: Option<Instant>,
    home: tempfile::TempDir,
}

/// `server.met`: the one server aMule connects to (`Autoconnect=1`).
fn server_met(server: SocketAddrV4) -> Vec<u8> {
    let mut met = vec![0xE0];
    met.extend_from_slice(&1u32.to_le_bytes());
    met.extend_from_slice(&server.ip().octets());
    met.extend_from_slice(&server.port().to_le_bytes());
    met.extend_from_slice(&0u32.to_le_bytes()); // no tags
    met
}

fn md5_hex(s: &str) -> String {
    // amulecmd takes the password in clear; amule.conf wants its MD5. No md5 crate here.
    let out = Command::new("md5sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().and_then(|mut c| {
        c.stdin.take().unwrap().write_all(s.as_bytes())?;
        c.wait_with_output()
    });
    out.map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap_or("").to_string()).unwrap_or_default()
}

/// amule.conf, from the one `amuled` 2.3.3 writes on its first run, changed to: bind
/// only to `ip` (and EC to 127.0.0.1), no Kad, no URLs (server list, nodes, IP filter,
/// version check), no LAN-IP filtering, no obfuscation (a server login would first try it
/// and wait 25 s), and the highest upload limit: MaxUpload is a uint16 in kB/s (values
/// above 65535 wrap), its largest limit 65534 (0 and 65535 both mean "unlimited", which
/// in fact lets the throttler send only the current rate + 5 kB/s: an upload never gets
/// going). SlotAllocation (kB/s per slot) equal to it gives the minimum of 2 upload
/// slots; a small value (500: 131 slots) measured ten times slower (36 kB/s).
/// amuled itself still caps each upload at ~330 kB/s: it queues at most 100 KiB of file
/// data per client per core-timer tick, and the daemon's tick is 300 ms (UploadClient.cpp
/// CreateNextBlockPackage, amule.h CORE_TIMER_PERIOD); no setting changes that.
/// MaxDownload is finite too (65534): with 0 (unlimited) the downloader sometimes stopped
/// reading its socket mid-transfer (bytes sat in its receive queue, the download stalled
/// for good); with a limit its socket is re-polled every tick (EMSocket SetDownloadLimit).
fn amule_conf(home: &Path, ip: Ipv4Addr, tcp_port: u16, ec_port: u16, autoconnect: bool) -> String {
    let home = home.display();
    let autoconnect = u8::from(autoconnect);
    let password = md5_hex(EC_PASSWORD);
    let udp_port = tcp_port + 10;
    format!(
        "[eMule]
AppVersion=2.3.3
Nick=chiral-test-{ip}
QueueSizePref=50
MaxUpload=65534
MaxDownload=65534
SlotAllocation=65534
Port={tcp_port}
UDPPort={udp_port}
UDPEnable=1
Address={ip}
Autoconnect={autoconnect}
MaxSourcesPerFile=300
MaxConnections=500
MaxConnectionsPerFiveSeconds=500
RemoveDeadServer=0
DeadServerRetry=3
ServerKeepAliveTimeout=0
Reconnect=1
Scoresystem=1
Serverlist=0
AddServerListFromServer=0
AddServerListFromClient=0
SafeServerConnect=0
AutoConnectStaticOnly=0
UPnPEnabled=0
UPnPTCPPort=50000
SmartIdCheck=0
ConnectToKad=0
ConnectToED2K=1
TempDir={home}/Temp
IncomingDir={home}/Incoming
ICH=1
AICHTrust=0
CheckDiskspace=0
MinFreeDiskSpace=1
AddNewFilesPaused=0
PreviewPrio=0
ManualHighPrio=0
StartNextFile=0
StartNextFileSameCat=0
StartNextFileAlpha=0
FileBufferSizePref=16
DAPPref=1
UAPPref=1
AllocateFullFile=0
OSDirectory={home}/
OnlineSignature=0
OnlineSignatureUpdate=5
EnableTrayIcon=0
MinToTray=0
Notifications=0
ConfirmExit=0
StartupMinimized=0
3DDepth=10
ToolTipDelay=1
ShowOverhead=0
ShowInfoOnCatTabs=1
VerticalToolbar=0
GeoIPEnabled=0
ShowVersionOnTitle=0
VideoPlayer=
StatGraphsInterval=3
statsInterval=30
DownloadCapacity=100000
UploadCapacity=100000
StatsAverageMinutes=5
VariousStatisticsMaxValue=100
SeeShare=2
FilterLanIPs=0
ParanoidFiltering=0
IPFilterAutoLoad=0
IPFilterURL=
FilterLevel=127
IPFilterSystem=0
FilterMessages=1
FilterAllMessages=0
MessagesFromFriendsOnly=0
MessageFromValidSourcesOnly=1
FilterWordMessages=0
MessageFilter=
ShowMessagesInLog=1
FilterComments=0
CommentFilter=
ShareHiddenFiles=0
AutoSortDownloads=0
NewVersionCheck=0
AdvancedSpamFilter=1
MessageUseCaptchas=1
Language=
SplitterbarPosition=75
YourHostname=
DateTimeFormat=%A, %x, %X
AllcatType=0
ShowAllNotCats=0
SmartIdState=0
DropSlowSources=0
KadNodesUrl=
Ed2kServersUrl=
ShowRatesOnTitle=0
GeoLiteCountryUpdateUrl=
StatsServerName=
StatsServerURL=
CreateSparseFiles=1
[Browser]
OpenPageInTab=1
CustomBrowserString=
[Proxy]
ProxyEnableProxy=0
ProxyType=0
ProxyName=
ProxyPort=1080
ProxyEnablePassword=0
ProxyUser=
ProxyPassword=
[ExternalConnect]
UseSrcSeeds=0
AcceptExternalConnections=1
ECAddress=127.0.0.1
ECPort={ec_port}
ECPassword={password}
UPnPECEnabled=0
ShowProgressBar=1
ShowPercent=1
UseSecIdent=1
IpFilterClients=0
IpFilterServers=0
TransmitOnlyUploadingClients=0
[WebServer]
Enabled=0
Password=
PasswordLow=
Port=4711
WebUPnPTCPPort=50001
UPnPWebServerEnabled=0
UseGzip=1
UseLowRightsUser=0
PageRefreshTime=120
Template=
Path=amuleweb
[GUI]
HideOnClose=0
[Razor_Preferences]
FastED2KLinksHandler=1
[SkinGUIOptions]
Skin=
[Statistics]
MaxClientVersions=0
[Obfuscation]
IsClientCryptLayerSupported=0
IsCryptLayerRequested=0
IsClientCryptLayerRequired=0
CryptoPaddingLenght=254
CryptoKadUDPKey=3108044762
[PowerManagement]
PreventSleepWhileDownloading=0
"
    )
}

impl Amule {
    /// Starts `amuled` in `lab` on `ip:tcp_port` (UDP on `tcp_port + 10`), sharing `share`
    /// (hard-linked, or copied, into its Incoming). With `server`, aMule connects to that
    /// ed2k server on its own (server.met + `Autoconnect=1`). Returns once EC answers,
    /// every shared file is hashed (listed by `show shared`) and, with a server, aMule is
    /// logged in.
    pub fn start(lab: &Ed2kLab, ip: Ipv4Addr, tcp_port: u16, server: Option<SocketAddrV4>, share: &[PathBuf]) -> anyhow::Result<Self> {
        let home = tempfile::Builder::new().prefix("chiral-amule-").tempdir()?;
        let (incoming, temp) = (home.path().join("Incoming"), home.path().join("Temp"));
        std::fs::create_dir_all(&incoming)?;
        std::fs::create_dir_all(&temp)?;
        let mut names = Vec::new();
        for file in share {
            let name = file.file_name().with_context(|| format!("{} has no file name", file.display()))?;
            let to = incoming.join(name);
            if std::fs::hard_link(file, &to).is_err() {
                std::fs::copy(file, &to).with_context(|| format!("cannot copy {} into aMule's Incoming", file.display()))?;
            }
            names.push(name.to_string_lossy().into_owned());
        }
        let ec_port = lab.ec_port();
        std::fs::write(home.path().join("amule.conf"), amule_conf(home.path(), ip, tcp_port, ec_port, server.is_some()))?;
        if let Some(server) = server {
            std::fs::write(home.path().join("server.met"), server_met(server))?;
        }
        // aMule writes its whole log to `logfile`; stdout (`-o`) goes to amuled.log too.
        let log = home.path().join("logfile");
        let out = File::create(home.path().join("amuled.log"))?;
        let process = Guarded::spawn(
            lab.ns
                .command("amuled")
                .arg("-c")
                .arg(home.path())
                .arg("-o")
                .env("HOME", home.path())
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out),
        )
        .context("cannot start amuled (Debian: amule-daemon; scripts/setup.sh test installs it)")?;
        let mut amule = Self { ip, tcp_port, ec_port, incoming, temp, ns_name: lab.ns.name.clone(), log, process: Some(process), connected_at: None, home };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = amule.process.as_mut().and_then(|p| p.child().try_wait().ok().flatten()) {
                bail!("amuled exited ({status}) during startup:\n{}", amule.log_tail(40));
            }
            if amule.cmd("status").is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!("amuled's EC did not answer on 127.0.0.1:{ec_port} within 60 s:\n{}", amule.log_tail(40));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let shared = amule.shared()?;
            if names.iter().all(|n| shared.contains(n)) {
                break;
            }
            if Instant::now() > deadline {
                bail!("aMule did not share {names:?} within 120 s (it shares {shared:?}):\n{}", amule.log_tail(40));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        if server.is_some() {
            amule.wait_connected(Duration::from_secs(30))?;
            amule.connected_at = Some(Instant::now());
        }
        Ok(amule)
    }

    /// The temporary home (config, Temp/, Incoming/, amuled.log).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `amulecmd -c COMMAND` against this daemon's EC; its stdout (fails if amulecmd
    /// fails or cannot connect).
    pub fn cmd(&self, command: &str) -> anyhow::Result<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns_name, "amulecmd", "-h", "127.0.0.1", "-p", &self.ec_port.to_string(), "-P", EC_PASSWORD, "-c", command])
            .stdin(Stdio::null())
            .output()
            .context("cannot run amulecmd (Debian: amule-utils)")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || stdout.contains("Connection Failed") || stdout.contains("Connection failed") {
            bail!("amulecmd -c {command:?} failed ({}): {stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
        }
        Ok(stdout)
    }

    /// Adds an ed2k link (file or server). Not within 5 s of the server login: a link
    /// added in the login's second had its source dropped (0 sources), and one added 2 s
    /// after started a minute late and slower; 3.5 s and more was fine.
    pub fn add_link(&self, link: &str) -> anyhow::Result<()> {
        if let Some(at) = self.connected_at {
            std::thread::sleep(Duration::from_secs(5).saturating_sub(at.elapsed()));
        }
        let out = self.cmd(&format!("add {link}"))?;
        if !out.contains("Operation was successful") {
            bail!("aMule refused {link}: {out}");
        }
        Ok(())
    }

    /// Adds `server` and connects to it (not needed when it was given to [`Amule::start`]).
    pub fn connect_server(&self, server: SocketAddrV4) -> anyhow::Result<()> {
        self.add_link(&format!("ed2k://|server|{}|{}|/", server.ip(), server.port()))?;
        self.cmd(&format!("connect {server}"))?;
        Ok(())
    }

    /// Waits until aMule says it is connected to an ed2k server.
    pub fn wait_connected(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.cmd("status")?;
            if status.lines().any(|l| l.contains("eD2k") && l.contains("Connected") && !l.contains("Not connected")) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("aMule did not connect to its ed2k server within {timeout:?}: {status}\n{}", self.log_tail(30));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The names of the files aMule shares (`show shared`).
    pub fn shared(&self) -> anyhow::Result<Vec<String>> {
        let out = self.cmd("show shared")?;
        // " > HASH PATH" lines (the full path), then indented detail lines.
        Ok(out
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("> "))
            .filter_map(|l| l.split_once(' '))
            .filter(|(hash, _)| hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|(_, path)| path.trim().rsplit('/').next().unwrap_or_default().to_string())
            .collect())
    }

    /// The percentage `show dl` gives for download `name`, if it is listed.
    pub fn download_progress(&self, name: &str) -> anyhow::Result<Option<f64>> {
        let out = self.cmd("show dl")?;
        let mut lines = out.lines();
        while let Some(line) = lines.next() {
            let Some((_, rest)) = line.trim_start().strip_prefix("> ").and_then(|l| l.split_once(' ')) else { continue };
            if rest.trim() != name {
                continue;
            }
            // The next line: " >        [12.3%] …".
            let detail = lines.next().unwrap_or("");
            let pct = detail.split_once('[').and_then(|(_, r)| r.split_once('%')).and_then(|(p, _)| p.trim().parse().ok());
            return Ok(pct);
        }
        Ok(None)
    }

    /// Waits until the finished `name` is in Incoming (aMule moves it there on completion)
    /// and aMule no longer lists it as a download; its path. On timeout the error holds
    /// `show dl` and the log's tail.
    pub fn wait_downloaded(&self, name: &str, timeout: Duration) -> anyhow::Result<PathBuf> {
        let path = self.incoming.join(name);
        let deadline = Instant::now() + timeout;
        loop {
            if path.exists() && self.download_progress(name)?.is_none() {
                return Ok(path);
            }
            if Instant::now() > deadline {
                let dl = self.cmd("show dl").unwrap_or_else(|e| e.to_string());
                bail!("aMule at {} did not finish {name} within {timeout:?}\nshow dl:\n{dl}\nlog:\n{}", self.ip, self.log_tail(40));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last `n` lines of aMule's log (`logfile` in its home), without its EC chatter (each `amulecmd`
    /// call logs four lines).
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let ec = ["External connection closed", "New external connection accepted", "Connecting client: aMulecmd", "Access granted"];
        let lines: Vec<&str> = text.lines().filter(|l| !ec.iter().any(|e| l.contains(e))).collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Amule {
    fn drop(&mut self) {
        // SIGTERM, then SIGKILL after 5 s (Guarded); the namespace's drop kills leftovers.
        self.process.take();
    }
}
