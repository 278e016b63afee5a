//! What can go wrong with a push.

use crate::ConnectionId;

/// A push that was not queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The params did not serialize to JSON.
    #[error("the params could not be serialized: {0}")]
    Serialize(String),
    /// The connection has closed, or is closing.
    #[error("the connection is closed")]
    Closed,
    /// The connection's outbound queue is full and the server drops pushes to slow readers
    /// ([`SlowReaderPolicy::Drop`](crate::SlowReaderPolicy::Drop)).
    #[error("the client is not reading: its outbound queue is full, so the message was dropped")]
    Dropped,
    /// No connection with this id is open on the hub.
    #[error("no open connection {}", .0.get())]
    UnknownConnection(ConnectionId),
    /// The topic was never declared with [`HubBuilder::topic`](crate::HubBuilder::topic).
    #[error("no topic `{0}` is declared")]
    UnknownTopic(String),
    /// A subscriber asked for its position in a topic that keeps no history: declare it with
    /// [`Topic::history`](crate::Topic::history).
    #[error("topic `{0}` keeps no history")]
    NoHistory(String),
    /// The hub's broker could not answer: Redis is unreachable, or did not answer in time.
    #[error("the broker cannot reach Redis: {0}")]
    Broker(String),
}

impl PushError {
    /// Params that did not serialize.
    pub(crate) fn serialize(err: serde_json::Error) -> Self {
        PushError::Serialize(err.to_string())
    }
}

/// Lets a handler push with `?`: the caller gets -32603 with the reason as its message. A
/// handler whose push fails because of the caller's own input (an unknown topic it named)
/// should map that to [`RpcError::invalid_params`](crate::RpcError::invalid_params) instead.
impl From<PushError> for crate::RpcError {
    fn from(err: PushError) -> Self {
        crate::RpcError::new(crate::codes::INTERNAL_ERROR, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_error_answers_the_caller_with_its_reason() {
        let err = crate::RpcError::from(PushError::UnknownTopic("news".into()));
        assert_eq!(err.code(), crate::codes::INTERNAL_ERROR);
        assert_eq!(err.message(), "no topic `news` is declared");
    }
}
