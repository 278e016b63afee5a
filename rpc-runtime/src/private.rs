//! What generated code names, and nothing else uses. Not a public API: it changes without notice.

use std::future::Future;

pub use serde;
pub use serde_json;
use serde_json::value::RawValue;

use crate::client::{ClientError, Subscription};

pub use crate::client::wire::decode;
pub use crate::method::{MethodKind, MethodResult, Outcome};
pub use crate::params::{ParamReader, Params};
pub use crate::{Connection, Context, MethodDescriptor, Router, RpcError};

/// Implemented by the struct `#[rpc_method]` emits beside each function, so that `methods![f]`
/// can reach the method through the function's name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an RPC method",
    label = "not annotated with `#[rpc_method]` or `#[rpc_notification]`",
    note = "`methods![...]` takes paths to functions annotated with `#[rpc_method]` or `#[rpc_notification]`"
)]
pub trait MethodDef {
    /// The JSON-RPC name, for the compile-time duplicate check.
    const NAME: &'static str;
    /// A subscription's unsubscribe method name, checked alike; empty for other methods.
    const UNSUBSCRIBE: &'static str = "";
    /// Builds the descriptor the router holds.
    fn descriptor() -> MethodDescriptor;
}

/// Names the type a guard must have, so that a wrong one fails at the user's path.
pub const fn guard(guard: crate::Guard) -> crate::Guard {
    guard
}

/// The result of a handler that returns `()`, and of every notification: `null`, without
/// running a serializer for it.
pub fn unit() -> MethodResult {
    Ok(String::from("null"))
}

/// Serializes a handler's return value.
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> MethodResult {
    crate::encode::to_json(value).map_err(|err| {
        tracing::error!(%err, "a handler's return value could not be serialized");
        RpcError::internal()
    })
}

/// Serializes a handler's `Ok` value; its error was converted by [`HandlerError`].
pub fn encode_result<T: serde::Serialize>(result: Result<T, RpcError>) -> MethodResult {
    result.and_then(|value| encode(&value))
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

/// Accepts a subscription handler's stream on the caller's connection and answers its id; the
/// stream starts once the answer is queued.
pub fn subscribe<T, S>(cx: &Context, notification: &'static str, stream: S) -> MethodResult
where
    T: serde::Serialize + 'static,
    S: futures_util::Stream<Item = T> + Send + 'static,
{
    let connection = connection(cx)?;
    let feeding = connection.clone();
    let id = connection.subscriptions().accept(notification, move |id| {
        Box::pin(crate::peer::feed(feeding, notification, id, stream))
    })?;
    Ok(id.to_string())
}

/// A subscription handler's stream, or its refusal (converted by [`HandlerError`]).
pub fn subscribe_result<T, S>(
    cx: &Context,
    notification: &'static str,
    result: Result<S, RpcError>,
) -> MethodResult
where
    T: serde::Serialize + 'static,
    S: futures_util::Stream<Item = T> + Send + 'static,
{
    subscribe(cx, notification, result?)
}

/// A typed client's subscription, its items decoded as `T`.
pub fn typed_subscription<T>(raw: Subscription<Box<RawValue>>) -> Subscription<T> {
    raw.typed()
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

/// The router of a `methods![...]` list (or a service), whose names, unsubscribe methods
/// included, were checked at compile time.
pub fn router(methods: Vec<MethodDescriptor>) -> Router {
    methods
        .into_iter()
        .flat_map(|method| {
            let unsubscribe = method.unsubscribe_method();
            std::iter::once(method).chain(unsubscribe)
        })
        .try_fold(Router::new(), Router::register)
        .unwrap_or_else(|err| unreachable!("methods![] checks names at compile time: {err}"))
}

/// Fails compilation when `names[index]` repeats an earlier name; `paths` are the list's
/// entries as written, for the message.
pub const fn assert_unique_name(names: &[&str], paths: &[&str], index: usize) {
    // The empty unsubscribe name of a method that is no subscription.
    if names[index].is_empty() {
        return;
    }
    let mut earlier = 0;
    while earlier < index {
        if str_eq(names[earlier], names[index]) {
            // Each entry has two slots, its name and its unsubscribe name.
            let (first, second) = (earlier / 2 + 1, index / 2 + 1);
            let mut message = Message::new();
            if first == second {
                // A subscription whose unsubscribe name is its own name.
                message.push("`");
                message.push(paths[index]);
                message.push("` uses `");
                message.push(names[index]);
                message.push("` both as its name and its unsubscribe name");
            } else if str_eq(paths[earlier], paths[index]) {
                message.push("`");
                message.push(paths[index]);
                message.push("` is listed twice in `methods![]` (entries ");
                message.push_number(first);
                message.push(" and ");
                message.push_number(second);
                message.push("): remove one");
            } else {
                message.push("entries ");
                message.push_number(first);
                message.push(" (`");
                message.push(paths[earlier]);
                message.push("`) and ");
                message.push_number(second);
                message.push(" (`");
                message.push(paths[index]);
                message.push("`) of `methods![]` are both served as `");
                message.push(names[index]);
                message.push("`: rename one, as in `#[rpc_method(\"other.name\")]`");
            }
            panic!("{}", message.as_str());
        }
        earlier += 1;
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A fixed buffer to build a compile-time panic message in, since `const` code cannot format.
struct Message {
    bytes: [u8; 256],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Message {
            bytes: [0; 256],
            len: 0,
        }
    }

    const fn push(&mut self, text: &str) {
        let text = text.as_bytes();
        let mut i = 0;
        while i < text.len() && self.len < self.bytes.len() {
            self.bytes[self.len] = text[i];
            self.len += 1;
            i += 1;
        }
    }

    const fn push_number(&mut self, mut number: usize) {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (number % 10) as u8;
            count += 1;
            number /= 10;
            if number == 0 {
                break;
            }
        }
        while count > 0 && self.len < self.bytes.len() {
            count -= 1;
            self.bytes[self.len] = digits[count];
            self.len += 1;
        }
    }

    const fn as_str(&self) -> &str {
        match std::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(text) => text,
            // Truncation split a character; the names are lost, the fact is not.
            Err(_) => "duplicate method name",
        }
    }
}

/// For the fuzz targets: reads `text` as each side reads an incoming message, the server's
/// request parser and the client's answer parser; whatever it is, neither may panic.
pub fn parse_incoming(text: &str) {
    let _ = crate::protocol::Message::parse(text);
    #[cfg(feature = "client")]
    let _ = crate::client::wire::single_outcome(text, 1);
}
