//! What the tracker task has queued for one WebSocket: a bounded queue that holds no
//! allocation while empty (a tokio mpsc channel allocates a block of 32 slots up front,
//! about 1 KiB per socket), and a close flag the task sets to drop a client that does not read.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    #[error("the socket's outbox is full: the client is not reading")]
    Full,
    #[error("the socket is closed")]
    Closed,
}

/// Shared by the tracker task (pushes) and the socket's pump (takes).
#[derive(Debug)]
pub struct Outbox {
    queue: Mutex<VecDeque<String>>,
    /// Messages queued at most.
    capacity: usize,
    closed: AtomicBool,
    notify: Notify,
}

impl Outbox {
    /// `capacity`: messages queued at most before [`OutboxError::Full`].
    pub fn new(capacity: usize) -> Self {
        Self { queue: Mutex::new(VecDeque::new()), capacity, closed: AtomicBool::new(false), notify: Notify::new() }
    }

    /// Queues one message for the socket.
    pub fn push(&self, message: String) -> Result<(), OutboxError> {
        if self.is_closed() {
            return Err(OutboxError::Closed);
        }
        let mut queue = self.queue.lock().expect("outbox lock");
        if queue.len() >= self.capacity {
            return Err(OutboxError::Full);
        }
        queue.push_back(message);
        drop(queue);
        self.notify.notify_one();
        Ok(())
    }

    /// Everything queued, leaving the queue empty and unallocated.
    pub fn take(&self) -> VecDeque<String> {
        std::mem::take(&mut *self.queue.lock().expect("outbox lock"))
    }

    /// Tells the pump to end: its client is dropped.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Resolves after a push or a close (at once if one happened since the last wait).
    pub async fn changed(&self) {
        self.notify.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_and_closable() {
        let outbox = Outbox::new(2);
        outbox.push("a".into()).unwrap();
        outbox.push("b".into()).unwrap();
        assert_eq!(outbox.push("c".into()), Err(OutboxError::Full));
        outbox.changed().await; // the pushes left a wake-up
        assert_eq!(outbox.take(), ["a", "b"]);
        assert_eq!(outbox.queue.lock().unwrap().capacity(), 0);
        outbox.close();
        assert_eq!(outbox.push("d".into()), Err(OutboxError::Closed));
        outbox.changed().await;
        assert!(outbox.is_closed());
    }
}
