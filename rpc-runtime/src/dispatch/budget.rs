//! Answers to one batch, counted as they are produced, so that a batch's answer never holds
//! more than the response limit (and one member's answer).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How many bytes of answers a batch may still produce. Members run concurrently and each
/// takes its share as it finishes, so the answers held at once never pass the limit by more
/// than one member's.
pub(super) struct Budget {
    left: AtomicUsize,
    spent: AtomicBool,
}

impl Budget {
    pub(super) fn new(bytes: usize) -> Self {
        Budget {
            left: AtomicUsize::new(bytes),
            spent: AtomicBool::new(false),
        }
    }

    /// Whether an answer of `bytes` fits; once one does not, none does.
    pub(super) fn take(&self, bytes: usize) -> bool {
        let taken = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok();
        if !taken {
            self.left.store(0, Ordering::Relaxed);
            self.spent.store(true, Ordering::Relaxed);
        }
        taken
    }

    /// Whether some answer did not fit.
    pub(super) fn exceeded(&self) -> bool {
        self.spent.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_once_exceeded_admits_nothing_more() {
        let budget = Budget::new(10);
        assert!(budget.take(6));
        assert!(!budget.take(5));
        assert!(!budget.take(1));
        assert!(budget.exceeded());
    }
}
