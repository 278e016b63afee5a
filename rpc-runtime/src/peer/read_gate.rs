//! Polling a connection's socket for reading only when it may have something to read.
//!
//! A connection's task waits on its socket and on its outbox at once, and a fan-out wakes every
//! subscriber's task through its outbox. Polling the socket again on each of those wakes costs
//! a read attempt (buffer preparation, readiness check, waker registration) that a publish to
//! thousands of connections pays thousands of times, while the waker the socket registered on
//! its last `Pending` is still in place. The gate remembers whether that waker has fired since,
//! and polls the socket only if it has.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::Stream;

pub(crate) struct ReadGate {
    signal: Arc<Signal>,
    /// The waker the socket is polled with: it opens the gate, then wakes the task.
    waker: Waker,
}

struct Signal {
    /// Whether the socket may have something to read: true until a poll finds it has nothing,
    /// and again once the waker registered by that poll fires.
    open: AtomicBool,
    task: Waker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.open.store(true, Ordering::Release);
        self.task.wake_by_ref();
    }
}

impl ReadGate {
    /// A gate for the socket of the calling task, which must be the only task polling it.
    pub(crate) async fn for_current_task() -> Self {
        let task = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let signal = Arc::new(Signal {
            open: AtomicBool::new(true),
            task,
        });
        let waker = Waker::from(signal.clone());
        ReadGate { signal, waker }
    }

    /// Polls `stream` if it may have something, else answers `Pending` at once: the waker left
    /// by the last poll will wake the task when that changes. Needs no context of its own, so it
    /// serves to drain what is ready as well as to wait.
    pub(crate) fn poll_next<S: Stream + Unpin>(&self, stream: &mut S) -> Poll<Option<S::Item>> {
        // Closed before the poll, so that a wake arriving during it is not lost.
        if !self.signal.open.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let polled = Pin::new(stream).poll_next(&mut Context::from_waker(&self.waker));
        if polled.is_ready() {
            // More may be buffered behind this item.
            self.signal.open.store(true, Ordering::Release);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn polls_the_stream_again_only_after_its_waker_fires() {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let mut stream = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
        let gate = ReadGate::for_current_task().await;
        assert!(gate.poll_next(&mut stream).is_pending());
        assert!(
            !gate.signal.open.load(Ordering::Acquire),
            "closed after Pending"
        );
        sender.send(1).unwrap();
        assert!(
            gate.signal.open.load(Ordering::Acquire),
            "the stream's waker opens it"
        );
        assert_eq!(gate.poll_next(&mut stream), Poll::Ready(Some(1)));
        assert!(gate.poll_next(&mut stream).is_pending());
        drop(sender);
        assert_eq!(gate.poll_next(&mut stream), Poll::Ready(None));
    }
}
