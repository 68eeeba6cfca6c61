//! RTCPeerConnection plumbing for WebTorrent-style signaling: complete SDPs (no trickle;
//! every candidate is in the SDP, as bittorrent-tracker's peers expect), one ordered,
//! reliable data channel opened by the offering side.

use std::time::Duration;

use js_sys::Reflect;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcConfiguration, RtcDataChannel, RtcIceGatheringState, RtcPeerConnection, RtcSdpType, RtcSessionDescriptionInit,
};

/// simple-peer gives ICE gathering 5 s before sending what it has; so do we.
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);

/// What failed while setting up a WebRTC connection.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcError {
    /// A browser WebRTC call threw (or its promise rejected); `message` is the exception's text.
    #[error("{op}: {message}")]
    Browser { op: &'static str, message: String },
    #[error("no local description")]
    NoLocalDescription,
    #[error("no SDP")]
    NoSdp,
}

impl RtcError {
    fn browser(op: &'static str) -> impl FnOnce(JsValue) -> Self {
        move |e| Self::Browser { op, message: super::js_message(&e) }
    }
}

fn peer_connection() -> Result<RtcPeerConnection, RtcError> {
    let config = RtcConfiguration::new();
    // Host candidates reach peers on the same network; a relay-provided STUN/TURN list
    // would go here.
    config.set_ice_servers(&js_sys::Array::new());
    RtcPeerConnection::new_with_configuration(&config).map_err(RtcError::browser("creating the peer connection"))
}

async fn gathered_sdp(pc: &RtcPeerConnection) -> Result<String, RtcError> {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    while pc.ice_gathering_state() != RtcIceGatheringState::Complete && waited < GATHER_TIMEOUT {
        futures_timer::Delay::new(step).await;
        waited += step;
    }
    pc.local_description().map(|d| d.sdp()).ok_or(RtcError::NoLocalDescription)
}

async fn set_local(pc: &RtcPeerConnection, kind: RtcSdpType, description: JsValue) -> Result<(), RtcError> {
    let sdp = Reflect::get(&description, &"sdp".into()).ok().and_then(|s| s.as_string()).ok_or(RtcError::NoSdp)?;
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&init)).await.map_err(RtcError::browser("setting the local description"))?;
    Ok(())
}

async fn set_remote(pc: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), RtcError> {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&init)).await.map_err(RtcError::browser("setting the remote description"))?;
    Ok(())
}

/// A new connection with its data channel and a complete offer SDP.
pub async fn create_offer() -> Result<(RtcPeerConnection, RtcDataChannel, String), RtcError> {
    let pc = peer_connection()?;
    let dc = pc.create_data_channel("chiral");
    let offer = JsFuture::from(pc.create_offer()).await.map_err(RtcError::browser("creating the offer"))?;
    set_local(&pc, RtcSdpType::Offer, offer).await?;
    let sdp = gathered_sdp(&pc).await?;
    Ok((pc, dc, sdp))
}

/// Answers a peer's offer; the data channel arrives through `ondatachannel`.
pub async fn answer_offer(offer_sdp: &str) -> Result<(RtcPeerConnection, String), RtcError> {
    let pc = peer_connection()?;
    set_remote(&pc, RtcSdpType::Offer, offer_sdp).await?;
    let answer = JsFuture::from(pc.create_answer()).await.map_err(RtcError::browser("creating the answer"))?;
    set_local(&pc, RtcSdpType::Answer, answer).await?;
    let sdp = gathered_sdp(&pc).await?;
    Ok((pc, sdp))
}

pub async fn accept_answer(pc: &RtcPeerConnection, answer_sdp: &str) -> Result<(), RtcError> {
    set_remote(pc, RtcSdpType::Answer, answer_sdp).await
}
