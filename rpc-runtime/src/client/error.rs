//! What can go wrong with a call made by a client.

use std::time::Duration;

use crate::RpcError;

/// A failed call, by cause: the transport, the clock, the server, or the response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection could not be made, or failed while in use.
    #[error("transport error: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The connection closed; every call waiting on it fails with this.
    #[error("the connection is closed")]
    Closed,
    /// No response within the client's request timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The server answered with a JSON-RPC error; its code, message and data are kept.
    #[error("the server answered with an error: {0}")]
    Rpc(RpcError),
    /// The response was not the JSON-RPC the client expected, or its result did not decode
    /// into the requested type.
    #[error("the response does not decode: {0}")]
    Decode(String),
    /// A subscriber fell further behind than its buffer and was cut off; it may subscribe
    /// again.
    #[error("the subscription fell too far behind and was ended")]
    Lagged,
    /// The params did not serialize into a JSON array or object.
    #[error("invalid params: {0}")]
    InvalidParams(String),
}

impl ClientError {
    #[cfg(feature = "client")]
    pub(crate) fn transport(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        ClientError::Transport(Box::new(err))
    }

    /// The server's error, if that is what this is.
    pub fn as_rpc(&self) -> Option<&RpcError> {
        match self {
            ClientError::Rpc(err) => Some(err),
            _ => None,
        }
    }
}
