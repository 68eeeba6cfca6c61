//! anvil, the dev chain node, as a test process that can crash and come back.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::{free_port, json_rpc, workspace_root, Guarded};

/// anvil (npm `@foundry-rs/anvil-linux-amd64`) on a free loopback port, chain id 98765.
/// [`Anvil::kill`] and [`Anvil::restart`] crash it and bring it back on the same port
/// (with its saved state, when started with [`Anvil::start_with`] `--state`).
pub struct Anvil {
    pub url: String,
    port: u16,
    args: Vec<String>,
    process: Guarded,
}

impl Anvil {
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(&[])
    }

    /// anvil with extra flags, e.g. `["--state", PATH, "--state-interval", "1", "--block-time", "2"]`.
    pub fn start_with(args: &[&str]) -> anyhow::Result<Self> {
        let port = free_port()?;
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let process = Self::spawn(port, &args)?;
        Ok(Self { url: format!("http://127.0.0.1:{port}"), port, args, process })
    }

    fn spawn(port: u16, args: &[String]) -> anyhow::Result<Guarded> {
        let bin = workspace_root().join("tests/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
        if !bin.exists() {
            bail!("anvil is not installed: run scripts/setup.sh test");
        }
        let process = Guarded::spawn(
            Command::new(bin)
                .args(["--chain-id", "98765", "--host", "127.0.0.1", "--port", &port.to_string(), "--silent"])
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while json_rpc(&url, "eth_chainId", serde_json::json!([])).is_err() {
            if Instant::now() > deadline {
                bail!("anvil did not answer on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(process)
    }

    /// Kills the chain node with SIGKILL (what it had not saved is lost, its mempool too).
    pub fn kill(&mut self) {
        self.process.kill_now();
    }

    /// Starts it again on the same port with the same flags (so `--state` reloads what was
    /// saved); returns once it answers.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.process = Self::spawn(self.port, &self.args)?;
        Ok(())
    }
}
/// anvil's dev account #9, which deploys `ChiralChannels` at its nonce 0 (so at
/// `web_node::pay::contract::DEV_CHANNELS_ADDRESS`), as `scripts/run.sh` does.
pub const DEPLOYER_KEY: &str = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

/// Deploys `ChiralChannels` on `anvil` with the real `relay channels-deploy` (idempotent);
/// returns its address as the command printed it.
pub fn deploy_channels(anvil: &Anvil) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("deployer.key");
    std::fs::write(&key, DEPLOYER_KEY)?;
    let out = Command::new(crate::relay_bin()).args(["channels-deploy", "--eth-rpc", &anvil.url, "--key-file"]).arg(&key).output()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        bail!("channels-deploy failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(text.lines().last().map(|l| l.trim().to_string()).unwrap_or_default())
}
