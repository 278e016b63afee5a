//! The history of a topic or a group: its pushes numbered in one stream (offsets), the last of
//! them kept, so that a subscriber coming back is sent what it missed, or told plainly that it
//! cannot be. Kept here without a broker; in Redis with one (`broker/redis`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::protocol::with_offset;

/// How much of its past a topic or a group keeps, for subscribers that come back
/// ([`Topic::history`](crate::Topic::history),
/// [`HubBuilder::group_history`](crate::HubBuilder::group_history)): the last `size`
/// publications, each for at most `ttl`. The last 100, for 5 minutes, by default.
///
/// ```
/// use std::time::Duration;
/// use rpc_runtime::{History, Hub, Topic};
///
/// let hub = Hub::builder()
///     .topic(Topic::new("chat").history(History::new().size(500).ttl(Duration::from_secs(600))))
///     .build();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct History {
    pub(crate) size: usize,
    pub(crate) ttl: Duration,
}

impl Default for History {
    fn default() -> Self {
        History {
            size: 100,
            ttl: Duration::from_secs(300),
        }
    }
}

impl History {
    /// The defaults: the last 100 publications, for 5 minutes.
    pub fn new() -> Self {
        History::default()
    }

    /// How many publications are kept (at least 1).
    pub fn size(mut self, publications: usize) -> Self {
        self.size = publications.max(1);
        self
    }

    /// How long a publication is kept: one older than this is no longer sent to a subscriber
    /// coming back, which is told that it missed some instead. A stream that keeps nothing
    /// and has had no subscriber here for as long is forgotten, its epoch with it.
    pub fn ttl(mut self, age: Duration) -> Self {
        self.ttl = age;
        self
    }
}

/// A place in a topic's or a group's stream: the offset of the last publication seen (`0` before the
/// first), and the stream's epoch, which changes whenever its history is lost (a process
/// restarted without Redis, a Redis flushed), so that offsets of two epochs are never taken
/// for one another.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openrpc", derive(schemars::JsonSchema))]
pub struct StreamPosition {
    /// The offset of the last publication seen.
    pub offset: u64,
    /// The stream's epoch.
    pub epoch: String,
}

/// What subscribing from a position found ([`Hub::subscribe_from`](crate::Hub::subscribe_from),
/// [`Hub::join_from`](crate::Hub::join_from)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openrpc", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Recovery {
    /// Where the subscriber now is: every publication up to here was sent to it, or was
    /// already its own; later ones follow live.
    #[serde(flatten)]
    pub position: StreamPosition,
    /// Given a position: whether every publication after it was sent. `false` when some are
    /// no longer kept (too old, or of another epoch): nothing was sent, and the subscriber
    /// should read the state anew. `None` when no position was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
}

/// One topic's or group's stream on this process, when there is no broker.
pub(crate) struct Stream {
    history: History,
    epoch: String,
    /// The offset of the last publication.
    top: u64,
    /// The publications kept, oldest first, as their subscribers receive them.
    kept: VecDeque<Kept>,
    /// When it last had a publication or lost its last member here: its epoch and offsets
    /// are kept for the history's `ttl` after, so that subscribers who all went away at once
    /// (a network cut) come back to the same stream rather than to a new epoch and a gap.
    touched: Instant,
}

struct Kept {
    offset: u64,
    at: Instant,
    message: Utf8Bytes,
}

impl Stream {
    pub(crate) fn new(history: History) -> Self {
        Stream {
            history,
            epoch: new_epoch(),
            top: 0,
            kept: VecDeque::new(),
            touched: Instant::now(),
        }
    }

    pub(crate) fn position(&self) -> StreamPosition {
        StreamPosition {
            offset: self.top,
            epoch: self.epoch.clone(),
        }
    }

    /// Numbers and keeps a publication; answers its offset and the form subscribers who keep
    /// their position receive.
    pub(crate) fn append(&mut self, message: &str) -> (u64, Utf8Bytes) {
        let now = Instant::now();
        self.touched = now;
        self.top += 1;
        let message: Utf8Bytes = with_offset(message, self.top).into();
        self.kept.push_back(Kept {
            offset: self.top,
            at: now,
            message: message.clone(),
        });
        self.trim(now);
        (self.top, message)
    }

    /// The publications after `since`, in order; `None` when some of them are no longer kept,
    /// or `since` is of another epoch, or ahead of the stream.
    pub(crate) fn since(&mut self, since: &StreamPosition) -> Option<Vec<Utf8Bytes>> {
        self.trim(Instant::now());
        if since.epoch != self.epoch || since.offset > self.top {
            return None;
        }
        let oldest = self.kept.front().map_or(self.top + 1, |kept| kept.offset);
        if since.offset + 1 < oldest {
            return None;
        }
        let after = self.kept.iter().filter(|kept| kept.offset > since.offset);
        Some(after.map(|kept| kept.message.clone()).collect())
    }

    /// Marks the moment its set lost its last member here.
    pub(crate) fn touch(&mut self, now: Instant) {
        self.touched = now;
    }

    /// Whether it can be forgotten, its set having no member here: it keeps nothing any longer,
    /// and has been untouched for the history's `ttl`.
    pub(crate) fn forgettable(&mut self, now: Instant) -> bool {
        self.trim(now) && now.duration_since(self.touched) > self.history.ttl
    }

    /// Forgets what is past the history's size or age; `true` if nothing is left.
    pub(crate) fn trim(&mut self, now: Instant) -> bool {
        let History { size, ttl } = self.history;
        while self.kept.len() > size
            || self
                .kept
                .front()
                .is_some_and(|kept| now.duration_since(kept.at) > ttl)
        {
            self.kept.pop_front();
        }
        self.kept.is_empty()
    }
}

/// A new epoch: 64 random bits in hex, never reused in practice.
pub(crate) fn new_epoch() -> String {
    format!("{:016x}", crate::random::random_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(n: u64) -> String {
        format!(r#"{{"jsonrpc":"2.0","method":"news","params":[{n}]}}"#)
    }

    fn at(offset: u64, stream: &Stream) -> StreamPosition {
        StreamPosition {
            offset,
            epoch: stream.epoch.clone(),
        }
    }

    #[test]
    fn publications_are_numbered_and_sent_with_their_offset() {
        let mut stream = Stream::new(History::new());
        assert_eq!(stream.position().offset, 0);
        let (offset, message) = stream.append(&note(1));
        assert_eq!(offset, 1);
        assert_eq!(
            &*message,
            r#"{"jsonrpc":"2.0","method":"news","params":[1],"offset":1}"#
        );
        stream.append(&note(2));
        let missed = stream.since(&at(0, &stream)).unwrap();
        assert_eq!(missed.len(), 2);
        assert!(missed[1].ends_with(r#""offset":2}"#));
        assert_eq!(stream.since(&at(2, &stream)).unwrap().len(), 0);
    }

    #[test]
    fn what_is_no_longer_kept_is_a_gap_not_a_guess() {
        let mut stream = Stream::new(History::new().size(2));
        for n in 1..=5 {
            stream.append(&note(n));
        }
        assert_eq!(stream.since(&at(3, &stream)).unwrap().len(), 2);
        assert!(stream.since(&at(2, &stream)).is_none(), "3 was dropped");
        assert!(stream.since(&at(6, &stream)).is_none(), "ahead");
        let other = StreamPosition {
            offset: 4,
            epoch: "another".into(),
        };
        assert!(stream.since(&other).is_none(), "another epoch");
    }

    #[test]
    fn publications_older_than_the_ttl_are_forgotten() {
        let mut stream = Stream::new(History::new().ttl(Duration::ZERO));
        stream.append(&note(1));
        std::thread::sleep(Duration::from_millis(2));
        assert!(stream.since(&at(0, &stream)).is_none());
        assert!(stream.kept.is_empty(), "their memory is freed");
        assert_eq!(stream.since(&at(1, &stream)).unwrap().len(), 0);
    }

    #[test]
    fn an_empty_stream_keeps_its_epoch_for_the_ttl_after_its_last_member_left() {
        let ttl = Duration::from_secs(60);
        let mut stream = Stream::new(History::new().ttl(ttl));
        let left = Instant::now();
        stream.touch(left);
        assert!(!stream.forgettable(left + ttl / 2), "members may come back");
        assert!(stream.forgettable(left + ttl * 2));
        stream.append(&note(1));
        let now = Instant::now();
        assert!(!stream.forgettable(now + ttl / 2), "it keeps a publication");
    }
}
