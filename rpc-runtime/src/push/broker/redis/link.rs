//! The broker as the hub sees it: takes pushes and interest changes without ever waiting, and
//! leaves the talking to Redis to the session task.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use super::super::{BrokerStatus, Kind, Remote, Route, Routed};
use super::view::View;
use super::wire::{Names, encode_frame};
use crate::log::Throttle;

/// Interest changes kept while they wait for the session, beyond which they are replaced by
/// one full state: the memory stays bounded however fast connections join and leave.
const MAX_PENDING: usize = 10_000;

pub(super) struct Link {
    pub(super) node: u64,
    pub(super) keys: Keys,
    pub(super) heartbeat: Duration,
    /// The most messages from Redis waiting for the session: see `inbox`.
    pub(super) max_received: usize,
    /// Pushes are queued only while a session is open; otherwise they are counted as lost at
    /// once.
    pub(super) connected: AtomicBool,
    queue: mpsc::Sender<Outgoing>,
    pub(super) view: RwLock<View>,
    pending: Mutex<Pending>,
    /// Wakes the session when `pending` has something.
    pub(super) wake: Notify,
    /// Cancelled when the hub is dropped.
    pub(super) closed: CancellationToken,
    lost: AtomicU64,
}

/// One push on its way to one channel.
pub(super) struct Outgoing {
    pub(super) channel: Arc<str>,
    pub(super) frame: Arc<[u8]>,
    /// For a retained publish: the topic to keep the frame under in Redis.
    pub(super) retain: Option<Arc<str>>,
}

/// The Redis names of one cluster, all under its prefix.
pub(super) struct Keys {
    prefix: String,
    /// Interest and liveness.
    pub(super) control: Arc<str>,
    /// Retained publishes, which every process keeps.
    pub(super) all: Arc<str>,
    /// Pushes for this process.
    pub(super) own: Arc<str>,
    /// The hash of retained values, topic to frame.
    pub(super) retained: String,
}

impl Keys {
    pub(super) fn new(prefix: &str, node: u64) -> Self {
        Keys {
            prefix: prefix.to_owned(),
            control: format!("{prefix}:control").into(),
            all: format!("{prefix}:all").into(),
            own: format!("{prefix}:node:{node:x}").into(),
            retained: format!("{prefix}:retained"),
        }
    }

    /// Where pushes for `node` go.
    pub(super) fn node(&self, node: u64) -> Arc<str> {
        format!("{}:node:{node:x}", self.prefix).into()
    }
}

/// Interest changes not yet sent: the last word on each name, or "send everything".
#[derive(Default)]
struct Pending {
    changes: HashMap<(Kind, Arc<str>), bool>,
    resync: bool,
}

/// What the session sends for the pending changes.
pub(super) enum Flush {
    Changes { added: Names, removed: Names },
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
            view: RwLock::default(),
            pending: Mutex::default(),
            wake: Notify::new(),
            closed: CancellationToken::new(),
            lost: AtomicU64::new(0),
        };
        (link, outgoing)
    }

    /// How long a process may stay silent before the others forget it.
    pub(super) fn node_timeout(&self) -> Duration {
        self.heartbeat * 5
    }

    pub(super) fn view(&self) -> RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn view_mut(&self) -> RwLockWriteGuard<'_, View> {
        self.view.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pending changes, taken; forgotten when a full state is about to be sent anyway.
    pub(super) fn take_pending(&self) -> Option<Flush> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if std::mem::take(&mut pending.resync) {
            pending.changes.clear();
            return Some(Flush::State);
        }
        if pending.changes.is_empty() {
            return None;
        }
        let (mut added, mut removed) = (Names::default(), Names::default());
        for ((kind, name), present) in pending.changes.drain() {
            let names = if present { &mut added } else { &mut removed };
            names.of(kind).push(name);
        }
        Some(Flush::Changes { added, removed })
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

    /// Counts the messages from Redis this process dropped, having fallen behind: pushes from
    /// other processes, mostly (the few heartbeats among them are not told apart unread). The
    /// session logs it as it starts over.
    pub(super) fn miss(&self, pushes: usize) {
        self.lost.fetch_add(pushes as u64, Ordering::Relaxed);
    }
}

impl Remote for Link {
    fn node(&self) -> u64 {
        self.node
    }

    fn interest(&self, kind: Kind, name: &Arc<str>, present: bool) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
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

    fn routed(&self, _kind: Kind, _name: &str) -> Routed {
        Routed::now()
    }

    fn forward(&self, route: Route<'_>, message: &Utf8Bytes) {
        if !self.connected.load(Ordering::Acquire) {
            // Only other processes' members miss it; counted, not queued for an unknown time.
            self.lose(1);
            return;
        }
        let (channels, retain) = match route {
            Route::Group(name) => (self.view().channels(Kind::Group, name).to_vec(), None),
            Route::Topic(name) => (self.view().channels(Kind::Topic, name).to_vec(), None),
            Route::Retained(topic) => (vec![self.keys.all.clone()], Some(Arc::from(topic))),
            Route::Connection(id) => (vec![self.keys.node(id.node())], None),
        };
        // Members here alone: no Redis at all.
        if channels.is_empty() {
            return;
        }
        let frame = encode_frame(self.node, route, message);
        for channel in channels {
            let outgoing = Outgoing {
                channel,
                frame: frame.clone(),
                retain: retain.clone(),
            };
            if self.queue.try_send(outgoing).is_err() {
                self.lose(1);
            }
        }
    }

    fn remote_names(&self, kind: Kind) -> Vec<Arc<str>> {
        self.view().names(kind)
    }

    fn status(&self) -> BrokerStatus {
        BrokerStatus {
            node: self.node,
            connected: self.connected.load(Ordering::Acquire),
            other_nodes: self.view().nodes(),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }

    fn close(&self) {
        self.closed.cancel();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn link() -> (Link, mpsc::Receiver<Outgoing>) {
        let (link, outgoing) = Link::new(1, Keys::new("t", 1), Duration::from_secs(1), 16, 16);
        link.connected.store(true, Ordering::Release);
        (link, outgoing)
    }

    #[test]
    fn a_push_whose_members_are_all_local_queues_nothing_for_redis() {
        let (link, mut outgoing) = link();
        link.forward(Route::Group("room"), &"{}".into());
        link.forward(Route::Topic("news"), &"{}".into());
        assert!(outgoing.try_recv().is_err());

        let names = Names {
            groups: vec!["room".into()],
            topics: Vec::new(),
        };
        let channel = link.keys.node(2);
        link.view_mut()
            .replace(2, channel.clone(), names, Instant::now());
        link.forward(Route::Group("room"), &"{}".into());
        assert_eq!(outgoing.try_recv().unwrap().channel, channel);
        assert!(outgoing.try_recv().is_err(), "one process, one push");
        assert_eq!(link.status().lost, 0);
    }

    #[test]
    fn pushes_while_disconnected_are_counted_as_lost() {
        let (link, mut outgoing) = link();
        link.connected.store(false, Ordering::Release);
        link.forward(
            Route::Connection(crate::ConnectionId::from_parts(2, 1)),
            &"{}".into(),
        );
        assert!(outgoing.try_recv().is_err());
        assert_eq!(link.status().lost, 1);
    }
}
