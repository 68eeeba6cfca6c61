//! RTCPeerConnection plumbing for WebTorrent-style signaling: complete SDPs (no trickle;
//! every candidate is in the SDP, as bittorrent-tracker's peers expect), one ordered,
//! reliable data channel opened by the offering side.

use std::time::Duration;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcConfiguration, RtcDataChannel, RtcIceGatheringState, RtcPeerConnection, RtcSdpType, RtcSessionDescriptionInit,
};

/// simple-peer gives ICE gathering 5 s before sending what it has; so do we.
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);

pub fn js_error(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

fn peer_connection() -> Result<RtcPeerConnection, String> {
    let config = RtcConfiguration::new();
    // Host candidates reach peers on the same network; a relay-provided STUN/TURN list
    // would go here.
    config.set_ice_servers(&js_sys::Array::new());
    RtcPeerConnection::new_with_configuration(&config).map_err(|e| js_error(&e))
}

async fn gathered_sdp(pc: &RtcPeerConnection) -> Result<String, String> {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    while pc.ice_gathering_state() != RtcIceGatheringState::Complete && waited < GATHER_TIMEOUT {
        futures_timer::Delay::new(step).await;
        waited += step;
    }
    pc.local_description().map(|d| d.sdp()).ok_or_else(|| "no local description".to_string())
}

async fn set_local(pc: &RtcPeerConnection, kind: RtcSdpType, description: JsValue) -> Result<(), String> {
    let sdp = Reflect::get(&description, &"sdp".into()).ok().and_then(|s| s.as_string()).ok_or("no SDP")?;
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&init)).await.map_err(|e| js_error(&e))?;
    Ok(())
}

async fn set_remote(pc: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), String> {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&init)).await.map_err(|e| js_error(&e))?;
    Ok(())
}

/// A new connection with its data channel and a complete offer SDP.
pub async fn create_offer() -> Result<(RtcPeerConnection, RtcDataChannel, String), String> {
    let pc = peer_connection()?;
    let dc = pc.create_data_channel("chiral");
    let offer = JsFuture::from(pc.create_offer()).await.map_err(|e| js_error(&e))?;
    set_local(&pc, RtcSdpType::Offer, offer).await?;
    let sdp = gathered_sdp(&pc).await?;
    Ok((pc, dc, sdp))
}

/// Answers a peer's offer; the data channel arrives through `ondatachannel`.
pub async fn answer_offer(offer_sdp: &str) -> Result<(RtcPeerConnection, String), String> {
    let pc = peer_connection()?;
    set_remote(&pc, RtcSdpType::Offer, offer_sdp).await?;
    let answer = JsFuture::from(pc.create_answer()).await.map_err(|e| js_error(&e))?;
    set_local(&pc, RtcSdpType::Answer, answer).await?;
    let sdp = gathered_sdp(&pc).await?;
    Ok((pc, sdp))
}

pub async fn accept_answer(pc: &RtcPeerConnection, answer_sdp: &str) -> Result<(), String> {
    set_remote(pc, RtcSdpType::Answer, answer_sdp).await
}
