//! Counters shared by every simulated peer, and latency samples (µs) kept exactly in a Vec
//! (at most a few hundred thousand per run) and sorted for percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

#[derive(Debug, Default)]
pub struct Latencies(Mutex<Vec<u32>>);

impl Latencies {
    pub fn record(&self, d: Duration) {
        let us = u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        self.0.lock().expect("latency lock").push(us);
    }

    pub fn take(&self) -> Summary {
        Summary::of(std::mem::take(&mut *self.0.lock().expect("latency lock")))
    }
}

/// Percentiles of one set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    pub fn of(mut samples: Vec<u32>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| f64::from(samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]) / 1000.0;
        Self { count: samples.len(), p50_ms: at(0.50), p99_ms: at(0.99), max_ms: at(1.0) }
    }

    pub fn json(&self) -> Value {
        json!({ "count": self.count, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "max_ms": self.max_ms })
    }
}

/// Monotonic counters (a snapshot minus an earlier one gives a phase's numbers) and gauges.
#[derive(Debug, Default)]
pub struct Counters {
    /// Gauge: sockets open now.
    pub connected: AtomicU64,
    /// Gauge: peers that got the reply to their first announce.
    pub ready: AtomicU64,
    /// Peers that are done trying to connect (ready or failed).
    pub settled: AtomicU64,
    pub announces: AtomicU64,
    pub replies: AtomicU64,
    pub offers_received: AtomicU64,
    pub answers_sent: AtomicU64,
    pub answers_received: AtomicU64,
    pub connect_errors: AtomicU64,
    pub failures: AtomicU64,
    pub dropped: AtomicU64,
    pub missed_replies: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub announces: u64,
    pub replies: u64,
    pub offers_received: u64,
    pub answers_sent: u64,
    pub answers_received: u64,
    pub connect_errors: u64,
    pub failures: u64,
    pub dropped: u64,
    pub missed_replies: u64,
}

impl Counters {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> Snapshot {
        let g = Self::get;
        Snapshot {
            announces: g(&self.announces),
            replies: g(&self.replies),
            offers_received: g(&self.offers_received),
            answers_sent: g(&self.answers_sent),
            answers_received: g(&self.answers_received),
            connect_errors: g(&self.connect_errors),
            failures: g(&self.failures),
            dropped: g(&self.dropped),
            missed_replies: g(&self.missed_replies),
        }
    }
}

impl Snapshot {
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            announces: self.announces - earlier.announces,
            replies: self.replies - earlier.replies,
            offers_received: self.offers_received - earlier.offers_received,
            answers_sent: self.answers_sent - earlier.answers_sent,
            answers_received: self.answers_received - earlier.answers_received,
            connect_errors: self.connect_errors - earlier.connect_errors,
            failures: self.failures - earlier.failures,
            dropped: self.dropped - earlier.dropped,
            missed_replies: self.missed_replies - earlier.missed_replies,
        }
    }

    /// Everything that went wrong: failed connects, `failure reason`s, sockets the server
    /// closed, announces with no reply before the next one was due.
    pub fn errors(&self) -> u64 {
        self.connect_errors + self.failures + self.dropped + self.missed_replies
    }

    pub fn json(&self) -> Value {
        json!({
            "announces": self.announces, "replies": self.replies, "offers_received": self.offers_received,
            "answers_sent": self.answers_sent, "answers_received": self.answers_received,
            "connect_errors": self.connect_errors, "failures": self.failures, "dropped": self.dropped,
            "missed_replies": self.missed_replies, "errors": self.errors(),
        })
    }
}
