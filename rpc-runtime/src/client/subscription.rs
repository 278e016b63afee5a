//! Typed subscriptions from the subscriber's side: a [`Stream`] of the items a server's
//! subscription method sends.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_util::Stream;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{ClientError, RpcClient, decode, encode_params};
use crate::peer::{Items, Listeners};

/// A client that can subscribe: one whose connection carries the server's notifications
/// ([`WsClient`](super::WsClient), a server's [`Connection`](crate::Connection) to its client,
/// and a WebSocket [`TestClient`](super::TestClient)).
pub trait SubscriptionClient: RpcClient {
    /// Calls `method`, which answers a subscription id, and returns the subscription's items
    /// as raw JSON; `unsubscribe` is the method that ends it.
    fn subscribe_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
    ) -> impl Future<Output = Result<Subscription<Box<RawValue>>, ClientError>> + Send;

    /// Calls `method` and returns the subscription's items decoded as `T`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rpc_runtime::client::ClientError> {
    /// use futures_util::StreamExt;
    /// use rpc_runtime::client::{SubscriptionClient, WsClient};
    ///
    /// let client = WsClient::connect("ws://127.0.0.1:8080/").await?;
    /// let mut ticks = client.subscribe::<u64>("subscribe_ticks", (), "unsubscribe_ticks").await?;
    /// while let Some(tick) = ticks.next().await {
    ///     println!("{}", tick?);
    /// }
    /// # Ok(()) }
    /// ```
    fn subscribe<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
        unsubscribe: &str,
    ) -> impl Future<Output = Result<Subscription<T>, ClientError>> + Send {
        let params = encode_params(&params);
        async move {
            let raw = self.subscribe_raw(method, params?, unsubscribe).await?;
            Ok(raw.typed())
        }
    }
}

/// One subscription: a [`Stream`] of its items, each decoded as `T`. It ends when the server
/// ends the subscription or the connection closes; an item that does not decode is an `Err`
/// and the stream goes on. A subscriber that falls too far behind (the client's
/// `subscription_buffer`) is cut off: its last item is [`ClientError::Lagged`].
///
/// Dropping it unsubscribes without waiting; [`unsubscribe`](Self::unsubscribe) waits for the
/// server's answer.
///
/// On a [`WsClient`](super::WsClient) that reconnects, it goes on across connections: the
/// client subscribes again (a new id), and the items sent while it was away are lost, which
/// the client reports.
#[derive(Debug)]
pub struct Subscription<T> {
    target: Target,
    unsubscribe: String,
    items: Items,
    /// Unsubscribed already, or ended by the server: nothing to do when dropped.
    done: bool,
    item: PhantomData<fn() -> T>,
}

/// Where a subscription is: who made it and its id, which a reconnecting client replaces.
pub(crate) type Target = Arc<Mutex<Place>>;

/// Who a subscription was made through, and its id there.
pub(crate) type Place = (Arc<dyn Subscriber>, Box<RawValue>);

fn target(target: &Target) -> MutexGuard<'_, Place> {
    // Replaced whole, never left half-written.
    target.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Who a subscription was made through, which routes its items and ends it: a connection to
/// the serving side, or a test client, which dispatches in process.
pub(crate) trait Subscriber: Send + Sync + fmt::Debug {
    /// Where the subscription's items are routed.
    fn listeners(&self) -> &Listeners;

    /// Calls `method` to end subscription `id`: whether it still existed.
    fn unsubscribe<'a>(
        &'a self,
        method: &'a str,
        id: &'a RawValue,
    ) -> BoxFuture<'a, Result<bool, ClientError>>;

    /// Ends subscription `id` without waiting for the answer, which is dropped.
    fn unsubscribe_unawaited(&self, method: &str, id: &RawValue);
}

impl<T> Subscription<T> {
    pub(crate) fn new(
        subscriber: Arc<dyn Subscriber>,
        id: Box<RawValue>,
        unsubscribe: String,
        items: Items,
    ) -> Self {
        Subscription {
            target: Arc::new(Mutex::new((subscriber, id))),
            unsubscribe,
            items,
            done: false,
            item: PhantomData,
        }
    }

    pub(crate) fn typed<U>(mut self) -> Subscription<U> {
        self.done = true;
        Subscription {
            target: self.target.clone(),
            unsubscribe: std::mem::take(&mut self.unsubscribe),
            items: self.items.take(),
            done: false,
            item: PhantomData,
        }
    }

    /// Where it is, for a reconnecting client to move it.
    #[cfg(feature = "client")]
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// The subscription id the server gave, as raw JSON (a new one after a reconnect).
    pub fn id(&self) -> Box<RawValue> {
        target(&self.target).1.clone()
    }

    /// Ends the subscription and waits for the server's answer: whether it still existed.
    pub async fn unsubscribe(mut self) -> Result<bool, ClientError> {
        self.done = true;
        let (subscriber, id) = target(&self.target).clone();
        subscriber.listeners().unsubscribe(id.get());
        subscriber.unsubscribe(&self.unsubscribe, &id).await
    }
}

impl<T: DeserializeOwned> Stream for Subscription<T> {
    type Item = Result<T, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.items.items.poll_recv(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(decode(&item))),
            Poll::Ready(None) => {
                if self.done {
                    return Poll::Ready(None);
                }
                // Ended by the server, the connection, or for lagging; nothing to unsubscribe.
                self.done = true;
                let lagged = self.items.lagged.swap(false, Ordering::AcqRel);
                Poll::Ready(lagged.then_some(Err(ClientError::Lagged)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (subscriber, id) = &*target(&self.target);
        // Also while a reconnecting client is away: it then does not subscribe again.
        subscriber.listeners().unsubscribe(id.get());
        subscriber.unsubscribe_unawaited(&self.unsubscribe, id);
    }
}
