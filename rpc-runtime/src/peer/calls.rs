//! Calls from this side of a connection to the other, whichever side this is: the connection is
//! an [`RpcClient`] of its peer, and the answers it reads are routed back to the callers.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::{Listeners, Waiter};
use crate::Connection;
use crate::client::{
    Batch, BatchResponse, ClientError, RpcClient, Subscriber, Subscription, SubscriptionClient,
    wire,
};
use crate::protocol::{encode_request, encode_unsubscribe};

impl RpcClient for Connection {
    async fn call_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Box<RawValue>, ClientError> {
        let id = self.pending().reserve_ids(1);
        let request = request(method, params.as_deref(), Some(id));
        let (sender, answer) = oneshot::channel();
        self.exchange(id, request, Waiter::Call(sender), answer)
            .await
    }

    async fn notify_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<(), ClientError> {
        let notification = request(method, params.as_deref(), None);
        let timeout = self.call_timeout();
        match tokio::time::timeout(timeout, self.outbox().send(notification.into())).await {
            Ok(sent) => sent.map_err(|_| ClientError::Closed),
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }

    async fn batch(&self, batch: Batch) -> Result<BatchResponse, ClientError> {
        if batch.is_empty() {
            return Ok(BatchResponse::empty(&batch));
        }
        let first_id = self.pending().reserve_ids(batch.len() as u64);
        let request = batch.encode(first_id);
        let Some(first_call) = batch.first_call_index() else {
            self.outbox()
                .send(request.into())
                .await
                .map_err(|_| ClientError::Closed)?;
            return Ok(BatchResponse::empty(&batch));
        };
        let (sender, answer) = oneshot::channel();
        // The answer's entries come in any order; the waiter sits under the id of the batch's
        // first call, which `answer_batch` looks for among all of them.
        let key = first_id + first_call as u64;
        let text = self
            .exchange(key, request, Waiter::Batch(sender), answer)
            .await?;
        batch.decode(&text, first_id)
    }
}

impl SubscriptionClient for Connection {
    // The items are routed from the moment the answer is read, by `answer`.
    async fn subscribe_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
    ) -> Result<Subscription<Box<RawValue>>, ClientError> {
        let id = self.pending().reserve_ids(1);
        let request = request(method, params.as_deref(), Some(id));
        let (sender, answer) = oneshot::channel();
        let (subscription, items) = self
            .exchange(id, request, Waiter::Subscribe(sender), answer)
            .await?;
        Ok(Subscription::new(
            Arc::new(self.clone()),
            subscription,
            unsubscribe.to_owned(),
            items,
        ))
    }
}

impl Subscriber for Connection {
    fn listeners(&self) -> &Listeners {
        Connection::listeners(self)
    }

    fn unsubscribe<'a>(
        &'a self,
        method: &'a str,
        id: &'a RawValue,
    ) -> BoxFuture<'a, Result<bool, ClientError>> {
        Box::pin(self.call(method, [id]))
    }

    fn unsubscribe_unawaited(&self, method: &str, id: &RawValue) {
        if self.is_closed() {
            return;
        }
        let call = self.pending().reserve_ids(1);
        let request = encode_unsubscribe(method, id, call);
        let _ = self.outbox().push(request.into());
    }
}

impl Connection {
    /// Calls `method` again for a subscription this side had under id `old` on a connection
    /// now gone, routing its items on to the same receiver; answers its new id.
    #[cfg(feature = "client")]
    pub(crate) async fn resubscribe_raw(
        &self,
        method: &str,
        params: Option<&RawValue>,
        old: &str,
    ) -> Result<Box<RawValue>, ClientError> {
        let id = self.pending().reserve_ids(1);
        let request = request(method, params, Some(id));
        let (answer, answered) = oneshot::channel();
        let waiter = Waiter::Resubscribe {
            old: old.to_owned(),
            answer,
        };
        self.exchange(id, request, waiter, answered).await
    }

    /// Registers `waiter` under `id`, sends `request`, and waits, within the call timeout, for
    /// what the waiter receives.
    async fn exchange<T>(
        &self,
        id: u64,
        request: String,
        waiter: Waiter,
        answer: oneshot::Receiver<Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        self.pending().register(id, waiter)?;
        let timeout = self.call_timeout();
        let exchange = async {
            self.outbox()
                .send(request.into())
                .await
                .map_err(|_| ClientError::Closed)?;
            answer.await.map_err(|_| ClientError::Closed)?
        };
        let result = tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(ClientError::Timeout(timeout)));
        if result.is_err() {
            self.pending().forget(id);
        }
        result
    }

    /// Hands the answer to one of this side's calls to its caller.
    pub(crate) fn answer(&self, text: &str, id: &RawValue, outcome: Result<&RawValue, &RawValue>) {
        let Some(waiter) = self.pending().take(id) else {
            // Timed out already, or not ours.
            tracing::debug!(id = id.get(), "an answer nobody waits for");
            return;
        };
        match (waiter, outcome) {
            (Waiter::Call(sender), outcome) => drop(sender.send(wire::outcome(outcome))),
            // A peer that rejects a whole batch answers with one object.
            (Waiter::Batch(sender), _) => drop(sender.send(Ok(text.to_owned()))),
            (Waiter::Subscribe(sender), Ok(subscription)) => {
                let items = self.listeners().subscribe(subscription);
                if let Err(Ok((subscription, _))) =
                    sender.send(Ok((subscription.to_owned(), items)))
                {
                    // The caller gave up: its subscription is nobody's.
                    self.listeners().unsubscribe(subscription.get());
                }
            }
            (Waiter::Subscribe(sender), Err(error)) => {
                drop(sender.send(Err(wire::error_object(error))));
            }
            (Waiter::Resubscribe { old, answer }, Ok(subscription)) => {
                let routed = self.listeners().rekey(&old, subscription);
                drop(answer.send(if routed {
                    Ok(subscription.to_owned())
                } else {
                    Err(ClientError::Closed)
                }));
            }
            (Waiter::Resubscribe { answer, .. }, Err(error)) => {
                drop(answer.send(Err(wire::error_object(error))));
            }
        }
    }

    /// Hands a batch answer, whose entries have `ids`, to the batch's caller.
    pub(crate) fn answer_batch<'a>(&self, text: &str, ids: impl Iterator<Item = &'a RawValue>) {
        match self.pending().take_batch(ids) {
            Some(Waiter::Batch(sender)) => drop(sender.send(Ok(text.to_owned()))),
            Some(other) => other.fail(ClientError::Decode(
                "a batch answer to a single call".into(),
            )),
            None => tracing::debug!("a batch answer nobody waits for"),
        }
    }
}

fn request(method: &str, params: Option<&RawValue>, id: Option<u64>) -> String {
    let mut out = String::new();
    encode_request(&mut out, method, params.map(RawValue::get), id);
    out
}
