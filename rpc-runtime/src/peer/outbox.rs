//! The outbound queue of one connection: every response and every push it is sent, in the order
//! they were produced, waiting for the connection's task to write them.
//!
//! Two kinds of message share the queue and the bound, and the bound treats them differently:
//! - **responses** to the peer's own calls are always queued; while the queue is over its bound
//!   the connection stops reading, so a peer that does not read stops getting its calls run;
//! - **pushes** (notifications sent by the server on its own) are refused past the bound, and
//!   the [`SlowReaderPolicy`] decides what that means for the connection.
//!
//! Pushing never waits, so one slow reader cannot slow down a publisher or anyone else.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// What the server does with a connection whose outbound queue is full when something is pushed
/// to it: its client is not reading fast enough, or not at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowReaderPolicy {
    /// Close the connection with 1008 (policy violation), dropping what was queued. A client
    /// that reconnects and resubscribes gets a consistent view again; one that stays connected
    /// never silently misses a message. The default.
    #[default]
    Close,
    /// Drop the pushed message for this connection only and count it (see
    /// [`Connection::dropped`](crate::Connection::dropped)); the connection stays open.
    Drop,
}

/// What became of one pushed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// Over the bound, under [`SlowReaderPolicy::Drop`].
    Dropped,
    /// The connection is closed or closing: nothing more is sent on it.
    Closed,
}

/// The bookkeeping cost of one queued message besides its bytes, so that a flood of tiny
/// messages is bounded too.
const ENTRY_COST: usize = 64;

pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    /// Wakes the connection's task: something was queued, or it is asked to close.
    wake: Notify,
    limit: usize,
    policy: SlowReaderPolicy,
}

#[derive(Default)]
struct Queue {
    messages: VecDeque<Entry>,
    /// The cost of everything queued or taken and not yet written.
    bytes: usize,
    /// The part of `bytes` that is pushes.
    pushed: usize,
    state: State,
    dropped: u64,
    /// A close asked for by a handle (code and reason), for the task to carry out.
    close: Option<(u16, String)>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Open,
    /// A push found the queue full under [`SlowReaderPolicy::Close`].
    Overflowed,
    Closed,
}

struct Entry {
    message: Utf8Bytes,
    push: bool,
}

impl Entry {
    fn cost(&self) -> usize {
        self.message.len() + ENTRY_COST
    }
}

/// What the connection's task needs to know at each turn of its loop.
pub(crate) struct Status {
    /// A push found the queue full under [`SlowReaderPolicy::Close`].
    pub overflowed: bool,
    /// A close asked for by a handle: code and reason.
    pub close: Option<(u16, String)>,
    /// Something is queued to be written.
    pub pending: bool,
    /// Over the bound: stop reading.
    pub full: bool,
}

/// Messages taken for writing, with their cost, which stays counted against the bound until
/// [`Outbox::release`].
#[derive(Default)]
pub(crate) struct Taken {
    bytes: usize,
    pushed: usize,
}

impl Outbox {
    pub(crate) fn new(limit: usize, policy: SlowReaderPolicy) -> Self {
        Outbox {
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            limit,
            policy,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every change to the queue is complete before the lock is released.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a response to the peer's own call; refused only once the connection is closing.
    pub(crate) fn reply(&self, message: Utf8Bytes) -> Pushed {
        self.enqueue(Entry {
            message,
            push: false,
        })
    }

    /// Queues a message the server sends on its own, under the bound and the policy.
    pub(crate) fn push(&self, message: Utf8Bytes) -> Pushed {
        self.enqueue(Entry {
            message,
            push: true,
        })
    }

    fn enqueue(&self, entry: Entry) -> Pushed {
        let cost = entry.cost();
        let mut queue = self.lock();
        if queue.state != State::Open {
            return Pushed::Closed;
        }
        if entry.push && queue.pushed + cost > self.limit {
            match self.policy {
                SlowReaderPolicy::Drop => {
                    queue.dropped += 1;
                    return Pushed::Dropped;
                }
                SlowReaderPolicy::Close => {
                    queue.state = State::Overflowed;
                    queue.discard();
                    drop(queue);
                    self.wake.notify_one();
                    return Pushed::Closed;
                }
            }
        }
        queue.bytes += cost;
        if entry.push {
            queue.pushed += cost;
        }
        let was_empty = queue.messages.is_empty();
        queue.messages.push_back(entry);
        drop(queue);
        // The task drains the whole queue once woken, so only the first message wakes it.
        if was_empty {
            self.wake.notify_one();
        }
        Pushed::Queued
    }

    /// Moves everything queued into `into` (empty, kept by the task so its allocation is reused).
    pub(crate) fn take(&self, into: &mut VecDeque<Utf8Bytes>) -> Taken {
        let mut queue = self.lock();
        let mut taken = Taken::default();
        for entry in queue.messages.drain(..) {
            taken.bytes += entry.cost();
            if entry.push {
                taken.pushed += entry.cost();
            }
            into.push_back(entry.message);
        }
        taken
    }

    /// Takes the oldest message, for a reader in process.
    pub(crate) fn pop(&self) -> Option<Utf8Bytes> {
        let mut queue = self.lock();
        let entry = queue.messages.pop_front()?;
        queue.bytes -= entry.cost();
        if entry.push {
            queue.pushed -= entry.cost();
        }
        Some(entry.message)
    }

    /// Stops counting what [`take`](Self::take) returned, once it has been handed to the socket.
    pub(crate) fn release(&self, taken: Taken) {
        let mut queue = self.lock();
        queue.bytes = queue.bytes.saturating_sub(taken.bytes);
        queue.pushed = queue.pushed.saturating_sub(taken.pushed);
    }

    /// Everything the connection's task decides on, read under one lock; a close request is
    /// taken.
    pub(crate) fn status(&self) -> Status {
        let mut queue = self.lock();
        Status {
            overflowed: queue.state == State::Overflowed,
            close: queue.close.take(),
            pending: !queue.messages.is_empty(),
            full: queue.bytes > self.limit,
        }
    }

    /// Whether the queue holds more than its bound: the connection stops reading until it
    /// drains.
    pub(crate) fn is_full(&self) -> bool {
        self.lock().bytes > self.limit
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.lock().state == State::Overflowed
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().state != State::Open
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Waits until something is queued or asked of the task. May wake spuriously.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await
    }

    /// Waits until a push overflows the queue.
    pub(crate) async fn overflow(&self) {
        while !self.overflowed() {
            self.woken().await;
        }
    }

    /// Asks the connection's task to close with `code` and `reason`; the first request wins.
    pub(crate) fn request_close(&self, code: u16, reason: String) {
        let mut queue = self.lock();
        if queue.state == State::Open && queue.close.is_none() {
            queue.close = Some((code, reason));
            drop(queue);
            self.wake.notify_one();
        }
    }

    pub(crate) fn take_close_request(&self) -> Option<(u16, String)> {
        self.lock().close.take()
    }

    /// Refuses everything from now on and frees what is queued.
    pub(crate) fn close(&self) {
        let mut queue = self.lock();
        if queue.state == State::Open {
            queue.state = State::Closed;
        }
        queue.discard();
    }
}

impl Queue {
    fn discard(&mut self) {
        for entry in self.messages.drain(..) {
            self.bytes = self.bytes.saturating_sub(entry.cost());
            if entry.push {
                self.pushed = self.pushed.saturating_sub(entry.cost());
            }
        }
        self.messages = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: usize) -> Utf8Bytes {
        "x".repeat(len).into()
    }

    #[test]
    fn keeps_order_and_reuses_the_taken_buffer() {
        let outbox = Outbox::new(1024, SlowReaderPolicy::Close);
        assert_eq!(outbox.push("a".into()), Pushed::Queued);
        assert_eq!(outbox.reply("b".into()), Pushed::Queued);
        let mut taken = VecDeque::new();
        let cost = outbox.take(&mut taken);
        assert_eq!(taken, ["a", "b"]);
        assert!(!outbox.status().pending);
        assert_eq!(cost.bytes, 2 + 2 * ENTRY_COST);
        assert_eq!(cost.pushed, 1 + ENTRY_COST);
        outbox.release(cost);
        assert!(!outbox.is_full());
    }

    #[test]
    fn replies_pass_the_bound_and_pause_reading() {
        let outbox = Outbox::new(100, SlowReaderPolicy::Close);
        assert_eq!(outbox.reply(message(500)), Pushed::Queued);
        assert!(outbox.is_full());
        // Replies do not count against what pushes may queue.
        assert_eq!(outbox.push(message(10)), Pushed::Queued);
    }

    #[test]
    fn an_overflowing_push_closes_under_the_close_policy() {
        let outbox = Outbox::new(200, SlowReaderPolicy::Close);
        assert_eq!(outbox.push(message(100)), Pushed::Queued);
        assert_eq!(outbox.push(message(100)), Pushed::Closed);
        assert!(outbox.overflowed());
        assert!(!outbox.status().pending, "the queue is freed at once");
        assert_eq!(outbox.reply(message(1)), Pushed::Closed);
    }

    #[test]
    fn an_overflowing_push_is_dropped_and_counted_under_the_drop_policy() {
        let outbox = Outbox::new(200, SlowReaderPolicy::Drop);
        assert_eq!(outbox.push(message(100)), Pushed::Queued);
        assert_eq!(outbox.push(message(100)), Pushed::Dropped);
        assert_eq!(outbox.dropped(), 1);
        let mut taken = VecDeque::new();
        let cost = outbox.take(&mut taken);
        // Still counted until written.
        assert_eq!(outbox.push(message(100)), Pushed::Dropped);
        outbox.release(cost);
        assert_eq!(outbox.push(message(100)), Pushed::Queued);
    }
}
