//! The error object a method returns to its caller.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// The standard JSON-RPC 2.0 error codes, and the messages the specification gives them.
pub mod codes {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available on this transport.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// Internal JSON-RPC error, including a handler that panicked.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// An implementation-defined server error (the specification's -32000 to -32099): what a
    /// handler's error without a `From` conversion into `RpcError` becomes, with its message.
    pub const SERVER_ERROR: i64 = -32000;
    /// A subscribe call on a connection that holds as many subscriptions as it may.
    pub const TOO_MANY_SUBSCRIPTIONS: i64 = -32005;
    /// Sent in place of an item when a subscription's stream has ended:
    /// `"params":{"subscription":ID,"error":{"code":-32006,...}}`.
    pub const SUBSCRIPTION_ENDED: i64 = -32006;
    /// A method's guard refused the caller, on a server that says so
    /// ([`Denial::Refuse`](crate::Denial::Refuse)) rather than answering -32601.
    pub const ACCESS_DENIED: i64 = -32001;
    /// The call ran past the server's per-call timeout and was cancelled.
    pub const CALL_TIMED_OUT: i64 = -32007;
    /// The answer was larger than the server's response limit; the call did run.
    pub const RESPONSE_TOO_LARGE: i64 = -32008;
    /// A batch had more members than the server takes; none of them ran.
    pub const BATCH_TOO_LARGE: i64 = -32010;
    /// A batch's answers together were larger than the server's response limit; its members
    /// did run.
    pub const BATCH_RESPONSE_TOO_LARGE: i64 = -32011;

    pub(crate) const PARSE_ERROR_MSG: &str = "Parse error";
    pub(crate) const INVALID_REQUEST_MSG: &str = "Invalid Request";
    pub(crate) const METHOD_NOT_FOUND_MSG: &str = "Method not found";
    pub(crate) const INTERNAL_ERROR_MSG: &str = "Internal error";
}

/// A JSON-RPC error object: what a caller receives when a method fails.
///
/// Handlers return it directly (`Result<T, RpcError>`) or return their own error type that
/// converts into it with one `From` impl:
///
/// ```
/// use rpc_runtime::RpcError;
///
/// #[derive(Debug, thiserror::Error)]
/// enum BankError {
///     #[error("insufficient funds: {0} missing")]
///     Insufficient(u64),
/// }
///
/// impl From<BankError> for RpcError {
///     fn from(err: BankError) -> Self {
///         match &err {
///             BankError::Insufficient(missing) => {
///                 RpcError::new(1001, err.to_string()).with_data(serde_json::json!({ "missing": missing }))
///             }
///         }
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct RpcError {
    code: i64,
    message: Cow<'static, str>,
    data: Option<Box<RawValue>>,
}

impl RpcError {
    /// An error with a code and a message, and no data.
    pub fn new(code: i64, message: impl Into<Cow<'static, str>>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches `data`, serialized now. Data that cannot be serialized is dropped and logged,
    /// because an error path must not fail in turn.
    pub fn with_data(mut self, data: impl Serialize) -> Self {
        match serde_json::value::to_raw_value(&data) {
            Ok(raw) => self.data = Some(raw),
            Err(err) => {
                tracing::warn!(code = self.code, %err, "dropping unserializable error data")
            }
        }
        self
    }

    /// -32602, for a handler that validates its params beyond their types.
    pub fn invalid_params(message: impl Into<Cow<'static, str>>) -> Self {
        RpcError::new(codes::INVALID_PARAMS, message)
    }

    /// -32000, a server error, with `message`. A handler returning `Result<T, E>` for an `E`
    /// that `RpcError` has no `From` impl for gets this, with `E`'s `Display` text: so
    /// `Result<i64, ParseIntError>` needs no conversion (and the orphan rule forbids writing
    /// one). Return your own error type, or `RpcError`, to choose codes and keep internals out
    /// of the message.
    pub fn server(message: impl Into<Cow<'static, str>>) -> Self {
        RpcError::new(codes::SERVER_ERROR, message)
    }

    /// -32603 with the standard message.
    pub fn internal() -> Self {
        RpcError::new(codes::INTERNAL_ERROR, codes::INTERNAL_ERROR_MSG)
    }

    pub(crate) fn parse_error() -> Self {
        RpcError::new(codes::PARSE_ERROR, codes::PARSE_ERROR_MSG)
    }

    pub(crate) fn invalid_request() -> Self {
        RpcError::new(codes::INVALID_REQUEST, codes::INVALID_REQUEST_MSG)
    }

    pub(crate) fn method_not_found() -> Self {
        RpcError::new(codes::METHOD_NOT_FOUND, codes::METHOD_NOT_FOUND_MSG)
    }

    pub(crate) fn access_denied() -> Self {
        RpcError::new(codes::ACCESS_DENIED, "Access denied")
    }

    pub(crate) fn call_timed_out(limit: std::time::Duration) -> Self {
        RpcError::new(codes::CALL_TIMED_OUT, "Call timed out").with_data(format!(
            "the call ran past the {limit:?} limit and was cancelled"
        ))
    }

    pub(crate) fn response_too_large(max: usize) -> Self {
        RpcError::new(codes::RESPONSE_TOO_LARGE, "Response too large")
            .with_data(format!("the answer is over the {max}-byte limit"))
    }

    pub(crate) fn batch_too_large(max: usize) -> Self {
        RpcError::new(codes::BATCH_TOO_LARGE, "Batch too large").with_data(format!(
            "a batch may have at most {max} members; none was run"
        ))
    }

    pub(crate) fn batch_response_too_large(max: usize) -> Self {
        RpcError::new(codes::BATCH_RESPONSE_TOO_LARGE, "Batch response too large").with_data(
            format!("the answers are over the {max}-byte limit together"),
        )
    }

    /// The error code.
    pub fn code(&self) -> i64 {
        self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The attached data, as raw JSON.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

impl PartialEq for RpcError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.data.as_deref().map(RawValue::get) == other.data.as_deref().map(RawValue::get)
    }
}

impl Serialize for RpcError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Error", 2 + usize::from(self.data.is_some()))?;
        s.serialize_field("code", &self.code)?;
        s.serialize_field("message", &self.message)?;
        if let Some(data) = &self.data {
            s.serialize_field("data", data)?;
        }
        s.end()
    }
}

impl<'de> Deserialize<'de> for RpcError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            code: i64,
            message: String,
            #[serde(default)]
            data: Option<Box<RawValue>>,
        }
        let wire = Wire::deserialize(deserializer)?;
        Ok(RpcError {
            code: wire.code,
            message: wire.message.into(),
            data: wire.data,
        })
    }
}
