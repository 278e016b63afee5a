//! Where a connection delivers the notifications its router does not handle: items of the
//! subscriptions this side made, by subscription id, and everything else to whoever listens
//! for notifications, noting the position of the topics this side follows. A reconnecting
//! client keeps one for all its connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc};

use crate::client::Notification;
use crate::protocol::{Request, SubscriptionItem};
use crate::push::StreamPosition;

pub(crate) struct Listeners {
    /// Taken when the listeners end, which ends every listener's stream.
    notifications: Mutex<Option<broadcast::Sender<Notification>>>,
    subscriptions: Mutex<HashMap<String, Sink>>,
    /// How many items a subscription may fall behind by.
    buffer: usize,
    /// The topics this side follows (a reconnecting client's), each with the position last
    /// delivered of it, for topics that keep history.
    topics: Mutex<HashMap<String, Option<StreamPosition>>>,
    /// Kept across connections: ended by their owner, not when a connection ends.
    pub(crate) kept: bool,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners")
            .field("subscriptions", &lock(&self.subscriptions).len())
            .field("kept", &self.kept)
            .finish_non_exhaustive()
    }
}

/// Where one subscription's items go.
struct Sink {
    items: mpsc::Sender<Box<RawValue>>,
    /// Set when the subscriber fell `buffer` items behind and was cut off.
    lagged: Arc<AtomicBool>,
}

/// The receiving end of one subscription.
#[derive(Debug)]
pub(crate) struct Items {
    pub(crate) items: mpsc::Receiver<Box<RawValue>>,
    pub(crate) lagged: Arc<AtomicBool>,
}

impl Items {
    /// Moves the receiver out, leaving one that is closed.
    pub(crate) fn take(&mut self) -> Items {
        let (_, closed) = mpsc::channel(1);
        Items {
            items: std::mem::replace(&mut self.items, closed),
            lagged: self.lagged.clone(),
        }
    }
}

/// The params of a subscription's notification: an item, or the server's word that it ended.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each change is one insert, remove or take.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Listeners {
    pub(crate) fn new(notification_buffer: usize, subscription_buffer: usize) -> Self {
        let (notifications, _) = broadcast::channel(notification_buffer.max(1));
        Listeners {
            notifications: Mutex::new(Some(notifications)),
            subscriptions: Mutex::new(HashMap::new()),
            buffer: subscription_buffer.max(1),
            topics: Mutex::new(HashMap::new()),
            kept: false,
        }
    }

    /// Listeners kept across the connections of a reconnecting client.
    #[cfg(feature = "client")]
    pub(crate) fn kept(notification_buffer: usize, subscription_buffer: usize) -> Self {
        Listeners {
            kept: true,
            ..Listeners::new(notification_buffer, subscription_buffer)
        }
    }

    #[cfg(feature = "client")]
    /// The notifications from now on; `None` once the connection has ended.
    pub(crate) fn notifications(&self) -> Option<broadcast::Receiver<Notification>> {
        lock(&self.notifications)
            .as_ref()
            .map(broadcast::Sender::subscribe)
    }

    /// Routes the items of subscription `id` (raw JSON, as the server sent it) to the returned
    /// receiver.
    pub(crate) fn subscribe(&self, id: &RawValue) -> Items {
        let (sender, items) = mpsc::channel(self.buffer);
        let lagged = Arc::new(AtomicBool::new(false));
        let sink = Sink {
            items: sender,
            lagged: lagged.clone(),
        };
        lock(&self.subscriptions).insert(id.get().to_owned(), sink);
        Items { items, lagged }
    }

    /// Stops routing subscription `id`'s items.
    pub(crate) fn unsubscribe(&self, id: &str) {
        lock(&self.subscriptions).remove(id);
    }

    /// Routes the items of the subscription that was `old` (on a connection now gone) under
    /// its new id `new`, to the same receiver; `false` if nobody receives them any more.
    pub(crate) fn rekey(&self, old: &str, new: &RawValue) -> bool {
        let mut subscriptions = lock(&self.subscriptions);
        match subscriptions.remove(old) {
            Some(sink) if !sink.items.is_closed() => {
                subscriptions.insert(new.get().to_owned(), sink);
                true
            }
            _ => false,
        }
    }

    #[cfg(feature = "client")]
    /// Whether subscription `id`'s items still have a receiver.
    pub(crate) fn is_subscribed(&self, id: &str) -> bool {
        lock(&self.subscriptions)
            .get(id)
            .is_some_and(|sink| !sink.items.is_closed())
    }

    #[cfg(feature = "client")]
    /// Follows `topic`, at `position` if it keeps history (a subscribe's answer); `None`
    /// forgets it. A position of the same epoch never moves back: pushes after the one the
    /// answer names may have been delivered before the answer was read.
    pub(crate) fn follow(&self, topic: &str, position: Option<Option<StreamPosition>>) {
        let mut topics = lock(&self.topics);
        let Some(position) = position else {
            topics.remove(topic);
            return;
        };
        let followed = topics.entry(topic.to_owned()).or_insert(None);
        match (followed, position) {
            (Some(known), Some(answered)) if known.epoch == answered.epoch => {
                known.offset = known.offset.max(answered.offset);
            }
            (followed, position) => *followed = position,
        }
    }

    #[cfg(feature = "client")]
    /// The topics followed, each with its position if it keeps history.
    pub(crate) fn followed(&self) -> Vec<(String, Option<StreamPosition>)> {
        let topics = lock(&self.topics);
        topics
            .iter()
            .map(|(name, at)| (name.clone(), at.clone()))
            .collect()
    }

    /// Delivers one notification.
    pub(crate) fn deliver(&self, notification: &Request<'_>) {
        if let Some(offset) = notification.offset {
            // Noted as it arrives, before anyone reads it: a client coming back resumes after
            // what it has received, read or not.
            if let Some(Some(position)) = lock(&self.topics).get_mut(&*notification.method) {
                position.offset = position.offset.max(offset);
            }
        }
        if self.item(notification) {
            return;
        }
        if let Some(sender) = &*lock(&self.notifications) {
            if sender.receiver_count() > 0 {
                let _ = sender.send(Notification::from_request(notification));
            }
        }
    }

    /// Routes an item of a subscription this side made (or the server's word that it ended) to
    /// its subscriber; `false` if `notification` is not one.
    pub(crate) fn item(&self, notification: &Request<'_>) -> bool {
        let Some(item) = notification.params.and_then(SubscriptionItem::parse) else {
            return false;
        };
        let mut subscriptions = lock(&self.subscriptions);
        let key = item.subscription.get();
        let Some(sink) = subscriptions.get(key) else {
            return false;
        };
        let Some(result) = item.result else {
            // No result: the server ended the subscription.
            subscriptions.remove(key);
            return true;
        };
        if sink.items.try_send(result.to_owned()).is_err() {
            // Full (or dropped): a subscriber this far behind is cut off rather than left to
            // hold the connection's memory.
            sink.lagged.store(true, Ordering::Release);
            subscriptions.remove(key);
        }
        true
    }

    /// Ends every stream: the connection has ended.
    pub(crate) fn end(&self) {
        lock(&self.notifications).take();
        lock(&self.subscriptions).clear();
    }
}
