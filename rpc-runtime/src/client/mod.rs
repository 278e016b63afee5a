//! Clients: calling JSON-RPC methods over WebSocket, HTTP, or in process.
//!
//! Every client implements [`RpcClient`], so code written against it (the typed clients that
//! `#[rpc_service]` generates, above all) runs over any of them.

mod batch;
mod error;
mod exchange;
mod headers;
#[cfg(feature = "client")]
mod http;
mod local;
mod notification;
mod subscription;
#[cfg(all(feature = "client", feature = "tls"))]
mod tls;
pub(crate) mod wire;
#[cfg(feature = "client")]
mod ws;

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

pub use batch::{Batch, BatchEntry, BatchResponse};
pub use error::ClientError;
#[cfg(feature = "client")]
pub use http::{HttpClient, HttpClientBuilder, HttpStatusError};
pub use local::{TestClient, TestClientBuilder};
pub use notification::Notification;
#[cfg(feature = "client")]
pub use notification::{Notifications, TypedNotifications};
pub(crate) use subscription::Subscriber;
pub use subscription::{Subscription, SubscriptionClient};

mod shared;

pub(crate) use headers::Headers;
#[cfg(feature = "client")]
pub use ws::{ClientEvent, ClientEvents, Reconnect, WsClient, WsClientBuilder};

pub(crate) use wire::{decode, encode_params};

pub use crate::defaults::DEFAULT_REQUEST_TIMEOUT;

/// A connection to a JSON-RPC server, whatever carries it.
///
/// Params are any `Serialize` value that becomes a JSON array (a tuple, an array, a `Vec`) or
/// object (a struct, a map); `()` sends none.
///
/// ```no_run
/// # async fn run() -> Result<(), rpc_runtime::client::ClientError> {
/// use rpc_runtime::client::{RpcClient, WsClient};
///
/// let client = WsClient::connect("ws://127.0.0.1:8080/").await?;
/// let difference: i64 = client.call("subtract", (42, 23)).await?;
/// let named: i64 = client.call("subtract", serde_json::json!({"minuend": 42, "subtrahend": 23})).await?;
/// client.notify("update", [1, 2, 3]).await?;
/// # Ok(()) }
/// ```
pub trait RpcClient: Send + Sync {
    /// Calls `method` and returns its result as raw JSON.
    fn call_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> impl Future<Output = Result<Box<RawValue>, ClientError>> + Send;

    /// Sends a notification; nothing is answered.
    fn notify_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;

    /// Sends a batch in one message and waits for the answers to its calls.
    fn batch(
        &self,
        batch: Batch,
    ) -> impl Future<Output = Result<BatchResponse, ClientError>> + Send;

    /// Calls `method` and decodes its result into `R`.
    fn call<R: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> impl Future<Output = Result<R, ClientError>> + Send {
        let params = encode_params(&params);
        async move { decode(&self.call_raw(method, params?).await?) }
    }

    /// Sends a notification to `method`.
    fn notify(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        let params = encode_params(&params);
        async move { self.notify_raw(method, params?).await }
    }
}
