//! Calls, notifications and batches over transports that answer each message with at most one
//! reply of their own (HTTP, in process). WebSocket multiplexes instead; see `ws`.

use std::future::Future;

use serde_json::value::RawValue;

use super::wire::single_outcome;
use super::{Batch, BatchResponse, ClientError};
use crate::protocol::encode_request;

/// Sends one message and returns the reply, `None` when there is none (notifications).
pub(crate) trait Exchange: Send + Sync {
    fn exchange(
        &self,
        message: String,
    ) -> impl Future<Output = Result<Option<String>, ClientError>> + Send;

    /// Reserves `count` consecutive request ids and returns the first.
    fn reserve_ids(&self, count: u64) -> u64;
}

/// Implements [`RpcClient`] for an exchanging transport, invoked beside it by name rather than
/// for every `T: Exchange`, so that a type that is not a client is never said to lack a private
/// trait.
macro_rules! exchanging_client {
    ($client:ty) => {
        impl $crate::client::RpcClient for $client {
            async fn call_raw(
                &self,
                method: &str,
                params: Option<Box<::serde_json::value::RawValue>>,
            ) -> Result<Box<::serde_json::value::RawValue>, $crate::client::ClientError> {
                $crate::client::exchange::call(self, method, params).await
            }

            async fn notify_raw(
                &self,
                method: &str,
                params: Option<Box<::serde_json::value::RawValue>>,
            ) -> Result<(), $crate::client::ClientError> {
                $crate::client::exchange::notify(self, method, params).await
            }

            async fn batch(
                &self,
                batch: $crate::client::Batch,
            ) -> Result<$crate::client::BatchResponse, $crate::client::ClientError> {
                $crate::client::exchange::batch(self, batch).await
            }
        }
    };
}

pub(crate) use exchanging_client;

pub(crate) async fn call(
    transport: &impl Exchange,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Result<Box<RawValue>, ClientError> {
    let id = transport.reserve_ids(1);
    let mut request = String::new();
    encode_request(
        &mut request,
        method,
        params.as_deref().map(RawValue::get),
        Some(id),
    );
    match transport.exchange(request).await? {
        Some(answer) => single_outcome(&answer, id),
        None => Err(ClientError::Decode("a call got no answer".into())),
    }
}

/// Fire-and-forget: whatever comes back, if anything, is not the caller's concern.
pub(crate) async fn notify(
    transport: &impl Exchange,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Result<(), ClientError> {
    let mut request = String::new();
    encode_request(
        &mut request,
        method,
        params.as_deref().map(RawValue::get),
        None,
    );
    transport.exchange(request).await.map(drop)
}

pub(crate) async fn batch(
    transport: &impl Exchange,
    batch: Batch,
) -> Result<BatchResponse, ClientError> {
    if batch.is_empty() {
        return Ok(BatchResponse::empty(&batch));
    }
    let first_id = transport.reserve_ids(batch.len() as u64);
    match transport.exchange(batch.encode(first_id)).await? {
        Some(answer) => batch.decode(&answer, first_id),
        None if !batch.has_calls() => Ok(BatchResponse::empty(&batch)),
        None => Err(ClientError::Decode(
            "a batch with calls got no answer".into(),
        )),
    }
}
