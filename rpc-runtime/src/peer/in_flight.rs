//! The calls a connection has running on tasks of their own, and the messages they hold: both
//! bounded, so that a client sending faster than its calls finish waits in its own socket.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::task::{JoinError, JoinSet};

use crate::dispatch::Reply;

pub(super) struct InFlight {
    calls: JoinSet<Reply>,
    /// The bytes of the messages the running calls hold; each call's share is given back when
    /// its task ends, however it ends. Made by the first call that needs a task: a connection
    /// whose calls all finish at once (or an idle one) never allocates it.
    bytes: Option<Arc<AtomicUsize>>,
    max_calls: usize,
    max_bytes: usize,
}

/// A running call's share of [`InFlight::bytes`].
struct Held {
    bytes: Arc<AtomicUsize>,
    size: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.bytes.fetch_sub(self.size, Ordering::Relaxed);
    }
}

impl InFlight {
    pub(super) fn new(max_calls: usize, max_bytes: usize) -> Self {
        InFlight {
            calls: JoinSet::new(),
            bytes: None,
            max_calls,
            max_bytes,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.calls.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Whether the connection must stop reading until a call ends.
    pub(super) fn is_full(&self) -> bool {
        self.calls.len() >= self.max_calls
            || self
                .bytes
                .as_ref()
                .is_some_and(|bytes| bytes.load(Ordering::Relaxed) >= self.max_bytes)
    }

    /// Runs `call`, which holds a message of `size` bytes until it ends.
    pub(super) fn spawn<F>(&mut self, size: usize, call: F)
    where
        F: Future<Output = Reply> + Send + 'static,
    {
        let bytes = self.bytes.get_or_insert_with(Arc::default);
        bytes.fetch_add(size, Ordering::Relaxed);
        let held = Held {
            bytes: bytes.clone(),
            size,
        };
        self.calls.spawn(async move {
            let _held = held;
            call.await
        });
    }

    pub(super) async fn join_next(&mut self) -> Option<Result<Reply, JoinError>> {
        self.calls.join_next().await
    }

    pub(super) fn try_join_next(&mut self) -> Option<Result<Reply, JoinError>> {
        self.calls.try_join_next()
    }

    pub(super) fn abort_all(&mut self) {
        self.calls.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_by_count_or_by_bytes_and_free_again_as_calls_end() {
        let mut in_flight = InFlight::new(2, 100);
        let (release, released) = tokio::sync::watch::channel(false);
        let wait = move || {
            let mut released = released.clone();
            async move {
                let _ = released.wait_for(|done| *done).await;
                Reply::default()
            }
        };
        in_flight.spawn(10, wait());
        assert!(!in_flight.is_full());
        in_flight.spawn(10, wait());
        assert!(in_flight.is_full(), "two calls");
        release.send(true).unwrap();
        while in_flight.join_next().await.is_some() {}
        assert!(!in_flight.is_full());
        in_flight.spawn(150, std::future::pending());
        assert!(
            in_flight.is_full(),
            "one call holding more than the byte bound"
        );
        in_flight.abort_all();
        while in_flight.join_next().await.is_some() {}
        assert!(!in_flight.is_full(), "an aborted call gives its bytes back");
    }
}
