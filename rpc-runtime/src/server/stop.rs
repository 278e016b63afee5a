//! Serving a connection until the server stops, at the cost of a flag read per wake-up. A
//! cancellation future takes its notifier's lock at every poll, and a connection's task is
//! woken for every request; the lock is taken here only when the task's waker changes.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

pub(super) enum Until<T> {
    Finished(T),
    Stopped,
}

/// `future`'s output, or `Stopped` once `stop` is cancelled, whichever comes first.
pub(super) fn until_stopped<F: Future + Unpin>(
    stop: &CancellationToken,
    future: F,
) -> UntilStopped<'_, F> {
    UntilStopped {
        future,
        stop,
        cancelled: Box::pin(stop.cancelled()),
        registered: None,
    }
}

pub(super) struct UntilStopped<'a, F> {
    future: F,
    stop: &'a CancellationToken,
    cancelled: Pin<Box<WaitForCancellationFuture<'a>>>,
    /// The waker `cancelled` was last polled with: it wakes this task on the cancellation.
    registered: Option<Waker>,
}

impl<F: Future + Unpin> Future for UntilStopped<'_, F> {
    type Output = Until<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let current = this
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        if current {
            // Set before the registered waker is woken: a wake-up never finds it unset.
            if this.stop.is_cancelled() {
                return Poll::Ready(Until::Stopped);
            }
        } else {
            if this.cancelled.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Until::Stopped);
            }
            this.registered = Some(cx.waker().clone());
        }
        Pin::new(&mut this.future).poll(cx).map(Until::Finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_pending_future_is_left_when_the_server_stops() {
        let stop = CancellationToken::new();
        let cancel = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            cancel.cancel();
        });
        let never = std::pin::pin!(std::future::pending::<()>());
        let waited = tokio::time::timeout(Duration::from_secs(5), until_stopped(&stop, never));
        assert!(matches!(waited.await, Ok(Until::Stopped)));
    }

    #[tokio::test]
    async fn a_finished_future_answers_its_output() {
        let stop = CancellationToken::new();
        let ready = until_stopped(&stop, std::future::ready(7)).await;
        assert!(matches!(ready, Until::Finished(7)));
    }
}
