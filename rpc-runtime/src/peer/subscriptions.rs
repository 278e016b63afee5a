//! The typed subscriptions a connection serves: each one a stream whose items are sent as
//! notifications `{"method":NOTIFICATION,"params":{"subscription":ID,"result":ITEM}}`.
//!
//! A subscription is accepted by its handler, started only once the answer carrying its id is
//! queued (so no item can overtake the id), and ends when its stream ends, when the peer
//! unsubscribes, or when the connection ends; ending frees it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Mutex, MutexGuard, PoisonError};

use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::task::AbortHandle;

use crate::protocol::encode_request;
use crate::{Connection, RpcError, codes};

type Feed = Pin<Box<dyn Future<Output = ()> + Send>>;

pub(crate) struct Subscriptions {
    table: Mutex<Table>,
    limit: usize,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    live: HashMap<u64, Live>,
    /// Set once the connection has ended: nothing is accepted or started after.
    ended: bool,
}

struct Live {
    notification: &'static str,
    state: State,
}

enum State {
    /// Accepted; its answer is not queued yet.
    Accepted(Feed),
    Running(AbortHandle),
}

impl Subscriptions {
    pub(crate) fn new(limit: usize) -> Self {
        Subscriptions {
            table: Mutex::new(Table::default()),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // Every change is one insert, remove or replacement.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Accepts a subscription whose items `feed(id)` sends, and returns its id; refused past
    /// the connection's limit.
    pub(crate) fn accept(
        &self,
        notification: &'static str,
        feed: impl FnOnce(u64) -> Feed,
    ) -> Result<u64, RpcError> {
        let mut table = self.lock();
        if table.ended {
            return Err(RpcError::internal().with_data("the connection is closing"));
        }
        if table.live.len() >= self.limit {
            return Err(RpcError::new(
                crate::codes::TOO_MANY_SUBSCRIPTIONS,
                format!(
                    "too many subscriptions on this connection (at most {}): unsubscribe from one first",
                    self.limit
                ),
            ));
        }
        table.next_id += 1;
        let id = table.next_id;
        let state = State::Accepted(feed(id));
        table.live.insert(
            id,
            Live {
                notification,
                state,
            },
        );
        Ok(id)
    }

    /// Starts the accepted subscriptions `ids`, whose answers are now queued.
    pub(crate) fn start(&self, ids: &[u64]) {
        let mut table = self.lock();
        if table.ended {
            return;
        }
        for id in ids {
            // Holding the lock, so a feed that ends at once cannot `finish` before it is
            // recorded as running.
            let Some(live) = table.live.remove(id) else {
                continue;
            };
            let state = match live.state {
                State::Accepted(feed) => State::Running(tokio::spawn(feed).abort_handle()),
                running => running,
            };
            table.live.insert(*id, Live { state, ..live });
        }
    }

    /// Ends subscription `id` if it is one of `notification`'s; whether it was.
    pub(crate) fn cancel(&self, id: u64, notification: &str) -> bool {
        let mut table = self.lock();
        match table.live.get(&id) {
            Some(live) if live.notification == notification => {
                if let Some(live) = table.live.remove(&id) {
                    live.stop();
                }
                true
            }
            _ => false,
        }
    }

    /// Forgets subscription `id`, whose stream has ended on its own.
    pub(crate) fn finished(&self, id: u64) {
        self.lock().live.remove(&id);
    }

    /// How many subscriptions are live.
    pub(crate) fn len(&self) -> usize {
        self.lock().live.len()
    }

    /// Ends every subscription, for good: the connection has ended.
    pub(crate) fn end(&self) {
        let live = {
            let mut table = self.lock();
            table.ended = true;
            std::mem::take(&mut table.live)
        };
        // Dropped outside the lock: an accepted feed owns a connection handle, whose drop
        // must not run under the table's lock.
        for live in live.into_values() {
            live.stop();
        }
    }
}

/// Sends `stream`'s items as subscription `id`'s notifications, waiting while the connection's
/// queue is full (a subscriber that does not read holds its stream back, not the server); when
/// the stream ends, says so with a final notification and frees the subscription.
pub(crate) async fn feed<T, S>(
    connection: Connection,
    notification: &'static str,
    id: u64,
    stream: S,
) where
    T: Serialize,
    S: Stream<Item = T>,
{
    // {"jsonrpc":"2.0","method":"ticks","params":{"subscription":7,"result":
    let mut prefix = String::new();
    encode_request(&mut prefix, notification, Some("{"), None);
    // Open, for the params' members to follow.
    prefix.pop();
    let _ = write!(prefix, r#""subscription":{id},"#);
    let mut stream = pin!(stream);
    // Not `while let`, whose scrutinee would live (and need to be `Send`) across the send.
    loop {
        let Some(item) = stream.next().await else {
            break;
        };
        let Some(message) = item_message(&prefix, item) else {
            break;
        };
        if connection.outbox().send(message.into()).await.is_err() {
            return;
        }
    }
    let mut ended = prefix;
    let _ = write!(
        ended,
        r#""error":{{"code":{},"message":"subscription ended"}}}}}}"#,
        codes::SUBSCRIPTION_ENDED
    );
    let _ = connection.outbox().send(ended.into()).await;
    connection.subscriptions().finished(id);
}

/// One item's notification, or `None` if the item does not serialize. Takes the item, so that
/// it is not held across the send.
fn item_message<T: Serialize>(prefix: &str, item: T) -> Option<String> {
    let mut message = String::with_capacity(prefix.len() + 128);
    message.push_str(prefix);
    message.push_str(r#""result":"#);
    match crate::encode::to_json_after(message, &item) {
        Ok(mut message) => {
            message.push_str("}}");
            Some(message)
        }
        Err(err) => {
            tracing::error!(%err, "a subscription item could not be serialized: ending the subscription");
            None
        }
    }
}

impl Live {
    fn stop(self) {
        if let State::Running(task) = self.state {
            task.abort();
        }
    }
}
