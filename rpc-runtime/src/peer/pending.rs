//! Calls this side made on a connection, waiting for their answers by id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::listeners::Items;
use crate::client::ClientError;

/// The calls in flight, by the id they were sent with.
#[derive(Default)]
pub(crate) struct Pending {
    waiters: Mutex<HashMap<u64, Waiter>>,
    next_id: AtomicU64,
    /// Set when the connection ends, before the waiters are failed, so that a waiter registered
    /// too late to be failed finds out from [`register`](Pending::register).
    closed: AtomicBool,
}

/// Who waits for an answer, and what it waits for.
pub(crate) enum Waiter {
    Call(oneshot::Sender<Result<Box<RawValue>, ClientError>>),
    /// A batch waits under its first call's id for the whole answer text.
    Batch(oneshot::Sender<Result<String, ClientError>>),
    /// A subscribe call: its items are routed from the moment its answer is read, before any
    /// item that follows the answer can be.
    Subscribe(oneshot::Sender<Result<(Box<RawValue>, Items), ClientError>>),
    /// A reconnecting client's subscribe call for a subscription it had on a connection now
    /// gone, under id `old`: its items go on to the same receiver from the moment the answer
    /// is read.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    Resubscribe {
        old: String,
        answer: oneshot::Sender<Result<Box<RawValue>, ClientError>>,
    },
}

impl Waiter {
    pub(crate) fn fail(self, err: ClientError) {
        // A caller that gave up no longer listens; that is no error.
        match self {
            Waiter::Call(sender) => drop(sender.send(Err(err))),
            Waiter::Batch(sender) => drop(sender.send(Err(err))),
            Waiter::Subscribe(sender) => drop(sender.send(Err(err))),
            Waiter::Resubscribe { answer, .. } => drop(answer.send(Err(err))),
        }
    }
}

impl Pending {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Waiter>> {
        // Each change is one insert or remove: a panic cannot leave the map half-changed.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves `count` consecutive ids and returns the first.
    pub(crate) fn reserve_ids(&self, count: u64) -> u64 {
        self.next_id.fetch_add(count, Ordering::Relaxed)
    }

    /// Waits for the answer to `id`; fails if the connection has ended.
    pub(crate) fn register(&self, id: u64, waiter: Waiter) -> Result<(), ClientError> {
        self.lock().insert(id, waiter);
        if self.closed.load(Ordering::Acquire) {
            self.lock().remove(&id);
            return Err(ClientError::Closed);
        }
        Ok(())
    }

    /// Stops waiting for `id`: the caller timed out or gave up.
    pub(crate) fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Takes the waiter for `id`, if the id is one of ours and still awaited.
    pub(crate) fn take(&self, id: &RawValue) -> Option<Waiter> {
        let id = id.get().parse().ok()?;
        self.lock().remove(&id)
    }

    /// Takes the waiter of a batch answer: the first of its ids that a batch waits under.
    pub(crate) fn take_batch<'a>(&self, ids: impl Iterator<Item = &'a RawValue>) -> Option<Waiter> {
        let mut waiters = self.lock();
        let key = ids
            .filter_map(|id| id.get().parse::<u64>().ok())
            .find(|id| matches!(waiters.get(id), Some(Waiter::Batch(_))))?;
        waiters.remove(&key)
    }

    /// Fails every waiter with [`ClientError::Closed`], now and from now on.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let waiters: Vec<_> = self.lock().drain().map(|(_, waiter)| waiter).collect();
        for waiter in waiters {
            waiter.fail(ClientError::Closed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closing_fails_waiters_now_and_later() {
        let pending = Pending::default();
        let (sender, answer) = oneshot::channel();
        pending.register(1, Waiter::Call(sender)).unwrap();
        pending.close();
        assert!(matches!(answer.await, Ok(Err(ClientError::Closed))));
        let (sender, _answer) = oneshot::channel();
        assert!(matches!(
            pending.register(2, Waiter::Call(sender)),
            Err(ClientError::Closed)
        ));
    }

    #[test]
    fn ids_that_are_not_ours_find_nobody() {
        let pending = Pending::default();
        let (sender, _answer) = oneshot::channel();
        pending.register(7, Waiter::Call(sender)).unwrap();
        let other: Box<RawValue> = serde_json::from_str(r#""7""#).unwrap();
        assert!(pending.take(&other).is_none());
        let ours: Box<RawValue> = serde_json::from_str("7").unwrap();
        assert!(pending.take(&ours).is_some());
    }
}
