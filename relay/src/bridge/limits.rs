//! What bounds the bridge: the operator's limits ([`BridgeLimits`]), the disk budget all
//! bridged files share, how long a connection may stay silent, and the upload pacer.

use std::time::{Duration, Instant};

/// What a community relay gives the bridge (flags `--bridge-*`).
#[derive(Debug, Clone, Copy)]
pub struct BridgeLimits {
    /// Upload cap per connection, bytes per second.
    pub rate: Option<u64>,
    /// Files bridged at once.
    pub max_files: usize,
    /// Disk for the pieces of bridged files, all together (a file bigger than what is left
    /// is refused with a clear error).
    pub disk_bytes: u64,
    /// A page or TCP peer that sends nothing this long is dropped (3 minutes: honest peers
    /// send BitTorrent keep-alives, every minute from our swarm core, every two from most
    /// clients; browsers also answer the relay's WebSocket pings).
    pub idle_timeout: Duration,
    /// A page's first message (its handshake), or the first bytes of a peer the relay
    /// dialled, must come this soon (15 s).
    pub first_message_timeout: Duration,
}

impl Default for BridgeLimits {
    fn default() -> Self {
        Self { rate: None, max_files: 64, disk_bytes: 16 << 30, idle_timeout: Duration::from_secs(180), first_message_timeout: Duration::from_secs(15) }
    }
}

/// How long a bridge connection may stay silent (from [`BridgeLimits`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Silence {
    pub first: Duration,
    pub idle: Duration,
}

/// The bridge's disk budget, shared by its files' tasks.
#[derive(Debug)]
pub(super) struct DiskBudget {
    pub limit: u64,
    pub used: std::sync::atomic::AtomicU64,
}

impl DiskBudget {
    pub fn try_reserve(&self, bytes: u64) -> Result<(), super::BridgeError> {
        use std::sync::atomic::Ordering;
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| used.checked_add(bytes).filter(|total| *total <= self.limit))
            .map(|_| ())
            .map_err(|used| super::BridgeError::NoDiskRoom { free: self.limit.saturating_sub(used), limit: self.limit, needed: bytes })
    }

    pub fn release(&self, bytes: u64) {
        self.used.fetch_sub(bytes, std::sync::atomic::Ordering::SeqCst);
    }
}
/// Paces one connection's outgoing bytes to `rate` bytes per second (token bucket, 1 s burst).
pub(super) struct Pacer {
    rate: Option<u64>,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    pub fn new(rate: Option<u64>) -> Self {
        Self { rate, tokens: rate.unwrap_or(0) as f64, last: Instant::now() }
    }

    pub async fn take(&mut self, bytes: usize) {
        let Some(rate) = self.rate.filter(|r| *r > 0) else { return };
        let rate = rate as f64;
        self.tokens = (self.tokens + self.last.elapsed().as_secs_f64() * rate).min(rate);
        self.last = Instant::now();
        self.tokens -= bytes as f64;
        if self.tokens < 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(-self.tokens / rate)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DiskBudget;

    #[test]
    fn the_disk_budget_refuses_what_does_not_fit_and_frees_on_release() {
        let disk = DiskBudget { limit: 100, used: Default::default() };
        assert!(disk.try_reserve(60).is_ok());
        let e = disk.try_reserve(50).unwrap_err().to_string();
        assert!(e.contains("40 of its 100 bytes"), "{e}");
        disk.release(60);
        assert!(disk.try_reserve(100).is_ok());
        assert!(disk.try_reserve(u64::MAX).is_err(), "no overflow");
    }
}
