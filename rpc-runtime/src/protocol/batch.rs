//! Batch framing, both directions: reading a batch without letting its size decide how much
//! memory it takes (the members are counted as they are read), and writing one, a request
//! batch or a batch of answers, from its members' texts.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Why a batch was not read.
pub(crate) enum Unread {
    /// Not a JSON array.
    Parse,
    /// More members than allowed; reading stopped at the first one too many.
    TooLarge,
}

/// The members of the batch `message`, if it has at most `max`. A longer batch is refused at
/// its first member too many, so neither its members nor their answers are ever held.
pub(crate) fn members(message: &str, max: usize) -> Result<Vec<&RawValue>, Unread> {
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

/// A batch written member by member: `[`, the members' texts joined by commas, `]`.
pub(crate) struct BatchWriter {
    text: String,
}

impl BatchWriter {
    pub(crate) fn new() -> Self {
        BatchWriter {
            text: String::from("["),
        }
    }

    /// The buffer to write the next member into, after its separator.
    pub(crate) fn member(&mut self) -> &mut String {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        &mut self.text
    }

    /// The batch, or `None` for one without members, which JSON-RPC never sends.
    pub(crate) fn finish(mut self) -> Option<String> {
        if self.text.len() == 1 {
            return None;
        }
        self.text.push(']');
        Some(self.text)
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
    fn writes_members_between_brackets_and_nothing_for_none() {
        assert_eq!(BatchWriter::new().finish(), None);
        let mut batch = BatchWriter::new();
        batch.member().push_str("12");
        batch.member().push_str("{}");
        assert_eq!(batch.finish().as_deref(), Some("[12,{}]"));
    }
}
