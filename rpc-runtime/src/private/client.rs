//! A typed client's methods: their params, their answers and subscriptions decoded.
//! expand/client.rs.
//!
//! Each method is a plain `fn` that serializes its params and hands them to one of the
//! futures here: one generic future per kind, written once, rather than an `async fn` per
//! method, whose state machine the compiler would check again for every method of every
//! service (it was half the `cargo check` time of a 200-method trait).

// `Send` is promised here, in each signature, rather than leaked from an `async fn` and
// proved again at every generated method.
#![allow(clippy::manual_async_fn)]

use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::client::wire::decode;
pub use crate::client::{ClientError, RpcClient, Subscription, SubscriptionClient};

type Params = Result<Option<Box<RawValue>>, ClientError>;

/// What a typed client sends as a param: any `serde::Serialize` type. A service's param types
/// go both ways, so one that is not `Serialize` is reported in these words at the param.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a param of the service's client: it does not implement `serde::Serialize`",
    label = "not `Serialize`",
    note = "a service's params are read by its server and sent by its client: derive both `serde::Serialize` and `serde::Deserialize`"
)]
pub trait ClientParam: serde::Serialize {}

#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + ?Sized> ClientParam for T {}

/// A typed client's call: `method`'s result decoded as `R`.
pub fn call<C: RpcClient, R: DeserializeOwned>(
    client: &C,
    method: &'static str,
    params: Params,
) -> impl Future<Output = Result<R, ClientError>> + Send {
    async move { decode(&client.call_raw(method, params?).await?) }
}

/// A typed client's notification.
pub fn notify<C: RpcClient>(
    client: &C,
    method: &'static str,
    params: Params,
) -> impl Future<Output = Result<(), ClientError>> + Send {
    async move { client.notify_raw(method, params?).await }
}

/// A typed client's subscription, its items decoded as `T`.
pub fn subscribe<C: SubscriptionClient, T>(
    client: &C,
    method: &'static str,
    params: Params,
    unsubscribe: &'static str,
) -> impl Future<Output = Result<Subscription<T>, ClientError>> + Send {
    async move {
        let raw = client.subscribe_raw(method, params?, unsubscribe).await?;
        Ok(raw.typed())
    }
}

/// The params of a typed client's call, in order. Each is serialized once; the array is
/// joined from them verbatim, with nothing parsed again. The first param that fails to
/// serialize is the call's error, which `finish` returns.
#[derive(Debug, Default)]
pub struct PositionalParams {
    values: Vec<Box<RawValue>>,
    error: Option<ClientError>,
}

impl PositionalParams {
    pub fn new() -> Self {
        PositionalParams::default()
    }

    /// Appends one param.
    pub fn push<T: ClientParam + ?Sized>(&mut self, value: &T) {
        if self.error.is_some() {
            return;
        }
        match serde_json::value::to_raw_value(value) {
            Ok(value) => self.values.push(value),
            Err(err) => self.error = Some(invalid_params(err)),
        }
    }

    /// Appends each item of a variadic param.
    pub fn extend<T: ClientParam>(&mut self, values: &[T]) {
        values.iter().for_each(|value| self.push(value));
    }

    /// The array, or nothing for a call without params.
    pub fn finish(self) -> Params {
        if let Some(err) = self.error {
            return Err(err);
        }
        if self.values.is_empty() {
            return Ok(None);
        }
        serde_json::value::to_raw_value(&self.values)
            .map(Some)
            .map_err(invalid_params)
    }
}

fn invalid_params(err: serde_json::Error) -> ClientError {
    ClientError::InvalidParams(err.to_string())
}
