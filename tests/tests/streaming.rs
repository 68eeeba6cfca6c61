//! Playing a video while it downloads, in headless Chromium: a WebM made by Debian's ffmpeg
//! is seeded by a relay whose bridge uploads slowly (`--bridge-rate`), and a page downloads
//! it by magnet, then another by CID. The page's Service Worker answers the `<video>`'s
//! Range requests from verified pieces, the playhead's first: playback starts before the
//! download completes, and a seek to 80 % plays within a few seconds, before the download
//! reaches it in order.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chiral_e2e::{open_download, outer_html, relay_manifest, start_download, Browser, Relay};

/// Bytes per second the relay's bridge sends one page: the 2.4 MB video takes ~12 s.
const BRIDGE_RATE: &str = "200000";

fn make_video(path: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "60"])
        .args(["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "16", "-b:v", "1M", "-g", "50", "-c:a", "libopus", "-b:a", "64k"])
        .arg(path)
        .output()
        .context("ffmpeg (scripts/setup.sh test installs it)")?;
    anyhow::ensure!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// The `<video>`'s state and the transfer's progress, for messages.
const STATE_JS: &str = "const card = document.querySelector('#transfers .transfer'); const v = card && card.querySelector('video.player'); \
    return JSON.stringify({ state: card && card.dataset.state, have: card && card.dataset.have, pieces: card && card.dataset.pieces, \
      t: v && v.currentTime, duration: v && v.duration, ready: v && v.readyState, network: v && v.networkState, \
      error: v && v.error && (v.error.code + ' ' + v.error.message), paused: v && v.paused });";

async fn state(page: &Browser) -> String {
    page.client.execute(STATE_JS, vec![]).await.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Presses Play on the (only) transfer, checks the video plays while pieces are still
/// missing, seeks to 80 % and returns (seconds to first frame played, seconds for the
/// seek to play on, pieces held / total when the seek was made).
async fn play_and_seek(page: &Browser) -> anyhow::Result<(f64, f64, (u64, u64))> {
    let started = std::time::Instant::now();
    page.wait_for(
        "const b = document.querySelector('#transfers .transfer button.play'); if (!b || b.disabled) return null; b.click(); return true;",
        Duration::from_secs(60),
    )
    .await
    .with_context(|| "no enabled Play button on the transfer".to_string())?;
    let playing = page
        .wait_for(
            "const card = document.querySelector('#transfers .transfer'); const v = card && card.querySelector('video.player'); \
             if (!v || !(v.currentTime > 0.5)) return null; \
             return { have: Number(card.dataset.have), pieces: Number(card.dataset.pieces), state: card.dataset.state, duration: v.duration };",
            Duration::from_secs(60),
        )
        .await;
    let playing = match playing {
        Ok(v) => v,
        Err(e) => anyhow::bail!("the video did not play: {e}\n{}\n{}", state(page).await, outer_html(page, "#transfers").await),
    };
    let first_play = started.elapsed().as_secs_f64();
    let (have, pieces) = (playing["have"].as_u64().unwrap_or(0), playing["pieces"].as_u64().unwrap_or(0));
    assert!(pieces > 0 && have < pieces, "playback started only after the download completed ({have}/{pieces} pieces): {playing}");
    let duration = playing["duration"].as_f64().context("the video has no duration")?;
    assert!((duration - 60.0).abs() < 1.0, "duration {duration}");

    let at_seek = page
        .client
        .execute(
            "const card = document.querySelector('#transfers .transfer'); const v = card.querySelector('video.player'); \
             window.__seekTo = v.duration * 0.8; v.currentTime = window.__seekTo; \
             return [Number(card.dataset.have), Number(card.dataset.pieces)];",
            vec![],
        )
        .await?;
    let seek_pieces = (at_seek[0].as_u64().unwrap_or(0), at_seek[1].as_u64().unwrap_or(0));
    let seek_started = std::time::Instant::now();
    let seeked = page
        .wait_for(
            "const v = document.querySelector('#transfers .transfer video.player'); \
             return v && !v.seeking && v.currentTime > window.__seekTo + 1.0 ? v.currentTime : null;",
            Duration::from_secs(30),
        )
        .await;
    if let Err(e) = seeked {
        anyhow::bail!("the seek to 80 % did not play on: {e}\n{}\n{}", state(page).await, outer_html(page, "#transfers").await);
    }
    Ok((first_play, seek_started.elapsed().as_secs_f64(), seek_pieces))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_video_plays_and_seeks_while_it_downloads_by_magnet_and_by_cid() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let video = dir.path().join("test pattern.webm");
    make_video(&video)?;
    let www = chiral_e2e::workspace_root().join("www");
    let relay = Relay::start_with(&www, None, &["seed", video.to_str().unwrap(), "--bridge-rate", BRIDGE_RATE])?;
    let manifest = relay_manifest(&video, &["--public-url", &relay.url])?;
    let (magnet, cid) = (manifest["magnet"].as_str().unwrap().to_string(), manifest["cid"].as_str().unwrap().to_string());
    relay.wait_for_line(&format!("published {cid}"), Duration::from_secs(60))?;

    let by_magnet = Browser::start().await?;
    open_download(&by_magnet, &relay).await?;
    start_download(&by_magnet, &magnet).await?;
    let (play, seek, at) = play_and_seek(&by_magnet).await?;
    eprintln!("by magnet: first frames after {play:.1} s, seek to 80 % played on after {seek:.1} s ({}/{} pieces held at the seek)", at.0, at.1);
    assert!(seek < 10.0, "the seek took {seek:.1} s");
    drop(by_magnet);

    let by_cid = Browser::start().await?;
    open_download(&by_cid, &relay).await?;
    start_download(&by_cid, &cid).await?;
    let (play, seek, at) = play_and_seek(&by_cid).await?;
    eprintln!("by CID: first frames after {play:.1} s, seek to 80 % played on after {seek:.1} s ({}/{} pieces held at the seek)", at.0, at.1);
    assert!(seek < 10.0, "the seek took {seek:.1} s");
    // The stream read only verified pieces, and the file still completes and checks out.
    let done = chiral_e2e::wait_for_transfer(&by_cid, None, Duration::from_secs(120)).await?;
    assert_eq!(done.sha256, chiral_e2e::sha256_file(&video)?);
    Ok(())
}
