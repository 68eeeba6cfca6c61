//! RTCPeerConnection plumbing for WebTorrent-style signaling: complete SDPs (no trickle;
//! every candidate is in the SDP, as bittorrent-tracker's peers expect), one ordered,
//! reliable data channel opened by the offering side.

use std::time::Duration;

use js_sys::Reflect;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use crate::ice::IceServer;
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

thread_local! {
    /// The ICE servers every new peer connection gets ([`set_ice_servers`]).
    static ICE_SERVERS: std::cell::RefCell<Vec<IceServer>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Whether the relay's answer (or its failure) came in ([`ice_settled`]).
    static ICE_SETTLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// New connections wait at most this long for the relay's ICE servers at page load.
const ICE_WAIT: Duration = Duration::from_secs(3);

/// Says the relay's ICE servers are known (or will not be): connections stop waiting for them.
pub fn ice_settled() {
    ICE_SETTLED.with(|s| s.set(true));
}

/// A connection made in the page's first moments waits (up to [`ICE_WAIT`]) for the
/// relay's ICE servers, so its offer carries server-reflexive and relay candidates.
async fn wait_for_ice() {
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    while !ICE_SETTLED.with(std::cell::Cell::get) && waited < ICE_WAIT {
        futures_timer::Delay::new(step).await;
        waited += step;
    }
    // Waited once: later connections go ahead with whatever is known.
    ice_settled();
}

/// The STUN/TURN servers new peer connections use from now on (the relay's `/api/ice`
/// merged with the user's, [`crate::ice::merge`]); without any, only host candidates are
/// gathered and only peers on the same network connect.
pub fn set_ice_servers(servers: Vec<IceServer>) {
    ICE_SERVERS.with(|s| *s.borrow_mut() = servers);
}

/// The ICE servers new peer connections get.
pub fn ice_servers() -> Vec<IceServer> {
    ICE_SERVERS.with(|s| s.borrow().clone())
}

fn ice_server_array() -> js_sys::Array {
    let array = js_sys::Array::new();
    for server in ice_servers() {
        let entry = js_sys::Object::new();
        let urls: js_sys::Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
        let _ = Reflect::set(&entry, &"urls".into(), &urls);
        if let (Some(user), Some(credential)) = (&server.username, &server.credential) {
            let _ = Reflect::set(&entry, &"username".into(), &user.into());
            let _ = Reflect::set(&entry, &"credential".into(), &credential.into());
        }
        array.push(&entry);
    }
    array
}

fn peer_connection() -> Result<RtcPeerConnection, RtcError> {
    let config = RtcConfiguration::new();
    config.set_ice_servers(&ice_server_array());
    match RtcPeerConnection::new_with_configuration(&config) {
        Ok(pc) => Ok(pc),
        Err(e) => {
            // The browser refuses the whole list for one URL it cannot parse: connect with
            // host candidates rather than not at all.
            tracing::warn!("the ICE servers were refused ({}); connecting without them", super::js_message(&e));
            RtcPeerConnection::new_with_configuration(&RtcConfiguration::new()).map_err(RtcError::browser("creating the peer connection"))
        }
    }
}

/// How a connected peer connection's packets travel, from its selected ICE candidate pair
/// (W3C webrtc-stats §7.4, §7.9): `"TURN relay"` when either end is a relay candidate,
/// `"direct"` otherwise (host, or server/peer reflexive through NATs); `None` before a
/// pair is selected.
pub async fn path(pc: &RtcPeerConnection) -> Option<&'static str> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let get = |v: &JsValue, k: &str| Reflect::get(v, &k.into()).ok().and_then(|x| x.as_string());
    let mut stats = std::collections::HashMap::new();
    let mut selected = None;
    let mut nominated = None;
    for entry in js_sys::Array::from(&report).iter() {
        let value = Reflect::get(&entry, &1.into()).ok()?;
        let (Some(id), Some(kind)) = (get(&value, "id"), get(&value, "type")) else { continue };
        match kind.as_str() {
            "transport" => selected = selected.or(get(&value, "selectedCandidatePairId")),
            "candidate-pair" if get(&value, "state").as_deref() == Some("succeeded") && Reflect::get(&value, &"nominated".into()).ok().and_then(|n| n.as_bool()) == Some(true) => nominated = Some(id.clone()),
            _ => {}
        }
        stats.insert(id, value);
    }
    let pair = stats.get(&selected.or(nominated)?)?;
    let candidate_type = |key: &str| get(pair, key).and_then(|id| stats.get(&id)).and_then(|c| get(c, "candidateType"));
    let types = [candidate_type("localCandidateId")?, candidate_type("remoteCandidateId")?];
    Some(if types.iter().any(|t| t == "relay") { "TURN relay" } else { "direct" })
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
    wait_for_ice().await;
    let pc = peer_connection()?;
    let dc = pc.create_data_channel("chiral");
    let offer = JsFuture::from(pc.create_offer()).await.map_err(RtcError::browser("creating the offer"))?;
    set_local(&pc, RtcSdpType::Offer, offer).await?;
    let sdp = gathered_sdp(&pc).await?;
    Ok((pc, dc, sdp))
}

/// Answers a peer's offer; the data channel arrives through `ondatachannel`.
pub async fn answer_offer(offer_sdp: &str) -> Result<(RtcPeerConnection, String), RtcError> {
    wait_for_ice().await;
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
