//! eD2k with real aMule (Debian's `amuled` 2.3.3), in a network namespace of the test's own
//! ([`chiral_e2e::amule::Ed2kLab`]: aMule drops link sources on 127.0.0.0/8, so the lab puts
//! 10.66.0.x addresses on a namespace's loopback; nothing there routes anywhere else). The
//! relay is the lab's only eD2k server (aMule asks its sources only while connected to one),
//! at 10.66.0.1 beside its HTTP side; pages run in headless Chromium inside the lab.
//!
//! - aMule downloads, byte-exact, a file seeded only in a page, through the relay, from the
//!   ed2k link the page shows (the relay named as its source);
//! - a page downloads a file aMule shares, by ed2k link, while a lying source sends bad
//!   parts and another never says a word: the liar is caught by the part hashes and
//!   dropped, the silent one holds nothing up, and the file completes from aMule, its CID
//!   checked by the page.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use chiral_e2e::amule::{Amule, Ed2kLab, RELAY_IP};
use chiral_e2e::netns::LabError;
use chiral_e2e::{share_file, sha256_file, wait_for_transfer, write_test_file, Browser, Relay};
use web_node::ed2k::{Ed2kHasher, Ed2kLink};
use web_node::ed2k_wire::upload::{ServedFile, UploadOutput, UploadSession};
use web_node::ed2k_wire::{Decoder, Identity};

/// 2 parts and a bit: the hashset is asked for and every part is checked.
const SIZE: u64 = 9_728_000 + 2_500_000;

fn lab() -> Option<Ed2kLab> {
    match Ed2kLab::create() {
        Ok(l) => Some(l),
        Err(LabError::Unavailable(why)) => {
            eprintln!("skipped: no network namespaces here ({})", why.0);
            None
        }
        Err(LabError::Broken(e)) => panic!("the eD2k lab could not be built: {e:#}"),
    }
}

fn relay_ed2k() -> SocketAddrV4 {
    SocketAddrV4::new(RELAY_IP, 4662)
}

/// Without aMule: `relay seed` names itself in the ed2k link it prints and in `/api/ed2k`,
/// `relay manifest --ed2k-source` writes the same link, and `relay fetch` downloads the
/// file from the relay over eD2k, every part checked.
#[test]
fn relay_fetch_gets_a_seeded_file_over_ed2k_from_the_link_the_relay_prints() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("seeded.bin");
    write_test_file(&file, SIZE, 1603)?;
    let relay = Relay::start_with(&chiral_e2e::workspace_root().join("www"), None, &["seed", file.to_str().unwrap()])?;
    let listening = relay.wait_for_line("ed2k listening on ", Duration::from_secs(60))?;
    let link = relay.wait_for_line("ed2k link ", Duration::from_secs(10))?;
    assert!(link.ends_with(&format!("|sources,{listening}|/")), "{link} names {listening}");
    assert_eq!(relay.get_json("/api/ed2k")?["source"], listening.as_str());
    let manifest = chiral_e2e::relay_manifest(&file, &["--ed2k-source", &listening])?;
    assert_eq!(manifest["ed2k_link"], link.as_str());
    let out = dir.path().join("fetched.bin");
    let printed = chiral_e2e::run_tool(std::process::Command::new(chiral_e2e::relay_bin()).args(["fetch", &link, "-o"]).arg(&out).args(["--timeout", "60"]))?;
    assert!(printed.contains("over ed2k"), "{printed}");
    assert_eq!(sha256_file(&out)?, sha256_file(&file)?);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn amule_downloads_a_file_seeded_only_in_a_page_through_the_relay() -> anyhow::Result<()> {
    let Some(lab) = lab() else { return Ok(()) };
    let relay = Relay::start_in_netns(lab.ns(), &RELAY_IP.to_string(), &[])?;
    relay.wait_for_line("ed2k listening on ", Duration::from_secs(10))?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("from a tab.bin");
    write_test_file(&file, SIZE, 1601)?;
    let page = Browser::start_in_netns(lab.ns(), &relay.url).await?;
    share_file(&page, &relay, &file, Duration::from_secs(120)).await?;
    // The Share view's ed2k link names the relay as its source once the page asked /api/ed2k.
    let link = page
        .wait_for("const e = document.getElementById('ed2k-link'); return e && e.textContent.includes('|sources,') ? e.textContent.trim() : null;", Duration::from_secs(20))
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(link.ends_with(&format!("|sources,{}|/", relay_ed2k())), "the page's ed2k link: {link}");
    let parsed: Ed2kLink = link.parse()?;
    let mut h = Ed2kHasher::new();
    h.update(&std::fs::read(&file)?);
    assert_eq!(parsed.hash, h.finalize(), "the link's hash is the file's ed2k hash");

    let amule = Amule::start(&lab, Ed2kLab::peer_ip(0), 4662, Some(relay_ed2k()), &[])?;
    amule.wait_connected(Duration::from_secs(60))?;
    amule.add_link(&link)?;
    let got = amule.wait_downloaded("from a tab.bin", Duration::from_secs(300)).map_err(|e| anyhow::anyhow!("{e:#}\nrelay: {:?}", relay.output()))?;
    assert_eq!(sha256_file(&got)?, sha256_file(&file)?, "aMule's copy is byte-exact");
    drop(page);
    Ok(())
}

/// Serves `data` under its real hashset but with every block's first byte flipped: a
/// source that passes every check but the part hashes. Runs in the lab at `ip:port`.
fn lying_source(lab: &Ed2kLab, ip: Ipv4Addr, port: u16, name: &str, data: Arc<Vec<u8>>) -> anyhow::Result<Arc<std::sync::atomic::AtomicU64>> {
    let listener = chiral_e2e::netns::bind_in(lab.ns(), (ip, port).into())?;
    let served = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = served.clone();
    let name = name.to_string();
    std::thread::spawn(move || {
        let mut h = Ed2kHasher::new();
        h.update(&data);
        let hashset = h.clone().finalize_hashset();
        let hash = h.finalize();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let (data, hashset, name, counter) = (data.clone(), hashset.clone(), name.clone(), counter.clone());
            std::thread::spawn(move || {
                let mut session = UploadSession::new(Identity::new([9; 16], u32::from_le_bytes(ip.octets()), port, "liar"));
                let mut dec = Decoder::new();
                let mut buf = [0u8; 16384];
                loop {
                    let Ok(n) = conn.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    dec.push(&buf[..n]);
                    while let Ok(Some(p)) = dec.next_packet() {
                        if session.on_packet(&p).is_err() {
                            return;
                        }
                        while let Some(o) = session.poll() {
                            match o {
                                UploadOutput::Send(p) => {
                                    if conn.write_all(&p.encode()).is_err() {
                                        return;
                                    }
                                }
                                UploadOutput::Lookup(h) => session.file_found(h, (h == hash).then(|| ServedFile { hash, name: name.clone(), size: data.len() as u64 })),
                                UploadOutput::NeedHashset(h) => session.hashset_ready(h, Some(hashset.clone())),
                                UploadOutput::WantSlot => session.slot_granted(),
                                UploadOutput::ReleaseSlot => {}
                                UploadOutput::Read { start, end, .. } => {
                                    let mut bytes = data[start as usize..end as usize].to_vec();
                                    bytes[0] ^= 0x5a;
                                    counter.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::SeqCst);
                                    session.on_data(start, &bytes);
                                }
                            }
                        }
                    }
                }
            });
        }
    });
    Ok(served)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_downloads_a_file_amule_shares_and_a_lying_source_is_dropped() -> anyhow::Result<()> {
    let Some(lab) = lab() else { return Ok(()) };
    let relay = Relay::start_in_netns(lab.ns(), &RELAY_IP.to_string(), &[])?;
    relay.wait_for_line("ed2k listening on ", Duration::from_secs(10))?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("shared by amule.bin");
    write_test_file(&file, SIZE, 1602)?;
    let data = Arc::new(std::fs::read(&file)?);
    let amule_ip = Ed2kLab::peer_ip(0);
    let liar_ip = Ed2kLab::peer_ip(1);
    let amule = Amule::start(&lab, amule_ip, 4662, Some(relay_ed2k()), std::slice::from_ref(&file))?;
    let liar_served = lying_source(&lab, liar_ip, 4662, "shared by amule.bin", data.clone())?;
    // A source that takes the connection and never says a word: it must not hold anything up.
    let silent_ip = Ed2kLab::peer_ip(2);
    let silent = chiral_e2e::netns::bind_in(lab.ns(), (silent_ip, 4662).into())?;
    let _held = std::thread::spawn(move || silent.incoming().map_while(Result::ok).collect::<Vec<_>>());
    let mut h = Ed2kHasher::new();
    h.update(&data);
    // The liar first: it answers at once, so it is given a part before aMule's slot opens.
    let link = web_node::ed2k::ed2k_link_with_sources(
        "shared by amule.bin",
        SIZE,
        &h.finalize(),
        &[format!("{liar_ip}:4662"), format!("{silent_ip}:4662"), format!("{amule_ip}:4662")],
    );

    let page = Browser::start_in_netns(lab.ns(), &relay.url).await?;
    chiral_e2e::open_download(&page, &relay).await?;
    chiral_e2e::start_download(&page, &link).await?;
    let fetched = page
        .wait_for(
            "const e = document.getElementById('ed2k-fetch'); return e && e.dataset.state !== 'fetching' ? {state: e.dataset.state, liars: e.dataset.liars, html: e.outerHTML} : null;",
            Duration::from_secs(300),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}\namule: {}\nrelay: {:?}", amule.log_tail(30), relay.output()))?;
    assert_eq!(fetched["state"], "done", "the relay's eD2k fetch: {}", fetched["html"]);
    assert_eq!(fetched["liars"], "1", "the lying source was named: {}", fetched["html"]);
    assert!(liar_served.load(std::sync::atomic::Ordering::SeqCst) > 0, "the liar served something");
    let transfer = wait_for_transfer(&page, None, Duration::from_secs(120)).await?;
    assert_eq!(transfer.sha256, sha256_file(&file)?, "the page's copy is the file aMule shares");
    Ok(())
}
