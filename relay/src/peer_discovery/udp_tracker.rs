//! BEP 15 UDP tracker protocol, sans-IO: request builders and a response parser that never
//! panics on hostile bytes. The exchange (connect, then announce with the connection id) is
//! driven by [`announce`], which retries with backoff as BEP 15 asks.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

/// The magic constant a connect request carries.
pub const PROTOCOL_ID: u64 = 0x41727101980;
const ACTION_CONNECT: u32 = 0;
const ACTION_ANNOUNCE: u32 = 1;
const ACTION_ERROR: u32 = 3;
/// Bigger than any announce reply we ask for (numwant ≤ 200 IPv6 peers).
pub const MAX_PACKET: usize = 20 + 200 * 18;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Connect { transaction: u32, connection: u64 },
    Announce { transaction: u32, interval: u32, leechers: u32, seeders: u32, peers: Vec<SocketAddr> },
    Error { transaction: u32, message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UdpTrackerError {
    #[error("the tracker's reply is {0} bytes, too short for its action")]
    Short(usize),
    #[error("the tracker's reply has unknown action {0}")]
    Action(u32),
    #[error("the tracker answered another transaction")]
    Transaction,
    #[error("the tracker refused: {0}")]
    Refused(String),
    #[error("the tracker did not answer")]
    Timeout,
    #[error("{0}")]
    Io(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    None = 0,
    Completed = 1,
    Started = 2,
    Stopped = 3,
}

#[derive(Debug, Clone, Copy)]
pub struct Announce {
    pub info_hash: [u8; 20],
    pub peer_id: [u8; 20],
    pub downloaded: u64,
    pub left: u64,
    pub uploaded: u64,
    pub event: Event,
    pub key: u32,
    pub numwant: u32,
    pub port: u16,
}

pub fn connect_request(transaction: u32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&PROTOCOL_ID.to_be_bytes());
    out[8..12].copy_from_slice(&ACTION_CONNECT.to_be_bytes());
    out[12..].copy_from_slice(&transaction.to_be_bytes());
    out
}

pub fn announce_request(connection: u64, transaction: u32, a: &Announce) -> [u8; 98] {
    let mut out = [0u8; 98];
    out[..8].copy_from_slice(&connection.to_be_bytes());
    out[8..12].copy_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
    out[12..16].copy_from_slice(&transaction.to_be_bytes());
    out[16..36].copy_from_slice(&a.info_hash);
    out[36..56].copy_from_slice(&a.peer_id);
    out[56..64].copy_from_slice(&a.downloaded.to_be_bytes());
    out[64..72].copy_from_slice(&a.left.to_be_bytes());
    out[72..80].copy_from_slice(&a.uploaded.to_be_bytes());
    out[80..84].copy_from_slice(&(a.event as u32).to_be_bytes());
    // 84..88: IP address 0 = the sender's.
    out[88..92].copy_from_slice(&a.key.to_be_bytes());
    out[92..96].copy_from_slice(&a.numwant.to_be_bytes());
    out[96..98].copy_from_slice(&a.port.to_be_bytes());
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Parses one reply. `ipv6`: the tracker was reached over IPv6, so peers are 18-byte entries.
pub fn parse_response(bytes: &[u8], ipv6: bool) -> Result<Response, UdpTrackerError> {
    if bytes.len() < 8 {
        return Err(UdpTrackerError::Short(bytes.len()));
    }
    let action = u32_at(bytes, 0);
    let transaction = u32_at(bytes, 4);
    match action {
        ACTION_CONNECT => {
            let connection = bytes.get(8..16).ok_or(UdpTrackerError::Short(bytes.len()))?;
            Ok(Response::Connect { transaction, connection: u64::from_be_bytes(connection.try_into().expect("8 bytes")) })
        }
        ACTION_ANNOUNCE => {
            if bytes.len() < 20 {
                return Err(UdpTrackerError::Short(bytes.len()));
            }
            let entry = if ipv6 { 18 } else { 6 };
            let peers = bytes[20..]
                .chunks_exact(entry)
                .filter_map(|c| {
                    let port = u16::from_be_bytes([c[entry - 2], c[entry - 1]]);
                    let addr = if ipv6 {
                        SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(<[u8; 16]>::try_from(&c[..16]).ok()?), port, 0, 0))
                    } else {
                        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(c[0], c[1], c[2], c[3]), port))
                    };
                    (port != 0).then_some(addr)
                })
                .collect();
            Ok(Response::Announce { transaction, interval: u32_at(bytes, 8), leechers: u32_at(bytes, 12), seeders: u32_at(bytes, 16), peers })
        }
        ACTION_ERROR => Ok(Response::Error { transaction, message: String::from_utf8_lossy(&bytes[8..]).chars().take(200).collect() }),
        other => Err(UdpTrackerError::Action(other)),
    }
}

/// What an announce brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peers {
    pub interval: Duration,
    pub peers: Vec<SocketAddr>,
}

/// Connect and announce to `tracker` from `socket` (already connected to it), retrying each
/// step up to `tries` times with doubling waits (BEP 15's backoff, shortened: pages wait).
pub async fn announce(socket: &tokio::net::UdpSocket, a: &Announce, tries: u32) -> Result<Peers, UdpTrackerError> {
    let ipv6 = socket.peer_addr().map_err(|e| UdpTrackerError::Io(e.to_string()))?.is_ipv6();
    let mut buf = vec![0u8; MAX_PACKET];
    let connection = match exchange(socket, &mut buf, tries, ipv6, |t| connect_request(t).to_vec()).await? {
        Response::Connect { connection, .. } => connection,
        other => return Err(UdpTrackerError::Io(format!("unexpected reply to connect: {other:?}"))),
    };
    match exchange(socket, &mut buf, tries, ipv6, |t| announce_request(connection, t, a).to_vec()).await? {
        Response::Announce { interval, peers, .. } => Ok(Peers { interval: Duration::from_secs(u64::from(interval)), peers }),
        other => Err(UdpTrackerError::Io(format!("unexpected reply to announce: {other:?}"))),
    }
}

async fn exchange(socket: &tokio::net::UdpSocket, buf: &mut [u8], tries: u32, ipv6: bool, request: impl Fn(u32) -> Vec<u8>) -> Result<Response, UdpTrackerError> {
    let io = |e: std::io::Error| UdpTrackerError::Io(e.to_string());
    let mut wait = Duration::from_secs(2);
    for _ in 0..tries {
        let transaction = rand_u32();
        socket.send(&request(transaction)).await.map_err(io)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, socket.recv(buf)).await {
                Err(_) => break, // resend
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(n)) => match parse_response(&buf[..n], ipv6) {
                    Ok(Response::Error { transaction: t, message }) if t == transaction => return Err(UdpTrackerError::Refused(message)),
                    Ok(r) if response_transaction(&r) == transaction => return Ok(r),
                    _ => continue, // stale or garbage: keep listening
                },
            }
        }
        wait *= 2;
    }
    Err(UdpTrackerError::Timeout)
}

fn response_transaction(r: &Response) -> u32 {
    match r {
        Response::Connect { transaction, .. } | Response::Announce { transaction, .. } | Response::Error { transaction, .. } => *transaction,
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn connect_and_announce_layouts() {
        let c = connect_request(7);
        assert_eq!(&c[..8], &PROTOCOL_ID.to_be_bytes());
        assert_eq!(u32_at(&c, 12), 7);
        let a = Announce { info_hash: [1; 20], peer_id: [2; 20], downloaded: 3, left: 4, uploaded: 5, event: Event::Started, key: 9, numwant: 50, port: 6881 };
        let r = announce_request(0xdead, 8, &a);
        assert_eq!(u32_at(&r, 8), 1);
        assert_eq!(&r[16..36], &[1; 20]);
        assert_eq!(u32_at(&r, 80), 2);
        assert_eq!(&r[96..], &6881u16.to_be_bytes());
    }

    #[test]
    fn parses_replies() {
        let mut connect = vec![0, 0, 0, 0, 0, 0, 0, 5];
        connect.extend(42u64.to_be_bytes());
        assert_eq!(parse_response(&connect, false), Ok(Response::Connect { transaction: 5, connection: 42 }));
        let mut ann = vec![0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0, 60, 0, 0, 0, 1, 0, 0, 0, 2];
        ann.extend([127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 1, 0, 0]); // the second has port 0: dropped
        assert_eq!(
            parse_response(&ann, false),
            Ok(Response::Announce { transaction: 6, interval: 60, leechers: 1, seeders: 2, peers: vec!["127.0.0.1:6881".parse().unwrap()] })
        );
        let mut err = vec![0, 0, 0, 3, 0, 0, 0, 6];
        err.extend(b"unregistered torrent");
        assert_eq!(parse_response(&err, false), Ok(Response::Error { transaction: 6, message: "unregistered torrent".into() }));
        assert_eq!(parse_response(&[0, 0, 0, 1, 0, 0, 0, 6, 0], false), Err(UdpTrackerError::Short(9)));
        assert_eq!(parse_response(&[0, 0, 0, 9, 0, 0, 0, 6], false), Err(UdpTrackerError::Action(9)));
    }

    proptest! {
        #[test]
        fn hostile_replies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), ipv6 in any::<bool>()) {
            let _ = parse_response(&bytes, ipv6);
        }

        #[test]
        fn announce_replies_round_trip(interval in any::<u32>(), peers in proptest::collection::vec((any::<[u8; 4]>(), 1u16..), 0..60)) {
            let mut bytes = vec![0, 0, 0, 1, 0, 0, 0, 1];
            bytes.extend(interval.to_be_bytes());
            bytes.extend([0u8; 8]);
            for (ip, port) in &peers {
                bytes.extend(ip);
                bytes.extend(port.to_be_bytes());
            }
            let expected: Vec<SocketAddr> = peers.iter().map(|(ip, port)| SocketAddr::from((*ip, *port))).collect();
            prop_assert_eq!(parse_response(&bytes, false), Ok(Response::Announce { transaction: 1, interval, leechers: 0, seeders: 0, peers: expected }));
        }
    }
}
