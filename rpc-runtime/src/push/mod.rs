//! Pushing from the server: to one connection, to groups, to topics' subscribers.

mod broker;
mod builtins;
mod error;
mod feed;
mod hooks;
mod hub;
mod registry;
mod topic;

use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub use broker::BrokerStatus;
pub use error::PushError;
pub use feed::{Change, Record};
pub use hooks::Refusal;
pub use hub::{Hub, HubBuilder};
pub use topic::Topic;

#[cfg(feature = "redis")]
pub use broker::redis::{BrokerError, RedisBroker, RedisBrokerBuilder};

pub(crate) use builtins::methods as builtin_methods;

use crate::protocol::encode_request;

/// `{"jsonrpc":"2.0","method":METHOD,"params":PARAMS}`, encoded once however many connections
/// it goes to. `params` that serialize to `null` (`()`, `None`) are left out.
pub(crate) fn encode_notification<P: Serialize + ?Sized>(
    method: &str,
    params: &P,
) -> Result<Utf8Bytes, PushError> {
    let params =
        crate::encode::to_json(params).map_err(|err| PushError::Serialize(err.to_string()))?;
    let mut out = String::with_capacity(params.len() + method.len() + 40);
    let params = (params != "null").then_some(params.as_str());
    encode_request(&mut out, method, params, None);
    Ok(out.into())
}
