//! The broker as the hub sees it: takes pushes, interest and membership changes without ever
//! waiting, and leaves the talking to Redis to the session task.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use super::super::{BrokerStatus, Kind, Remote, Route, Routed};
use super::keys::Keys;
use super::shards::Shards;
use super::wire::{encode_frame, frame_parts};
use crate::ConnectionId;
use crate::log::Throttle;
use crate::push::{History, Presence, PushError, Recovery, StreamPosition};

/// Interest changes kept while they wait for the session, beyond which they are replaced by
/// one full state: the memory stays bounded however fast connections join and leave.
const MAX_PENDING: usize = 10_000;

pub(super) struct Link {
    pub(super) node: u64,
    pub(super) keys: Keys,
    pub(super) heartbeat: Duration,
    /// The most messages from Redis waiting for the session: see `inbox`.
    pub(super) max_received: usize,
    /// Pushes are queued only while a session is open and has subscribed this process to
    /// everything it has members in; otherwise the hub delivers them here itself.
    pub(super) connected: AtomicBool,
    queue: mpsc::Sender<Outgoing>,
    /// The groups and topics with members here, each with whether Redis routes it here yet.
    channels: Mutex<[HashMap<Arc<str>, watch::Sender<bool>>; 2]>,
    pending: Mutex<Pending>,
    /// Wakes the session when `pending` has something.
    pub(super) wake: Notify,
    /// How many membership changes were queued; `written` is how many of them Redis has.
    told: AtomicU64,
    pub(super) written: watch::Sender<u64>,
    /// The session's command connections, for reads that need not wait for the session.
    pub(super) reader: Mutex<Option<Arc<Shards>>>,
    /// Cancelled when the hub is dropped.
    pub(super) closed: CancellationToken,
    lost: AtomicU64,
    pub(super) other_nodes: AtomicUsize,
    /// Counts the epochs this process has offered a stream that had none.
    epochs: AtomicU64,
}

/// One step for Redis, in the order the hub took it.
pub(super) enum Outgoing {
    Publish {
        channel: Arc<str>,
        frame: Arc<[u8]>,
        /// To one process's connections: nobody hearing it means that process has gone.
        direct: bool,
    },
    /// A retained publish, which Redis numbers as it keeps it (`scripts::RETAIN`).
    Retain {
        channel: Arc<str>,
        key: String,
        head: String,
        tail: String,
    },
    /// A push to a group or topic with history, which Redis numbers as it keeps it in the
    /// set's stream (`scripts::APPEND`).
    Append {
        channel: Arc<str>,
        stream: String,
        history: String,
        head: String,
        tail: String,
        keep: History,
    },
    /// A member coming back: what it missed is read (`scripts::READ`) and handed to the hub
    /// in order with what the session delivers.
    Recover {
        kind: Kind,
        name: Arc<str>,
        id: ConnectionId,
        since: Option<StreamPosition>,
        keep: History,
        answer: oneshot::Sender<Result<Recovery, PushError>>,
    },
    /// A [`Remote::flush`] waiting: answered once every step before it has been sent.
    Flush(oneshot::Sender<()>),
    Membership {
        group: Arc<str>,
        id: ConnectionId,
        present: bool,
        /// The group's first member here, or its last.
        edge: bool,
        /// What it joined with, as JSON.
        info: Option<Arc<str>>,
        /// Its place among the membership changes: `written` reaches it once Redis has it.
        seq: u64,
    },
}

/// Interest changes not yet made: the last word on each name, or "redo everything".
#[derive(Default)]
struct Pending {
    changes: HashMap<(Kind, Arc<str>), bool>,
    resync: bool,
}

/// What the session subscribes to or unsubscribes from.
pub(super) enum Flush {
    Changes(Vec<(Kind, Arc<str>, bool)>),
    State,
}

impl Link {
    pub(super) fn new(
        node: u64,
        keys: Keys,
        heartbeat: Duration,
        max_queued: usize,
        max_received: usize,
    ) -> (Link, mpsc::Receiver<Outgoing>) {
        let (queue, outgoing) = mpsc::channel(max_queued);
        let link = Link {
            node,
            keys,
            heartbeat,
            max_received,
            connected: AtomicBool::new(false),
            queue,
            channels: Mutex::default(),
            pending: Mutex::default(),
            wake: Notify::new(),
            told: AtomicU64::new(0),
            written: watch::Sender::new(0),
            reader: Mutex::default(),
            closed: CancellationToken::new(),
            lost: AtomicU64::new(0),
            other_nodes: AtomicUsize::new(0),
            epochs: AtomicU64::new(0),
        };
        (link, outgoing)
    }

    /// An epoch for a stream that has none, new or lost with Redis's data: never offered
    /// before, by this process (its count) or any other (its node).
    pub(super) fn new_epoch(&self) -> String {
        let count = self.epochs.fetch_add(1, Ordering::Relaxed);
        format!("{:x}.{count}", self.node)
    }

    /// The step that numbers, keeps and publishes a push to a set with history.
    pub(super) fn append_step(
        &self,
        kind: Kind,
        name: &str,
        keep: History,
        message: &str,
    ) -> Outgoing {
        let route = Route::Numbered {
            kind,
            name,
            offset: 0,
        };
        let (head, tail) = frame_parts(self.node, route, message);
        Outgoing::Append {
            channel: self.keys.channel(kind, name),
            stream: self.keys.stream(kind, name),
            history: self.keys.history(kind, name),
            head,
            tail,
            keep,
        }
    }

    /// Queues a push for Redis. `false` when Redis is away or the queue full: only other
    /// processes' members miss it then (the hub delivers it here), counted, never queued for
    /// an unknown time.
    fn push(&self, step: impl FnOnce() -> Outgoing) -> bool {
        if !self.connected.load(Ordering::Acquire) || self.queue.try_send(step()).is_err() {
            self.lose(1);
            return false;
        }
        true
    }

    /// How long a process may stay silent before the others take it out.
    pub(super) fn node_timeout(&self) -> Duration {
        self.heartbeat * 5
    }

    fn channels(&self) -> MutexGuard<'_, [HashMap<Arc<str>, watch::Sender<bool>>; 2]> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pending changes, taken; forgotten when everything is about to be redone anyway.
    pub(super) fn take_pending(&self) -> Option<Flush> {
        let mut pending = self.pending();
        if std::mem::take(&mut pending.resync) {
            pending.changes.clear();
            return Some(Flush::State);
        }
        if pending.changes.is_empty() {
            return None;
        }
        let changes = pending.changes.drain();
        Some(Flush::Changes(
            changes
                .map(|((kind, name), present)| (kind, name, present))
                .collect(),
        ))
    }

    /// Asks the session to redo every subscription and membership.
    pub(super) fn resync(&self) {
        self.pending().resync = true;
        self.wake.notify_one();
    }

    /// Redis routes the name here: its joiners may return.
    pub(super) fn subscribed(&self, kind: Kind, name: &str) {
        if let Some(subscribed) = self.channels()[kind as usize].get(name) {
            subscribed.send_replace(true);
        }
    }

    /// How many membership changes have been told so far.
    pub(super) fn told(&self) -> u64 {
        self.told.load(Ordering::Acquire)
    }

    /// Redis has every membership change up to `seq`.
    pub(super) fn written_up_to(&self, seq: u64) {
        self.written.send_if_modified(|written| {
            let newer = seq > *written;
            *written = (*written).max(seq);
            newer
        });
    }

    /// The session is gone: nobody waits for it.
    pub(super) fn release(&self) {
        for names in self.channels().iter() {
            for subscribed in names.values() {
                subscribed.send_replace(true);
            }
        }
        self.written_up_to(self.told());
    }

    pub(super) fn lose(&self, pushes: usize) {
        if pushes == 0 {
            return;
        }
        self.lost.fetch_add(pushes as u64, Ordering::Relaxed);
        static LOST: Throttle = Throttle::per_second();
        if let Some(suppressed) = LOST.admit() {
            tracing::warn!(
                pushes,
                suppressed,
                "Redis broker: pushes to other processes lost (Redis unreachable, the queue \
                 full, or the process gone); this process's own connections still get them"
            );
        }
    }

    /// Counts the messages from Redis this process dropped, having fallen behind; the session
    /// logs it as it starts over.
    pub(super) fn miss(&self, pushes: usize) {
        self.lost.fetch_add(pushes as u64, Ordering::Relaxed);
    }
}

impl Remote for Link {
    fn node(&self) -> u64 {
        self.node
    }

    fn interest(&self, kind: Kind, name: &Arc<str>, present: bool) {
        {
            let mut channels = self.channels();
            let names = &mut channels[kind as usize];
            if present {
                names.insert(name.clone(), watch::Sender::new(false));
            } else {
                // Whoever still waits on it returns: the name was left.
                names.remove(name);
            }
        }
        let mut pending = self.pending();
        if !pending.resync {
            pending.changes.insert((kind, name.clone()), present);
            if pending.changes.len() > MAX_PENDING {
                pending.changes.clear();
                pending.resync = true;
            }
        }
        drop(pending);
        self.wake.notify_one();
    }

    fn membership(
        &self,
        group: &Arc<str>,
        id: ConnectionId,
        present: bool,
        edge: bool,
        info: Option<&Arc<str>>,
    ) {
        if !self.connected.load(Ordering::Acquire) {
            // Written anew with everything else once Redis is back.
            return;
        }
        let seq = self.told.fetch_add(1, Ordering::AcqRel) + 1;
        let change = Outgoing::Membership {
            group: group.clone(),
            id,
            present,
            edge,
            info: info.cloned(),
            seq,
        };
        if self.queue.try_send(change).is_err() {
            self.resync();
        }
    }

    fn routed(&self, kind: Kind, name: &str) -> Routed {
        if !self.connected.load(Ordering::Acquire) {
            return Routed::now();
        }
        let subscribed = self.channels()[kind as usize]
            .get(name)
            .map(watch::Sender::subscribe);
        let written = (self.written.subscribe(), self.told.load(Ordering::Acquire));
        Routed::new(subscribed, Some(written))
    }

    fn publish(&self, route: Route<'_>, message: &Utf8Bytes) -> bool {
        self.push(|| match route {
            Route::Group(name) => Outgoing::Publish {
                channel: self.keys.channel(Kind::Group, name),
                frame: encode_frame(self.node, route, message),
                direct: false,
            },
            Route::Topic(name) => Outgoing::Publish {
                channel: self.keys.channel(Kind::Topic, name),
                frame: encode_frame(self.node, route, message),
                direct: false,
            },
            Route::Retained { topic, .. } => {
                let (head, tail) = frame_parts(self.node, route, message);
                Outgoing::Retain {
                    channel: self.keys.channel(Kind::Topic, topic),
                    key: self.keys.retained(topic),
                    head,
                    tail,
                }
            }
            // Only Redis numbers pushes (`append`): one handed here is published as it is.
            Route::Numbered { kind, name, .. } => Outgoing::Publish {
                channel: self.keys.channel(kind, name),
                frame: encode_frame(self.node, Route::plain(kind, name), message),
                direct: false,
            },
            Route::Connection(id) => Outgoing::Publish {
                channel: self.keys.node_channel(id.node()),
                frame: encode_frame(self.node, route, message),
                direct: true,
            },
        })
    }

    fn append(&self, kind: Kind, name: &str, keep: History, message: &Utf8Bytes) -> bool {
        self.push(|| self.append_step(kind, name, keep, message))
    }

    fn recover(
        &self,
        kind: Kind,
        name: &str,
        id: ConnectionId,
        since: Option<StreamPosition>,
        keep: History,
    ) -> BoxFuture<'static, Result<Recovery, PushError>> {
        let unreachable = || PushError::Broker("Redis is unreachable".into());
        if !self.connected.load(Ordering::Acquire) {
            return Box::pin(std::future::ready(Err(unreachable())));
        }
        let (answer, answered) = oneshot::channel();
        let recover = Outgoing::Recover {
            kind,
            name: name.into(),
            id,
            since,
            keep,
            answer,
        };
        if self.queue.try_send(recover).is_err() {
            return Box::pin(std::future::ready(Err(PushError::Broker(
                "the broker's queue is full".into(),
            ))));
        }
        Box::pin(async move { answered.await.unwrap_or_else(|_| Err(unreachable())) })
    }

    fn flush(&self) -> BoxFuture<'static, ()> {
        if !self.connected.load(Ordering::Acquire) {
            // Nothing is queued while Redis is away: the hub delivered it here, counted as lost.
            return Box::pin(std::future::ready(()));
        }
        let queue = self.queue.clone();
        Box::pin(async move {
            let (done, flushed) = oneshot::channel();
            // Waits for room rather than fail: a full queue is what a flush is for. Either
            // end dropped (the session lost Redis or stopped), there is nothing left to wait for.
            if queue.send(Outgoing::Flush(done)).await.is_ok() {
                let _ = flushed.await;
            }
        })
    }

    fn presence(&self, group: &str) -> BoxFuture<'static, Result<Vec<Presence>, PushError>> {
        let reader = self
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (key, nodes, own) = (self.keys.members(group), self.keys.nodes.clone(), self.node);
        Box::pin(async move {
            let shards = reader.ok_or_else(|| PushError::Broker("Redis is unreachable".into()))?;
            super::members::presence(&shards, &key, &nodes, own)
                .await
                .map_err(|err| PushError::Broker(err.to_string()))
        })
    }

    fn status(&self) -> BrokerStatus {
        BrokerStatus {
            node: self.node,
            connected: self.connected.load(Ordering::Acquire),
            other_nodes: self.other_nodes.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }

    fn close(&self) {
        self.closed.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> (Link, mpsc::Receiver<Outgoing>) {
        let (link, outgoing) = Link::new(1, Keys::new("t", 1), Duration::from_secs(1), 16, 16);
        link.connected.store(true, Ordering::Release);
        (link, outgoing)
    }

    #[test]
    fn a_push_goes_to_its_channel_once() {
        let (link, mut outgoing) = link();
        assert!(link.publish(Route::Group("room"), &"{}".into()));
        match outgoing.try_recv().unwrap() {
            Outgoing::Publish { channel, .. } => assert_eq!(&*channel, "{t:g:room}"),
            _ => panic!("not a publish"),
        }
        assert!(outgoing.try_recv().is_err(), "one push, one publish");
        assert_eq!(link.status().lost, 0);
    }

    #[test]
    fn pushes_while_disconnected_are_delivered_here_and_counted_as_lost() {
        let (link, mut outgoing) = link();
        link.connected.store(false, Ordering::Release);
        assert!(!link.publish(Route::Group("room"), &"{}".into()));
        assert!(outgoing.try_recv().is_err());
        assert_eq!(link.status().lost, 1);
    }

    #[tokio::test]
    async fn a_join_waits_for_its_channel_and_its_membership() {
        let (link, mut outgoing) = link();
        let room: Arc<str> = "room".into();
        link.interest(Kind::Group, &room, true);
        link.membership(&room, ConnectionId::from_parts(1, 1), true, true, None);
        let routed = tokio::spawn(link.routed(Kind::Group, "room").wait());
        tokio::task::yield_now().await;
        assert!(!routed.is_finished());
        let Ok(Outgoing::Membership { seq, edge, .. }) = outgoing.try_recv() else {
            panic!("no membership queued");
        };
        assert!(edge);
        link.subscribed(Kind::Group, "room");
        link.written.send_replace(seq);
        tokio::time::timeout(Duration::from_secs(5), routed)
            .await
            .unwrap()
            .unwrap();
    }
}
