//! Inside a handler: reading the injected values, running the body, encoding what it returns
//! or the error it fails with, and its guard. expand/handler.rs.

use std::future::Future;

use crate::method::{MethodResult, Outcome};
use crate::{Connection, Context, RpcError};

/// Makes the guard `#[rpc_method(guard = ..)]` names; one of a shape no guard has fails here,
/// at the user's path, with `IntoGuard`'s message.
pub fn guard<Shape>(guard: impl crate::IntoGuard<Shape>) -> crate::Guard {
    guard.into_guard()
}

/// The result of a handler that returns `()`, and of every notification: `null`, without
/// running a serializer for it.
pub fn unit() -> MethodResult {
    Ok(String::from("null"))
}

/// What a method may return: any `serde::Serialize` type. Generated code encodes through it
/// so that a result that is not one is reported in these words, at the user's return type,
/// rather than as serde's bound inside our code with its list of implementors.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a method's result: it does not implement `serde::Serialize`",
    label = "not `Serialize`",
    note = "derive it (`#[derive(serde::Serialize)]`) or return a type that implements it"
)]
pub trait MethodOutput {
    /// The value as the call's result.
    fn encode(&self) -> MethodResult;
}

#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + ?Sized> MethodOutput for T {
    fn encode(&self) -> MethodResult {
        crate::method::encode(self)
    }
}

/// Serializes a handler's return value.
pub fn encode<T: MethodOutput + ?Sized>(value: &T) -> MethodResult {
    value.encode()
}

/// Serializes a handler's `Ok` value; its error was converted by [`HandlerError`].
pub fn encode_result<T: MethodOutput>(result: Result<T, RpcError>) -> MethodResult {
    result.and_then(|value| value.encode())
}

/// A handler's error on its way to the caller. Generated code calls
/// `HandlerError(err).into_rpc_error()` with both traits below in scope, and method lookup
/// picks the first that applies: [`ViaFrom`] (by value) when `RpcError: From<E>`, as for
/// `RpcError` itself and the user's own error types; else [`ViaDisplay`] (by reference), any
/// `E: Display`, which becomes a -32000 server error with its message. The user need write no
/// conversion for a foreign error type, which the orphan rule would forbid.
pub struct HandlerError<E>(pub E);

/// The conversion the user wrote: `impl From<E> for RpcError`.
pub trait ViaFrom {
    /// The JSON-RPC error the caller receives.
    fn into_rpc_error(self) -> RpcError;
}

impl<E> ViaFrom for HandlerError<E>
where
    RpcError: From<E>,
{
    fn into_rpc_error(self) -> RpcError {
        RpcError::from(self.0)
    }
}

/// Any other error that can say what went wrong.
pub trait ViaDisplay {
    /// The JSON-RPC error the caller receives.
    fn into_rpc_error(self) -> RpcError;
}

impl<E: std::fmt::Display> ViaDisplay for &HandlerError<E> {
    fn into_rpc_error(self) -> RpcError {
        RpcError::server(self.0.to_string())
    }
}

/// The connection a `Connection` param receives. Dispatch serves such methods on WebSocket
/// only, so over HTTP this is never reached; should it be, the caller gets -32601 as for any
/// method a transport lacks.
pub fn connection(cx: &Context) -> Result<Connection, RpcError> {
    cx.connection().cloned().ok_or_else(|| {
        RpcError::method_not_found().with_data("this method needs a WebSocket connection")
    })
}

/// Starts an async handler's body.
pub fn pending<F: Future<Output = MethodResult> + Send + 'static>(future: F) -> Outcome {
    Outcome::Pending(Box::pin(future))
}

/// Runs a sync handler's body on tokio's blocking pool (`blocking = true`).
pub fn blocking<F: FnOnce() -> MethodResult + Send + 'static>(body: F) -> Outcome {
    pending(async move {
        match tokio::task::spawn_blocking(body).await {
            Ok(result) => result,
            // Re-raised so that dispatch reports it like any other handler panic.
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(RpcError::internal()),
        }
    })
}
