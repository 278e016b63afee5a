//! A typed client's methods: their params, their answers and subscriptions decoded.
//! expand/client.rs.

use serde_json::value::RawValue;

pub use crate::client::wire::decode;
pub use crate::client::{ClientError, RpcClient, Subscription, SubscriptionClient};

/// A typed client's subscription, its items decoded as `T`.
pub fn typed_subscription<T>(raw: Subscription<Box<RawValue>>) -> Subscription<T> {
    raw.typed()
}

/// The params of a typed client's call, in order. Each is serialized once; the array is
/// joined from them verbatim, with nothing parsed again.
#[derive(Debug, Default)]
pub struct PositionalParams {
    values: Vec<Box<RawValue>>,
}

impl PositionalParams {
    pub fn new() -> Self {
        PositionalParams::default()
    }

    /// Appends one param.
    pub fn push<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ClientError> {
        self.values
            .push(serde_json::value::to_raw_value(value).map_err(invalid_params)?);
        Ok(())
    }

    /// Appends each item of a variadic param.
    pub fn extend<T: serde::Serialize>(&mut self, values: &[T]) -> Result<(), ClientError> {
        values.iter().try_for_each(|value| self.push(value))
    }

    /// The array, or nothing for a call without params.
    pub fn finish(self) -> Result<Option<Box<RawValue>>, ClientError> {
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
