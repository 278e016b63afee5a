//! hyper's timer for one HTTP/1 connection. hyper sets a new header-read deadline for every
//! request and drops it once the head is read: with tokio's timer that is an entry inserted
//! into and removed from the runtime's timer wheel, under its lock, per request. Here one
//! tokio timer per connection stands for all of them: it stays armed at an earlier request's
//! deadline, which is never later than the current one, and is moved on only when it fires
//! before the current deadline, about once per timeout on a busy connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};
use tokio::time::Instant as TokioInstant;

/// One connection's timer; its sleeps share one armed tokio timer.
#[derive(Default)]
pub(super) struct ConnectionTimer {
    armed: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

impl Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(Deadline {
            at: deadline.into(),
            armed: self.armed.clone(),
        })
    }

    fn now(&self) -> Instant {
        // tokio's clock, which tests can pause, as the armed timer's.
        TokioInstant::now().into()
    }
}

/// Ready once `at` has passed.
struct Deadline {
    at: TokioInstant,
    armed: Arc<Mutex<Option<Pin<Box<tokio::time::Sleep>>>>>,
}

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let at = self.at;
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        let armed = armed.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if armed.deadline() > at {
            armed.as_mut().reset(at);
        }
        // Armed no later than `at`: when it fires, either `at` has passed or it moves on.
        while armed.as_mut().poll(cx).is_ready() {
            if TokioInstant::now() >= at {
                return Poll::Ready(());
            }
            armed.as_mut().reset(at);
        }
        Poll::Pending
    }
}

impl Sleep for Deadline {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_deadline_is_kept_though_one_timer_stands_for_all() {
        let (short, long) = (Duration::from_millis(50), Duration::from_secs(1));
        let timer = ConnectionTimer::default();
        let start = TokioInstant::now();
        timer.sleep(short).await;
        assert!(start.elapsed() >= short);
        // The later one, polled first, moves the fired timer on to its deadline; the
        // earlier one then has to bring it back.
        let mut later = timer.sleep(long);
        std::future::poll_fn(|cx| {
            assert!(later.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        timer.sleep(short).await;
        assert!(start.elapsed() < long, "an earlier deadline is not late");
        later.await;
        assert!(start.elapsed() >= long, "nor a later one early");
    }
}
