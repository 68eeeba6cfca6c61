//! Peer links: how bytes reach one peer of the swarm, a WebRTC data channel (browsers,
//! WebTorrent) or the WebSocket to this page's relay (the bridge). A link owns its
//! channel and its listeners: dropping it closes the one and removes the others.

use gloo_events::EventListener;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use web_sys::{EventTarget, MessageEvent, RtcDataChannel, RtcDataChannelState, RtcDataChannelType, RtcPeerConnection, WebSocket};

use super::{now_ms, Torrent, MAX_PEERS};
use crate::swarm::PeerKey;

/// An RTCPeerConnection and (once there is one) its data channel; dropping it closes both.
pub(super) struct RtcConn {
    pub(super) pc: RtcPeerConnection,
    pub(super) dc: Option<RtcDataChannel>,
}

impl Drop for RtcConn {
    fn drop(&mut self) {
        if let Some(dc) = &self.dc {
            dc.close();
        }
        self.pc.close();
    }
}

/// The WebSocket to the relay's bridge; dropping it closes it.
pub(super) struct BridgeSocket(pub(super) WebSocket);

impl Drop for BridgeSocket {
    fn drop(&mut self) {
        let _ = self.0.close();
    }
}

pub(super) enum Channel {
    Rtc(RtcConn),
    Bridge(BridgeSocket),
}

pub(super) struct PeerLink {
    /// Declared before `channel`: fields drop in order, so the listeners are removed before
    /// the channel is closed.
    pub(super) _listeners: Vec<EventListener>,
    pub(super) channel: Channel,
    pub(super) last: (u64, u64),
    pub(super) rates: (f64, f64),
    /// How a WebRTC peer's packets travel (`rtc::path`), once known.
    pub(super) path: std::rc::Rc<std::cell::Cell<Option<&'static str>>>,
    /// Asks the connection's stats for its path again: ICE may move to a better candidate
    /// pair after the first one carried the data channel open.
    pub(super) refresh_path: Option<std::rc::Rc<dyn Fn()>>,
}

impl PeerLink {
    pub(super) fn new(channel: Channel, listeners: Vec<EventListener>) -> Self {
        Self { _listeners: listeners, channel, last: (0, 0), rates: (0.0, 0.0), path: Default::default(), refresh_path: None }
    }

    pub(super) fn protocol(&self) -> &'static str {
        match self.channel {
            Channel::Rtc(_) => "WebTorrent",
            Channel::Bridge(_) => "relay bridge",
        }
    }

    /// Sends bytes if the channel is open; `Err` if the send failed.
    pub(super) fn send(&self, data: &[u8]) -> Result<(), ()> {
        let failed = match &self.channel {
            Channel::Rtc(RtcConn { dc: Some(dc), .. }) => dc.ready_state() == RtcDataChannelState::Open && dc.send_with_u8_array(data).is_err(),
            Channel::Rtc(RtcConn { dc: None, .. }) => false,
            Channel::Bridge(BridgeSocket(ws)) => ws.ready_state() == WebSocket::OPEN && ws.send_with_u8_array(data).is_err(),
        };
        if failed {
            Err(())
        } else {
            Ok(())
        }
    }
}

impl Torrent {
    /// Connections we may still take.
    pub(super) fn room(&self) -> usize {
        let inner = self.0.borrow();
        if inner.stopped {
            0
        } else {
            MAX_PEERS.saturating_sub(inner.peers.len())
        }
    }

    pub(super) fn next_key(&self) -> PeerKey {
        let mut inner = self.0.borrow_mut();
        let key = PeerKey(inner.next_key);
        inner.next_key += 1;
        key
    }

    /// Removes a link (closing it) and tells the swarm.
    pub(super) fn drop_peer(&self, peer: PeerKey) {
        let link = self.0.borrow_mut().peers.remove(&peer);
        if let Some(link) = link {
            drop(link);
            self.0.borrow_mut().swarm.handle_disconnected(peer, now_ms() as u64);
            self.release_channel(peer);
            self.pump();
        }
    }

    /// `message` for any peer channel: binary messages are bytes for the swarm.
    pub(super) fn bytes_listener(&self, target: &EventTarget, key: PeerKey) -> EventListener {
        let weak = self.downgrade();
        EventListener::new(target, "message", move |ev| {
            let Some(ev) = ev.dyn_ref::<MessageEvent>() else { return };
            let Ok(buffer) = ev.data().dyn_into::<ArrayBuffer>() else { return };
            let bytes = Uint8Array::new(&buffer).to_vec();
            let Some(t) = weak.upgrade() else { return };
            t.0.borrow_mut().swarm.handle_data(key, &bytes, now_ms() as u64);
            t.pump();
        })
    }

    /// Wires a negotiated connection's data channel to the swarm under a new key.
    pub(super) fn attach(&self, rtc: RtcConn, initiator: bool) {
        let Some(dc) = rtc.dc.clone() else { return };
        if self.0.borrow().stopped {
            return; // `rtc` closes here
        }
        let key = self.next_key();
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        let weak = self.downgrade();
        let path = std::rc::Rc::<std::cell::Cell<Option<&'static str>>>::default();
        let (path_pc, path_cell) = (rtc.pc.clone(), path.clone());
        let learn_path = move || {
            let (pc, cell) = (path_pc.clone(), path_cell.clone());
            wasm_bindgen_futures::spawn_local(async move { cell.set(crate::browser::rtc::path(&pc).await) });
        };
        let learn_on_open = learn_path.clone();
        let on_open = EventListener::new(&dc, "open", move |_| {
            learn_on_open();
            let Some(t) = weak.upgrade() else { return };
            t.0.borrow_mut().swarm.handle_connected(key, initiator, now_ms() as u64);
            t.pump();
        });
        let on_message = self.bytes_listener(&dc, key);
        let gone = |event: &'static str, target: &EventTarget| {
            let weak = self.downgrade();
            EventListener::new(target, event, move |_| {
                if let Some(t) = weak.upgrade() {
                    t.drop_peer(key);
                }
            })
        };
        let on_close = gone("close", &dc);
        let on_error = gone("error", &dc);
        let weak = self.downgrade();
        let pc = rtc.pc.clone();
        let learn_on_change = learn_path.clone();
        let on_state = EventListener::new(&rtc.pc, "connectionstatechange", move |_| {
            use web_sys::RtcPeerConnectionState as S;
            if pc.connection_state() == S::Connected {
                learn_on_change();
            }
            if matches!(pc.connection_state(), S::Failed | S::Closed) {
                if let Some(t) = weak.upgrade() {
                    t.drop_peer(key);
                }
            }
        });
        let already_open = dc.ready_state() == RtcDataChannelState::Open;
        let mut link = PeerLink::new(Channel::Rtc(rtc), vec![on_open, on_message, on_close, on_error, on_state]);
        link.path = path;
        if already_open {
            learn_path();
        }
        link.refresh_path = Some(std::rc::Rc::new(learn_path));
        self.0.borrow_mut().peers.insert(key, link);
        if already_open {
            self.0.borrow_mut().swarm.handle_connected(key, initiator, now_ms() as u64);
            self.pump();
        }
    }
}
