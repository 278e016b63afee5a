//! Reading a batch without letting its size decide how much memory it takes: the members are
//! counted as they are read, and the answers are counted as they are produced.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Why a batch was not read.
pub(super) enum Unread {
    /// Not a JSON array.
    Parse,
    /// More members than allowed; reading stopped at the first one too many.
    TooLarge,
}

/// The members of the batch `message`, if it has at most `max`. A longer batch is refused at
/// its first member too many, so neither its members nor their answers are ever held.
pub(super) fn members(message: &str, max: usize) -> Result<Vec<&RawValue>, Unread> {
    let over = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_str(message);
    let read = Members { max, over: &over }
        .deserialize(&mut deserializer)
        .and_then(|members| deserializer.end().map(|()| members));
    read.map_err(|_| {
        if over.get() {
            Unread::TooLarge
        } else {
            Unread::Parse
        }
    })
}

struct Members<'c> {
    max: usize,
    over: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Members<'_> {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch of JSON-RPC messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = seq.next_element::<&RawValue>()? {
            if members.len() == self.max {
                self.over.set(true);
                return Err(A::Error::custom("too many members"));
            }
            members.push(member);
        }
        Ok(members)
    }
}

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
    fn reads_up_to_the_limit_and_stops_at_the_first_member_past_it() {
        assert_eq!(
            members("[1, {\"a\":2}, 3]", 3).ok().map(|m| m.len()),
            Some(3)
        );
        assert!(matches!(members("[1,2,3,4]", 3), Err(Unread::TooLarge)));
        // Not JSON past the limit: refused for its size, never read that far.
        assert!(matches!(members("[1,2,3,4,!!!", 3), Err(Unread::TooLarge)));
        assert!(matches!(members("[1,2,", 3), Err(Unread::Parse)));
        assert!(matches!(members("[1] x", 3), Err(Unread::Parse)));
    }

    #[test]
    fn a_budget_once_exceeded_admits_nothing_more() {
        let budget = Budget::new(10);
        assert!(budget.take(6));
        assert!(!budget.take(5));
        assert!(!budget.take(1));
        assert!(budget.exceeded());
    }
}
