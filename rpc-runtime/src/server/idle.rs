//! When an HTTP/2 connection has gone idle. hyper closes an HTTP/1 connection that sends no
//! request head within the header read timeout; HTTP/2 has no such deadline, so the streams a
//! connection has running are counted here, and one timer per connection, moved on about once
//! per timeout, says when none has run for the timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The requests of one connection being answered, and when the last one ended.
pub(super) struct Activity {
    running: AtomicUsize,
    /// Nanoseconds from `start` to the end of the last request.
    last_end: AtomicU64,
    start: Instant,
}

/// A request being answered; it ends when dropped.
pub(super) struct Running(Arc<Activity>);

impl Drop for Running {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = activity.start.elapsed().as_nanos();
        activity
            .last_end
            .store(u64::try_from(now).unwrap_or(u64::MAX), Ordering::Relaxed);
        activity.running.fetch_sub(1, Ordering::Release);
    }
}

impl Activity {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Activity {
            running: AtomicUsize::new(0),
            last_end: AtomicU64::new(0),
            start: Instant::now(),
        })
    }

    pub(super) fn begin(self: &Arc<Self>) -> Running {
        self.running.fetch_add(1, Ordering::Relaxed);
        Running(self.clone())
    }

    /// Completes once no request has been running for `timeout`.
    pub(super) async fn idle(&self, timeout: Duration) {
        let mut deadline = self.start + timeout;
        loop {
            tokio::time::sleep_until(deadline).await;
            // Read `running` first: a request that ends in between has stored its end.
            if self.running.load(Ordering::Acquire) > 0 {
                deadline = Instant::now() + timeout;
                continue;
            }
            let last_end = Duration::from_nanos(self.last_end.load(Ordering::Relaxed));
            deadline = self.start + last_end + timeout;
            if deadline <= Instant::now() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_only_after_the_timeout_with_nothing_running() {
        let timeout = Duration::from_secs(30);
        let activity = Activity::new();
        let started = Instant::now();
        activity.idle(timeout).await;
        let within =
            |elapsed: Duration| elapsed >= timeout && elapsed < timeout + Duration::from_secs(1);
        assert!(within(started.elapsed()), "idle from the start");

        let running = activity.begin();
        let idle = tokio::spawn({
            let activity = activity.clone();
            async move { activity.idle(timeout).await }
        });
        tokio::time::sleep(timeout * 3).await;
        assert!(!idle.is_finished(), "not idle while a request runs");
        let ended = Instant::now();
        drop(running);
        idle.await.unwrap();
        assert!(
            within(ended.elapsed()),
            "idle one timeout after the last end"
        );
    }
}
