//! The outbound queue of one connection: every response and every push it is sent, in the order
//! they were produced, waiting for the connection's task to write them.
//!
//! Two kinds of message share the queue and the bound, and the bound treats them differently:
//! - **responses** to the peer's own calls are always queued; while the queue is over its bound
//!   the connection stops reading, so a peer that does not read stops getting its calls run;
//! - **pushes** (notifications sent by the server on its own) are refused past the bound, and
//!   the [`SlowReaderPolicy`] decides what that means for the connection.
//!
//! Pushing never waits, so one slow reader cannot slow down a publisher or anyone else. What a
//! single sender produces for one peer (its own calls, a subscription's items) is
//! [sent](Outbox::send) instead: it waits while the queue is over its bound, which holds the
//! sender back rather than the peer's connection.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll, Waker};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::Burst;
use super::direct::{Direct, Written};

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

/// The connection is closed or closing: nothing more is sent on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Closed;

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
    limit: usize,
    policy: SlowReaderPolicy,
    /// The socket a burst may be written to directly, when the connection has one: weak, so
    /// that a handle kept past the connection's end does not keep its socket open.
    direct: OnceLock<Weak<Direct>>,
}

#[derive(Default)]
struct Queue {
    messages: Batch,
    /// The cost of `messages`.
    queued: Cost,
    /// The cost of what the task has taken and not yet written.
    taken: Cost,
    state: State,
    dropped: u64,
    /// A close asked for by a handle (code and reason), for the task to carry out.
    close: Option<(u16, String)>,
    /// Whoever waits for the queue to need attention: the connection's task (or an in-process
    /// reader). Kept under the queue's lock rather than in a `Notify`, so that a push wakes the
    /// task without a second lock; fan-out pays that once per connection and message.
    waiting: Vec<Waker>,
    /// Senders waiting for the queue to drain below its bound.
    waiting_for_room: Vec<Waker>,
    /// A keepalive interval has ended (see `Outbox::keepalive_tick`).
    keepalive_due: bool,
    /// The task has taken messages and not finished writing them: a burst now goes behind
    /// them, through the queue.
    writing: bool,
    /// A burst written directly left some of its bytes for the task to flush.
    flush_due: bool,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Open,
    /// A push found the queue full under [`SlowReaderPolicy::Close`].
    Overflowed,
    Closed,
}

/// Queued messages, oldest first.
pub(crate) type Batch = VecDeque<Entry>;

pub(crate) struct Entry {
    body: Outgoing,
    push: bool,
}

/// What one queue entry sends.
pub(crate) enum Outgoing {
    Message(Utf8Bytes),
    /// Pushes framed once for every receiver, kept together.
    Burst(Arc<Burst>),
}

impl Entry {
    fn cost(&self) -> Cost {
        let all = match &self.body {
            Outgoing::Message(message) => message.len() + ENTRY_COST,
            Outgoing::Burst(burst) => burst.len() + burst.count() * ENTRY_COST,
        };
        Cost {
            all,
            pushed: if self.push { all } else { 0 },
        }
    }

    /// How many messages it sends.
    fn count(&self) -> u64 {
        match &self.body {
            Outgoing::Message(_) => 1,
            Outgoing::Burst(burst) => burst.count() as u64,
        }
    }

    pub(crate) fn into_outgoing(self) -> Outgoing {
        self.body
    }
}

/// What some messages count against the bound.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
struct Cost {
    all: usize,
    /// The part of `all` that is pushes.
    pushed: usize,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.all += other.all;
        self.pushed += other.pushed;
    }

    fn sub(&mut self, other: Cost) {
        self.all = self.all.saturating_sub(other.all);
        self.pushed = self.pushed.saturating_sub(other.pushed);
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
    /// A keepalive interval has ended: time to see whether the peer is still there.
    pub keepalive_due: bool,
    /// Bytes written directly wait for a flush.
    pub flush_due: bool,
}

/// The cost of messages taken for writing, which stays counted against the bound until
/// [`Outbox::release`].
pub(crate) struct Taken(Cost);

impl Outbox {
    pub(crate) fn new(limit: usize, policy: SlowReaderPolicy) -> Self {
        Outbox {
            queue: Mutex::new(Queue::default()),
            limit,
            policy,
            direct: OnceLock::new(),
        }
    }

    /// Lets bursts be written straight to `direct`, the connection's socket.
    pub(crate) fn write_directly(&self, direct: Weak<Direct>) {
        let _ = self.direct.set(direct);
    }

    /// Whether the connection's stream is shared for direct writes (and so takes every write
    /// whole).
    pub(crate) fn writes_directly(&self) -> bool {
        self.direct.get().is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every change to the queue is complete before the lock is released.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a response to the peer's own call; refused only once the connection is closing.
    pub(crate) fn reply(&self, message: Utf8Bytes) -> Pushed {
        self.enqueue(Entry {
            body: Outgoing::Message(message),
            push: false,
        })
    }

    /// Queues a message the server sends on its own, under the bound and the policy.
    pub(crate) fn push(&self, message: Utf8Bytes) -> Pushed {
        self.enqueue(Entry {
            body: Outgoing::Message(message),
            push: true,
        })
    }

    /// Queues a burst of pushes as one entry, under the bound and the policy: all of it or none.
    pub(crate) fn push_burst(&self, burst: &Arc<Burst>) -> Pushed {
        self.enqueue(Entry {
            body: Outgoing::Burst(burst.clone()),
            push: true,
        })
    }

    /// Queues a message once the queue is within its bound, waiting for the connection's task to
    /// write enough; fails once the connection is closing.
    pub(crate) async fn send(&self, message: Utf8Bytes) -> Result<(), Closed> {
        self.send_entry(Outgoing::Message(message)).await
    }

    /// [`send`](Self::send) for several messages, framed together and queued as one entry.
    pub(crate) async fn send_burst(&self, burst: Arc<Burst>) -> Result<(), Closed> {
        self.send_entry(Outgoing::Burst(burst)).await
    }

    async fn send_entry(&self, body: Outgoing) -> Result<(), Closed> {
        let mut body = Some(body);
        poll_fn(|cx| {
            let mut queue = self.lock();
            if queue.state != State::Open {
                return Poll::Ready(Err(Closed));
            }
            if queue.is_full(self.limit) {
                if !queue
                    .waiting_for_room
                    .iter()
                    .any(|w| w.will_wake(cx.waker()))
                {
                    queue.waiting_for_room.push(cx.waker().clone());
                }
                return Poll::Pending;
            }
            let Some(body) = body.take() else {
                return Poll::Ready(Ok(()));
            };
            if let Outgoing::Burst(burst) = &body {
                if let Some(pushed) = self.write_now(&mut queue, burst) {
                    return Poll::Ready(if pushed == Pushed::Closed {
                        Err(Closed)
                    } else {
                        Ok(())
                    });
                }
            }
            let entry = Entry { body, push: false };
            queue.queued.add(entry.cost());
            if queue.messages.is_empty() {
                queue.wake();
            }
            queue.messages.push_back(entry);
            Poll::Ready(Ok(()))
        })
        .await
    }

    fn enqueue(&self, entry: Entry) -> Pushed {
        let cost = entry.cost();
        let mut queue = self.lock();
        if queue.state != State::Open {
            return Pushed::Closed;
        }
        if entry.push && queue.queued.pushed + queue.taken.pushed + cost.all > self.limit {
            match self.policy {
                SlowReaderPolicy::Drop => {
                    queue.dropped += entry.count();
                    return Pushed::Dropped;
                }
                SlowReaderPolicy::Close => {
                    queue.state = State::Overflowed;
                    queue.discard();
                    queue.wake();
                    return Pushed::Closed;
                }
            }
        }
        if let Outgoing::Burst(burst) = &entry.body {
            if let Some(pushed) = self.write_now(&mut queue, burst) {
                return pushed;
            }
        }
        queue.queued.add(cost);
        // The task drains the whole queue once woken, so only the first message wakes it.
        if queue.messages.is_empty() {
            queue.wake();
        }
        queue.messages.push_back(entry);
        Pushed::Queued
    }

    /// Writes a burst straight to the socket, when the connection has one and nothing is
    /// queued or being written before it: the pushing task does the write, and the connection's
    /// task is woken only if the socket did not take it all. `None`: queue it.
    fn write_now(&self, queue: &mut Queue, burst: &Burst) -> Option<Pushed> {
        if !queue.messages.is_empty() || queue.writing {
            return None;
        }
        let direct = self.direct.get()?.upgrade()?;
        match direct.try_write(burst.frames())? {
            Ok(Written::All) => Some(Pushed::Queued),
            Ok(Written::Behind) => {
                queue.flush_due = true;
                queue.wake();
                Some(Pushed::Queued)
            }
            // The connection's task finds the error too, and ends the connection.
            Err(_) => Some(Pushed::Closed),
        }
    }

    /// Swaps everything queued for `into`, which must be empty: the task keeps two batches and
    /// trades them, so neither is reallocated and the lock is held for no work per message.
    /// Until [`written`](Self::written), bursts are queued behind what it took.
    pub(crate) fn take(&self, into: &mut Batch) -> Taken {
        debug_assert!(into.is_empty());
        let mut queue = self.lock();
        queue.writing = true;
        std::mem::swap(&mut queue.messages, into);
        let taken = std::mem::take(&mut queue.queued);
        queue.taken.add(taken);
        Taken(taken)
    }

    /// Takes the oldest message, for a reader in process; a burst is taken apart, its first
    /// message returned and the others left queued as single pushes.
    pub(crate) fn pop(&self) -> Option<Utf8Bytes> {
        let mut queue = self.lock();
        let entry = queue.messages.pop_front()?;
        queue.queued.sub(entry.cost());
        let message = match entry.body {
            Outgoing::Message(message) => message,
            Outgoing::Burst(burst) => {
                let mut messages = burst.messages();
                let first = messages.next()?;
                for message in messages.rev() {
                    let entry = Entry {
                        body: Outgoing::Message(message),
                        push: true,
                    };
                    queue.queued.add(entry.cost());
                    queue.messages.push_front(entry);
                }
                first
            }
        };
        if !queue.is_full(self.limit) {
            queue.wake_senders();
        }
        Some(message)
    }

    /// Stops counting what [`take`](Self::take) returned, once it has been handed to the socket.
    pub(crate) fn release(&self, taken: Taken) {
        let mut queue = self.lock();
        queue.taken.sub(taken.0);
        if !queue.is_full(self.limit) {
            queue.wake_senders();
        }
    }

    /// What the task took is all on the socket (flushed): bursts may be written directly again.
    pub(crate) fn written(&self) {
        self.lock().writing = false;
    }

    /// Everything the connection's task decides on, read under one lock; a close request is
    /// taken.
    pub(crate) fn status(&self) -> Status {
        let mut queue = self.lock();
        Status {
            overflowed: queue.state == State::Overflowed,
            close: queue.close.take(),
            pending: !queue.messages.is_empty(),
            full: queue.is_full(self.limit),
            keepalive_due: std::mem::take(&mut queue.keepalive_due),
            flush_due: std::mem::take(&mut queue.flush_due),
        }
    }

    /// Whether the queue holds more than its bound: the connection stops reading until it
    /// drains.
    pub(crate) fn is_full(&self) -> bool {
        self.lock().is_full(self.limit)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().state != State::Open
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Waits until the queue needs its task: something is queued or waits to be flushed, a close
    /// is asked for, a keepalive interval has ended, or the connection is closing.
    pub(crate) async fn needs_attention(&self) {
        self.wait_until(|queue| {
            !queue.messages.is_empty()
                || queue.close.is_some()
                || queue.keepalive_due
                || queue.flush_due
                || queue.state != State::Open
        })
        .await
    }

    /// Waits until a push overflows the queue.
    pub(crate) async fn overflow(&self) {
        self.wait_until(|queue| queue.state == State::Overflowed)
            .await
    }

    async fn wait_until(&self, done: impl Fn(&Queue) -> bool) {
        poll_fn(|cx| {
            let mut queue = self.lock();
            if done(&queue) {
                return Poll::Ready(());
            }
            queue.wait(cx);
            Poll::Pending
        })
        .await
    }

    /// Tells the connection's task that a keepalive interval has ended. One server-wide ticker
    /// does this for every connection, so that an idle connection holds no timer of its own
    /// and a busy one polls none.
    pub(crate) fn keepalive_tick(&self) {
        let mut queue = self.lock();
        if queue.state == State::Open {
            queue.keepalive_due = true;
            queue.wake();
        }
    }

    /// Asks the connection's task to close with `code` and `reason`; the first request wins.
    pub(crate) fn request_close(&self, code: u16, reason: String) {
        let mut queue = self.lock();
        if queue.state == State::Open && queue.close.is_none() {
            queue.close = Some((code, reason));
            queue.wake();
        }
    }

    /// Refuses everything from now on and frees what is queued.
    pub(crate) fn close(&self) {
        let mut queue = self.lock();
        if queue.state == State::Open {
            queue.state = State::Closed;
        }
        queue.discard();
        queue.wake();
    }
}

impl Queue {
    fn wait(&mut self, cx: &Context<'_>) {
        if !self.waiting.iter().any(|waker| waker.will_wake(cx.waker())) {
            self.waiting.push(cx.waker().clone());
        }
    }

    /// Wakes every waiter. Under the lock, which costs a waker nothing (it only schedules its
    /// task) and keeps the list's allocation for the next wait.
    fn wake(&mut self) {
        for waker in self.waiting.drain(..) {
            waker.wake();
        }
    }

    fn is_full(&self, limit: usize) -> bool {
        self.queued.all + self.taken.all > limit
    }

    fn wake_senders(&mut self) {
        for waker in self.waiting_for_room.drain(..) {
            waker.wake();
        }
    }

    fn discard(&mut self) {
        self.messages = Batch::new();
        self.queued = Cost::default();
        // Whoever waits to send learns that the connection is closing.
        self.wake_senders();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::DirectIo;

    fn message(len: usize) -> Utf8Bytes {
        "x".repeat(len).into()
    }

    #[test]
    fn keeps_order_and_reuses_the_taken_buffer() {
        let outbox = Outbox::new(1024, SlowReaderPolicy::Close);
        assert_eq!(outbox.push("a".into()), Pushed::Queued);
        assert_eq!(outbox.reply("b".into()), Pushed::Queued);
        let mut taken = Batch::new();
        let cost = outbox.take(&mut taken);
        let messages: Vec<_> = taken
            .into_iter()
            .map(|entry| match entry.into_outgoing() {
                Outgoing::Message(message) => message,
                Outgoing::Burst(_) => unreachable!("no burst was pushed"),
            })
            .collect();
        assert_eq!(messages, ["a", "b"]);
        assert!(!outbox.status().pending);
        assert_eq!(
            cost.0,
            Cost {
                all: 2 + 2 * ENTRY_COST,
                pushed: 1 + ENTRY_COST
            }
        );
        outbox.release(cost);
        assert!(!outbox.is_full());
    }

    #[tokio::test]
    async fn the_first_message_wakes_the_waiting_task() {
        let outbox = std::sync::Arc::new(Outbox::new(1024, SlowReaderPolicy::Close));
        let waiting = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.needs_attention().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "nothing to do yet");
        assert_eq!(outbox.push("a".into()), Pushed::Queued);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("woken by the push")
            .unwrap();
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
        assert!(outbox.status().overflowed);
        assert!(!outbox.status().pending, "the queue is freed at once");
        assert_eq!(outbox.reply(message(1)), Pushed::Closed);
    }

    #[tokio::test]
    async fn a_sender_waits_for_room_and_learns_of_a_close() {
        let outbox = std::sync::Arc::new(Outbox::new(100, SlowReaderPolicy::Close));
        outbox.send(message(200)).await.unwrap();
        let waiting = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.send(message(1)).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "over the bound: the sender waits");
        let mut taken = Batch::new();
        let cost = outbox.take(&mut taken);
        outbox.release(cost);
        let sent = tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await;
        assert_eq!(sent.unwrap().unwrap(), Ok(()));

        outbox.send(message(200)).await.unwrap();
        let waiting = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.send(message(1)).await }
        });
        tokio::task::yield_now().await;
        outbox.close();
        let sent = tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await;
        assert_eq!(sent.unwrap().unwrap(), Err(Closed));
    }

    #[test]
    fn a_burst_counts_as_its_messages_and_is_taken_apart_in_process() {
        let outbox = Outbox::new(1024, SlowReaderPolicy::Drop);
        let burst = Arc::new(Burst::new([&*"x".repeat(100), "b", "c"]));
        assert_eq!(outbox.push_burst(&burst), Pushed::Queued);
        assert_eq!(outbox.push("d".into()), Pushed::Queued);
        assert_eq!(outbox.lock().queued.all, 103 + 4 * ENTRY_COST);
        let popped: Vec<_> = std::iter::from_fn(|| outbox.pop()).collect();
        assert_eq!(popped, [message(100), "b".into(), "c".into(), "d".into()]);
        assert_eq!(outbox.lock().queued, Cost::default());

        // All of a burst or none of it: one over the bound is dropped whole.
        let big = Arc::new(Burst::new([&*"x".repeat(600), &"x".repeat(600)]));
        assert_eq!(outbox.push_burst(&big), Pushed::Dropped);
        assert_eq!(outbox.dropped(), 2, "each of its messages counted");
        assert_eq!(outbox.pop(), None);
    }

    #[tokio::test]
    async fn a_burst_goes_straight_to_the_socket_only_when_nothing_is_before_it() {
        use tokio::io::AsyncReadExt;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let timeout = std::time::Duration::from_secs(5);
        let io = DirectIo::new(server, Default::default(), timeout);
        let outbox = Outbox::new(1024, SlowReaderPolicy::Close);
        outbox.write_directly(io.writer());
        let burst = Arc::new(Burst::new(["ab"]));

        assert_eq!(outbox.push("a".into()), Pushed::Queued);
        assert_eq!(outbox.push_burst(&burst), Pushed::Queued);
        assert_eq!(outbox.lock().messages.len(), 2, "queued behind the push");
        let mut taken = Batch::new();
        let cost = outbox.take(&mut taken);
        outbox.release(cost);
        assert_eq!(outbox.push_burst(&burst), Pushed::Queued);
        assert_eq!(
            outbox.lock().messages.len(),
            1,
            "queued behind what is being written"
        );

        let mut taken = Batch::new();
        let cost = outbox.take(&mut taken);
        outbox.release(cost);
        outbox.written();
        assert_eq!(outbox.push_burst(&burst), Pushed::Queued);
        assert!(!outbox.status().pending, "written, not queued");
        let mut frame = [0; 4];
        client.read_exact(&mut frame).await.unwrap();
        assert_eq!(&frame, b"\x81\x02ab");

        drop(io);
        assert_eq!(
            outbox.push_burst(&burst),
            Pushed::Queued,
            "queued once the socket is gone"
        );
        assert!(outbox.status().pending);
    }

    #[test]
    fn an_overflowing_push_is_dropped_and_counted_under_the_drop_policy() {
        let outbox = Outbox::new(200, SlowReaderPolicy::Drop);
        assert_eq!(outbox.push(message(100)), Pushed::Queued);
        assert_eq!(outbox.push(message(100)), Pushed::Dropped);
        assert_eq!(outbox.dropped(), 1);
        let mut taken = Batch::new();
        let cost = outbox.take(&mut taken);
        // Still counted until written.
        assert_eq!(outbox.push(message(100)), Pushed::Dropped);
        outbox.release(cost);
        assert_eq!(outbox.push(message(100)), Pushed::Queued);
    }
}
