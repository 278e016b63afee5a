//! Where a connection delivers the notifications its router does not handle: items of the
//! subscriptions this side made, by subscription id, and everything else to whoever listens
//! for notifications.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc};

use crate::client::Notification;
use crate::protocol::{Request, SubscriptionItem};

pub(crate) struct Listeners {
    /// Taken when the connection ends, which ends every listener's stream.
    notifications: Mutex<Option<broadcast::Sender<Notification>>>,
    subscriptions: Mutex<HashMap<String, Sink>>,
    /// How many items a subscription may fall behind by.
    buffer: usize,
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

    /// Delivers one notification.
    pub(crate) fn deliver(&self, notification: &Request<'_>) {
        if let Some(params) = notification.params {
            if let Some(item) = SubscriptionItem::parse(params) {
                let mut subscriptions = lock(&self.subscriptions);
                let key = item.subscription.get();
                if let Some(sink) = subscriptions.get(key) {
                    let Some(result) = item.result else {
                        // No result: the server ended the subscription.
                        subscriptions.remove(key);
                        return;
                    };
                    if sink.items.try_send(result.to_owned()).is_err() {
                        // Full (or dropped): a subscriber this far behind is cut off rather
                        // than left to hold the connection's memory.
                        sink.lagged.store(true, Ordering::Release);
                        subscriptions.remove(key);
                    }
                    return;
                }
            }
        }
        if let Some(sender) = &*lock(&self.notifications) {
            if sender.receiver_count() > 0 {
                let _ = sender.send(Notification::from_request(notification));
            }
        }
    }

    /// Ends every stream: the connection has ended.
    pub(crate) fn end(&self) {
        lock(&self.notifications).take();
        lock(&self.subscriptions).clear();
    }
}
