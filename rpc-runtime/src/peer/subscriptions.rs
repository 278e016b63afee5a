//! The typed subscriptions a connection serves: each one a stream whose items are sent as
//! notifications `{"method":NOTIFICATION,"params":{"subscription":ID,"result":ITEM}}`.
//!
//! A subscription is accepted by its handler, started only once the answer carrying its id is
//! queued (so no item can overtake the id), and ends when its stream ends, when the peer
//! unsubscribes, or when the connection ends; ending frees it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::task::AbortHandle;

use crate::RpcError;

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

impl Live {
    fn stop(self) {
        if let State::Running(task) = self.state {
            task.abort();
        }
    }
}
