//! What one client may hold at once, so that one address cannot take every slot of a
//! relay-wide limit: bridge files it made the relay open (8 of `--bridge-max-files`), TCP
//! BitTorrent connections (8 of 256). A client is counted by
//! [`crate::client_addr::limit_key`] (an IPv4 address, an IPv6 /64). Entries exist only
//! while permits are held, so the table is bounded by the relay-wide limits it guards.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Bridge files one client may have made the relay open at once.
pub const BRIDGE_FILES_PER_CLIENT: usize = 8;
/// TCP BitTorrent connections one client address may hold at once.
pub const TCP_PEERS_PER_CLIENT: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CapError {
    #[error("{client} already holds {max} {what} on this relay, the most one client may hold at once")]
    Reached { client: IpAddr, max: usize, what: &'static str },
}

/// A per-client cap on one kind of thing (`what`, named in refusals).
#[derive(Debug, Clone)]
pub struct PerClient {
    what: &'static str,
    max: usize,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerClient {
    pub fn new(what: &'static str, max: usize) -> Self {
        Self { what, max, held: Arc::default() }
    }

    /// One more for `client` (a limit key), released when the permit is dropped.
    pub fn try_acquire(&self, client: IpAddr) -> Result<ClientPermit, CapError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(client).or_default();
        if *count >= self.max {
            return Err(CapError::Reached { client, max: self.max, what: self.what });
        }
        *count += 1;
        Ok(ClientPermit { held: self.held.clone(), client })
    }

    /// What `client` holds now.
    pub fn held(&self, client: IpAddr) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).get(&client).copied().unwrap_or(0)
    }

    /// Clients holding anything.
    pub fn clients(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// One thing a client holds; dropping it gives the slot back.
#[derive(Debug)]
#[must_use = "the slot is released when the permit is dropped"]
pub struct ClientPermit {
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl Drop for ClientPermit {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_client_holds_at_most_its_cap_and_gets_slots_back() {
        let caps = PerClient::new("bridge files", 2);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        let first = caps.try_acquire(a).unwrap();
        let _second = caps.try_acquire(a).unwrap();
        let e = caps.try_acquire(a).unwrap_err();
        assert_eq!(e.to_string(), "203.0.113.1 already holds 2 bridge files on this relay, the most one client may hold at once");
        assert!(caps.try_acquire(b).is_ok(), "others are not affected");
        drop(first);
        assert_eq!(caps.held(a), 1);
        assert!(caps.try_acquire(a).is_ok());
    }

    proptest! {
        /// Whatever the order of takes and releases, nobody exceeds the cap and the table
        /// holds only clients that hold something.
        #[test]
        fn caps_hold_under_any_interleaving(ops in proptest::collection::vec((0u8..4, any::<bool>()), 0..200)) {
            let caps = PerClient::new("things", 3);
            let mut permits: Vec<Vec<ClientPermit>> = (0..4).map(|_| Vec::new()).collect();
            for (client, take) in ops {
                let ip = IpAddr::from([10, 0, 0, client]);
                let mine = &mut permits[client as usize];
                if take {
                    match caps.try_acquire(ip) {
                        Ok(p) => mine.push(p),
                        Err(_) => prop_assert_eq!(mine.len(), 3),
                    }
                } else {
                    mine.pop();
                }
                prop_assert_eq!(caps.held(ip), mine.len());
                prop_assert!(mine.len() <= 3);
            }
            prop_assert_eq!(caps.clients(), permits.iter().filter(|p| !p.is_empty()).count());
        }
    }
}
