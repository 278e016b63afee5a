// A map of the modules, for whoever works in them (users read the docs below). A module
// imports only from modules it does not itself serve: no circles (`tests/layers.rs`).
//
// protocol/  The JSON-RPC wire format, both directions: incoming messages parsed borrowed;
//            requests, notifications, responses, batches, subscription items written.
// json.rs    A fast JSON serializer (serde_json's output, strings scanned eight bytes at a
//            time), for handlers' results and pushes.
// error.rs   `RpcError` and the error codes: what a method answers when it fails.
// defaults.rs Every default bound and deadline, shared by the server, the clients and
//            the peer.
// state.rs   The typed map behind server state and values kept on a connection.
// params.rs  Unpacking positional or named params into a handler's arguments.
// context.rs The call's surroundings a handler may take: transport, headers, peer, state.
// method.rs  A registered method: name, kind, transport policy, guard, type-erased handler.
// router.rs  The set of methods a server exposes, merged without silent overrides.
// discover/  `rpc.discover` (an OpenRPC document from the methods' annotations, schemas from
//            schemars) and `rpc.methods`, built once per server.
// dispatch/  Message in, reply out: batches and their limits, middleware, guards, timeouts,
//            panics caught.
// peer/      One WebSocket connection, whichever side drives it: `Connection`, its outbound
//            queue, calls it made and their answers, subscriptions both ways, its task.
// push/      The `Hub`: connections, groups, topics, change feeds, hooks, the built-in topic
//            methods; `broker/` reaches other processes (Redis behind a feature).
// server/    The listener and its builder: HTTP/1.1, HTTP/2 and WebSocket on one path, limits,
//            TLS, the endpoint as a tower service.
// client/    `WsClient`, `HttpClient`, `TestClient`, batches, typed subscriptions, for
//            `RpcClient` and the clients `#[rpc_service]` generates.
// log.rs     Log lines an attacker can provoke, throttled.
// random.rs  Random names no other process picks: node ids, stream epochs.
// schema.rs  JSON Schemas of params and results (schemars, with the `openrpc` feature).
// private/   `__private`: what the macros' generated code names, one module per generator.

//! Expose plain Rust functions over JSON-RPC 2.0 (and 1.0), on HTTP and WebSocket from one port.
//!
//! ```no_run
//! use rpc_runtime::{RpcError, Server, methods, rpc_method};
//!
//! #[rpc_method("math.subtract")]
//! async fn subtract(minuend: i64, subtrahend: i64) -> Result<i64, RpcError> {
//!     minuend.checked_sub(subtrahend).ok_or_else(|| RpcError::invalid_params("overflow"))
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let server = Server::bind("127.0.0.1:8080", methods![subtract]).await?;
//!     server.serve().await;
//!     Ok(())
//! }
//! ```
//!
//! `math.subtract` now answers `[42, 23]` and `{"minuend": 42, "subtrahend": 23}` alike, over
//! `POST /` and over a WebSocket at `ws://127.0.0.1:8080/`, and `subtract` is still an ordinary
//! function that tests may call directly.
//!
//! # Handlers
//! - **Params** are any `T: DeserializeOwned`, taken positionally or by name. `Option<T>` params
//!   may be omitted (trailing ones positionally, any by name) or `null`. A last param marked
//!   `#[rpc(rest)]` of type `Vec<T>` takes every remaining positional param. `#[rpc(name = "x")]`
//!   renames a param for named calls. Missing, surplus, mistyped and unknown params get -32602
//!   naming the param.
//! - **Returns** are `T: Serialize`, `()` (the result is `null`), or `Result<T, E>`: the error
//!   goes through `RpcError: From<E>` when there is such an impl (your own error types), else
//!   through `E: Display` as a -32000 server error with its text ([`RpcError::server`]). The
//!   macro knows a fallible return by its type's last path segment being `Result`.
//! - **Context**: a param whose type's last path segment is `Context` receives the [`Context`]
//!   (transport, peer address, headers, connection id, server state) and is not read from the
//!   params.
//! - **Options**: `#[rpc_method("name", http = false, websocket = false, blocking = true)]`. A
//!   method switched off for a transport does not exist there (-32601). `blocking = true` runs a
//!   sync body on tokio's blocking pool; without it, sync bodies run inline and should be quick.
//! - **Notifications**: `#[rpc_notification("name")]` handlers return `()` and never answer. A
//!   call (a request with an id) to a notification-only name gets -32601, with data saying to
//!   send it without an id. A notification to an `#[rpc_method]` runs it and drops the result.
//! - **Panics** in a handler answer that call with -32603, are logged with `tracing` naming the
//!   method, and leave the connection and server serving.
//!
//! # Transports
//! - HTTP/1.1 `POST` with `Content-Type: application/json` (else 415); other verbs get 405; an
//!   answer with nothing to send (notifications only) is 204; a body over the limit is 413.
//! - HTTP/2, the same: over TLS when the client picks `h2` by ALPN, and in the clear with prior
//!   knowledge (h2c); streams of one connection run concurrently, up to
//!   [`ServerBuilder::max_streams_per_connection`].
//! - WebSocket (a `GET` upgrade on the same path): text frames carry JSON-RPC. Binary frames are
//!   accepted too and read as UTF-8 JSON-RPC (answered in text frames). Calls on one connection
//!   run concurrently and each response is sent as soon as it is ready. A message over the limit
//!   closes the connection with 1009, invalid UTF-8 in a text frame with 1007, and a server
//!   shutting down with 1001, in every case after answering the calls already accepted.

// Without the `client` feature the docs still name `WsClient` and `HttpClient`, where they
// explain what a type does beside them; those links have nothing to point at there.
#![cfg_attr(not(feature = "client"), allow(rustdoc::broken_intra_doc_links))]

pub mod client;
mod context;
mod defaults;
mod discover;
mod dispatch;
mod error;
mod guard;
mod json;
mod log;
mod method;
mod params;
mod peer;
mod protocol;
mod push;
mod random;
mod router;
mod schema;
mod server;
mod shared;
mod state;

/// Wrapping every call a server answers: logging, metrics, rate limits, access checks.
pub mod middleware {
    pub use crate::dispatch::{Call, CallResult, Middleware, Next};
    /// The future a [`Middleware`] returns.
    pub use futures_util::future::BoxFuture;
}

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

pub use context::{Context, Transport};
pub use defaults::{
    DEFAULT_IO_TIMEOUT, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_REQUEST_SIZE, DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_MAX_STREAMS,
    DEFAULT_MAX_SUBSCRIPTIONS, DEFAULT_OUTBOUND_QUEUE, DEFAULT_WEBSOCKET_READ_BUFFER,
};
pub use dispatch::Denial;
pub use error::{RpcError, codes};
/// The stream a `#[rpc_subscription]` returns; re-exported so that its signature needs no
/// other crate.
pub use futures_util::Stream;
pub use guard::{Guard, GuardAnswer, IntoGuard};
pub use method::{MethodDescriptor, MethodKind};
pub use peer::{Connection, ConnectionId, ParseConnectionIdError, SlowReaderPolicy};
#[cfg(feature = "redis")]
pub use push::{BrokerError, RedisBroker, RedisBrokerBuilder};
pub use push::{
    BrokerStatus, Change, History, Hub, HubBuilder, Presence, PushError, Record, Recovery, Refusal,
    StreamPosition, Topic,
};
pub use router::{Router, RouterError};
pub use server::{RpcService, Server, ServerBuilder, ServerHandle};
pub use shared::Shared;
/// TLS: the server's [`ServerBuilder::tls`] and the clients' `tls_config`, on rustls.
#[cfg(feature = "tls")]
pub mod tls {
    pub use crate::server::tls_config_from_pem;
    /// The TLS library, for building configurations.
    pub use rustls;
}

/// Exposes a function as a JSON-RPC method. See the [crate docs](crate#handlers).
///
/// ```
/// use rpc_runtime::{RpcError, rpc_method};
///
/// #[rpc_method("math.sum")]
/// fn sum(#[rpc(rest)] values: Vec<i64>) -> i64 {
///     values.iter().sum()
/// }
///
/// #[rpc_method(websocket = false)]
/// async fn greet(name: String, #[rpc(name = "salutation")] greeting: Option<String>) -> String {
///     format!("{}, {name}!", greeting.as_deref().unwrap_or("Hello"))
/// }
///
/// assert_eq!(sum(vec![1, 2, 4]), 7); // still an ordinary function
/// ```
pub use rpc_macros::rpc_method;

/// Registers a handler for inbound notifications. It must return `()`.
///
/// ```
/// use rpc_runtime::rpc_notification;
///
/// #[rpc_notification("log.line")]
/// fn log_line(line: String) {
///     println!("{line}");
/// }
/// ```
pub use rpc_macros::rpc_notification;

/// Serves a stream as a typed subscription, the way jsonrpsee and Ethereum clients expect it.
///
/// The function returns the stream of items (`impl Stream<Item = T> + Send + 'static`, with
/// `T: Serialize`), or `Result<stream, E>` to refuse the subscription with an error before it
/// starts; it may be `async` and take params, `Context` and `Connection` like any method. The
/// subscribe call answers a subscription id; each item is sent as
/// `{"jsonrpc":"2.0","method":NOTIFICATION,"params":{"subscription":ID,"result":ITEM}}`; the
/// unsubscribe method, registered beside it, takes the id and answers whether it was live. The
/// stream's end frees the subscription and sends a last notification with `"error"` in place
/// of `"result"` ([`codes::SUBSCRIPTION_ENDED`]); unsubscribing or the connection's close frees
/// it silently. A subscription exists on WebSocket only, and a connection holds at most
/// [`DEFAULT_MAX_SUBSCRIPTIONS`] unless
/// [`ServerBuilder::max_subscriptions_per_connection`] says otherwise.
///
/// Names: `#[rpc_subscription("subscribe_ticks")]` (or a function named so) is ended by
/// `unsubscribe_ticks` and sends `ticks`; other names say theirs with
/// `unsubscribe = "..."` and `notification = "..."`.
///
/// ```
/// use futures_util::{StreamExt, stream};
/// use rpc_runtime::{RpcError, Stream, rpc_subscription};
///
/// #[rpc_subscription]
/// fn subscribe_countdown(from: u64) -> Result<impl Stream<Item = u64> + Send + 'static, RpcError> {
///     if from > 100 {
///         return Err(RpcError::invalid_params("at most 100"));
///     }
///     Ok(stream::iter((0..=from).rev()))
/// }
///
/// #[rpc_subscription("eth_subscribe", unsubscribe = "eth_unsubscribe", notification = "eth_subscription")]
/// async fn eth_subscribe(kind: String) -> impl Stream<Item = String> + Send + 'static {
///     stream::repeat(kind).take(3)
/// }
/// ```
pub use rpc_macros::rpc_subscription;

/// Describes a service once, as a trait, and yields both sides: `impl Trait for State` serves
/// it through the generated `into_router`, and the generated `TraitClient` calls it. The trait
/// is also implemented for `Arc<State>`, so that a state kept outside (to push from, to
/// inspect) is served with `Arc::clone(&state).into_router()`.
///
/// Methods take `&self` and may be `async fn`; they accept the same `#[rpc_method(...)]`,
/// `#[rpc_notification(...)]` and `#[rpc_subscription(...)]` attributes as free functions
/// (unmarked methods are `#[rpc_method]`s). `namespace = "math"` prefixes every method name
/// with `math.`.
///
/// A `#[rpc_subscription]` method returns its stream as a free one does (`impl Stream<Item =
/// T>`, or a `Result` of one to refuse); the implementation adds `+ Send + 'static`. Its client
/// method subscribes and returns a typed [`Subscription`](client::Subscription), on any
/// [`SubscriptionClient`](client::SubscriptionClient): a `WsClient`, or a `TestClient` in
/// process (the second example).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::atomic::{AtomicI64, Ordering};
/// use rpc_runtime::client::TestClient;
/// use rpc_runtime::rpc_service;
///
/// #[rpc_service(namespace = "counter")]
/// trait Counter {
///     async fn add(&self, amount: i64) -> i64;
///     #[rpc_notification]
///     fn reset(&self);
/// }
///
/// #[derive(Default)]
/// struct Total(AtomicI64);
///
/// impl Counter for Total {
///     async fn add(&self, amount: i64) -> i64 {
///         self.0.fetch_add(amount, Ordering::SeqCst) + amount
///     }
///     fn reset(&self) {
///         self.0.store(0, Ordering::SeqCst);
///     }
/// }
///
/// let client = CounterClient::new(TestClient::new(Total::default().into_router()));
/// assert_eq!(client.add(2).await.unwrap(), 2);
/// assert_eq!(client.add(3).await.unwrap(), 5);
/// client.reset().await.unwrap();
/// assert_eq!(client.add(1).await.unwrap(), 1);
/// # }
/// ```
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use futures_util::{StreamExt, stream};
/// use rpc_runtime::client::TestClient;
/// use rpc_runtime::{RpcError, Stream, rpc_service};
///
/// #[rpc_service]
/// trait Countdown {
///     /// Counts down from `from` to 0, then ends; refuses more than 100.
///     #[rpc_subscription]
///     fn subscribe_countdown(&self, from: u64) -> Result<impl Stream<Item = u64>, RpcError>;
/// }
///
/// struct Counter;
///
/// impl Countdown for Counter {
///     fn subscribe_countdown(
///         &self,
///         from: u64,
///     ) -> Result<impl Stream<Item = u64> + Send + 'static, RpcError> {
///         if from > 100 {
///             return Err(RpcError::invalid_params("at most 100"));
///         }
///         Ok(stream::iter((0..=from).rev()))
///     }
/// }
///
/// let client = CountdownClient::new(TestClient::new(Counter.into_router()));
/// let countdown = client.subscribe_countdown(2).await.unwrap();
/// let items: Vec<u64> = countdown.map(Result::unwrap).collect().await;
/// assert_eq!(items, [2, 1, 0]);
/// assert!(client.subscribe_countdown(101).await.is_err());
/// # }
/// ```
pub use rpc_macros::rpc_service;

/// Builds a [`Router`] from annotated functions: `methods![subtract, math::add]`. Two entries
/// with the same method name are a compile error naming both.
///
/// An entry without `#[rpc_method]`, `#[rpc_notification]` or `#[rpc_subscription]` is
/// reported by rustc, before any message of ours can be, as ``expected type, found function
/// `ping` ``: add the attribute to `ping`.
pub use rpc_macros::methods;
