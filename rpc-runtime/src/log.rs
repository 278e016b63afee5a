//! Log lines an attacker can trigger at will (accept errors once file descriptors run out,
//! handler panics) pass through a [`Throttle`], so that the attack does not fill the disk too.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Admits one event per window and counts the ones it turns away, to report with the next.
pub(crate) struct Throttle {
    window_ms: u64,
    /// Milliseconds since [`origin`] before which nothing more is admitted.
    next_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl Throttle {
    pub(crate) const fn per_second() -> Self {
        Throttle {
            window_ms: 1000,
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` if this event is to be logged, `n` being how many were not since the last.
    pub(crate) fn admit(&self) -> Option<u64> {
        let now_ms = u64::try_from(origin().elapsed().as_millis()).unwrap_or(u64::MAX);
        self.admit_at(now_ms)
    }

    fn admit_at(&self, now_ms: u64) -> Option<u64> {
        let next = self.next_ms.load(Ordering::Relaxed);
        let admitted = now_ms >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.window_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if admitted {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_one_event_per_window_and_reports_those_it_turned_away() {
        let throttle = Throttle::per_second();
        assert_eq!(throttle.admit_at(5_000), Some(0));
        for now in [5_001, 5_500, 5_999] {
            assert_eq!(throttle.admit_at(now), None);
        }
        assert_eq!(throttle.admit_at(6_000), Some(3));
        assert_eq!(throttle.admit_at(6_001), None);
        assert_eq!(throttle.admit_at(9_000), Some(1));
    }
}
