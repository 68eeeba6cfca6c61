//! eD2k fetch benchmark: the relay's eD2k engine (`relay fetch ed2k://…`) against aMule
//! (Debian's amuled 2.3.3) downloading the same file from the same aMule uploader, in the
//! same run, inside one [`Ed2kLab`] namespace (the relay is both runs' eD2k server).
//! Prints a markdown table: seconds, MB/s, and the ratio to aMule.
//!
//! Usage: bench-ed2k [SIZE_MIB] [ROUNDS]   (default 64 1; scripts/bench-ed2k.sh builds and runs it)

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use chiral_e2e::amule::{Amule, Ed2kLab, RELAY_IP};
use chiral_e2e::{relay_bin, sha256_file, write_test_file, Relay};

/// No progress this long ends an aMule run as stalled.
const STALL: Duration = Duration::from_secs(180);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: u64 = args.first().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let rounds: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(1);
    let lab = Ed2kLab::create().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let relay = Relay::start_in_netns(lab.ns(), &RELAY_IP.to_string(), &[])?;
    relay.wait_for_line("ed2k listening on ", Duration::from_secs(10))?;
    let server = SocketAddrV4::new(RELAY_IP, 4662);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("bench.bin");
    write_test_file(&file, mib << 20, 4662)?;
    let want = sha256_file(&file)?;
    let uploader = Amule::start(&lab, Ed2kLab::peer_ip(0), 4662, Some(server), std::slice::from_ref(&file))?;
    let mut h = web_node::ed2k::Ed2kHasher::new();
    {
        use std::io::Read;
        let mut f = std::fs::File::open(&file)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    let link = web_node::ed2k::ed2k_link_with_sources("bench.bin", mib << 20, &h.finalize(), &[format!("{}:4662", Ed2kLab::peer_ip(0))]);
    let mut ours = Vec::new();
    // aMule's runs: seconds, and the percent reached when it stalled (no progress for STALL).
    let mut theirs: Vec<(f64, Option<f64>)> = Vec::new();
    for round in 0..rounds {
        let out = dir.path().join(format!("ours-{round}.bin"));
        let t = Instant::now();
        let status = lab.ns().command(relay_bin()).arg("fetch").arg(&link).arg("-o").arg(&out).arg("--timeout").arg("1800").status()?;
        anyhow::ensure!(status.success(), "relay fetch failed");
        ours.push(t.elapsed().as_secs_f64());
        anyhow::ensure!(sha256_file(&out)? == want, "relay fetch: wrong bytes");
        std::fs::remove_file(&out)?;

        let downloader = Amule::start(&lab, Ed2kLab::peer_ip(1 + round as u8), 4662, Some(server), &[])?;
        let t = Instant::now();
        downloader.add_link(&link)?;
        let got = downloader.incoming.join("bench.bin");
        let (mut pct, mut at) = (0.0f64, 0.0f64);
        loop {
            std::thread::sleep(Duration::from_secs(2));
            // amulecmd sometimes finds aMule's EC port busy: a missed poll is not an answer.
            let Ok(now) = downloader.download_progress("bench.bin") else { continue };
            if got.exists() && now.is_none() {
                anyhow::ensure!(sha256_file(&got)? == want, "aMule: wrong bytes");
                theirs.push((t.elapsed().as_secs_f64(), None));
                break;
            }
            if let Some(p) = now.filter(|p| *p > pct) {
                (pct, at) = (p, t.elapsed().as_secs_f64());
            }
            if t.elapsed().as_secs_f64() - at > STALL.as_secs_f64() {
                eprintln!("aMule stalled at {pct}% (no progress for {STALL:?}):\n{}", downloader.cmd("show dl").unwrap_or_default());
                theirs.push((at, Some(pct)));
                break;
            }
        }
    }
    let mb = (mib << 20) as f64 / 1e6;
    let best = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    // aMule's rate: over what it received by its last progress when it stalled.
    let amule_rate = theirs.iter().map(|(s, stalled)| mb * stalled.unwrap_or(100.0) / 100.0 / s).fold(0.0, f64::max);
    let ours_rate = mb / best(&ours);
    println!("\n{mib} MiB from one aMule 2.3.3 uploader (the relay as eD2k server), best of {rounds}:\n");
    println!("| downloader | seconds | MB/s | rate vs aMule |");
    println!("|---|---|---|---|");
    println!("| relay fetch (Chiral) | {:.1} | {:.2} | {:.2} |", best(&ours), ours_rate, ours_rate / amule_rate);
    for (s, stalled) in &theirs {
        match stalled {
            None => println!("| aMule 2.3.3 | {s:.1} | {:.2} | 1.00 |", mb / s),
            Some(p) => println!("| aMule 2.3.3 (stalled at {p:.1}%) | {s:.1} to {p:.1}% | {:.2} | 1.00 |", mb * p / 100.0 / s),
        }
    }
    println!("\nuploader log tail:\n{}", uploader.log_tail(5));
    Ok(())
}
