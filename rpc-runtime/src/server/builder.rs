//! The server's builder: every limit a peer can run into, and how a server is made.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use tokio::net::{TcpListener, ToSocketAddrs};

use super::config::Config;
use super::listener::Server;
use super::shared::Shared;
use crate::discover::Info;
use crate::dispatch::{Dispatcher, Middleware, Policy};
use crate::peer::SlowReaderPolicy;
use crate::state::StateMap;
use crate::{Denial, Hub, Router, RouterError};

/// Configures a [`Server`] before it binds. Every resource a client can make the server hold
/// is bounded; the README's "Limits and security" lists the defaults.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use rpc_runtime::{Server, methods, rpc_method};
///
/// #[rpc_method]
/// fn ping() -> &'static str { "pong" }
///
/// struct Db;
///
/// let server = Server::builder()
///     .path("/rpc")
///     .max_request_size(1024 * 1024)
///     .state(Db)
///     .bind("127.0.0.1:0", methods![ping])
///     .await?;
/// println!("listening on {}", server.local_addr());
/// server.serve_with_shutdown(async { tokio::signal::ctrl_c().await.ok(); }).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ServerBuilder {
    config: Config,
    policy: Policy,
    state: StateMap,
    hub: Option<Hub>,
    /// What `rpc.discover` says of the server; `None` serves no discovery.
    discovery: Option<Info>,
}

impl ServerBuilder {
    pub(super) fn new() -> Self {
        ServerBuilder {
            config: Config::default(),
            policy: Policy::default(),
            state: StateMap::default(),
            hub: None,
            discovery: Some(Info::default()),
        }
    }

    /// The path that takes `POST`s and WebSocket upgrades; `/` by default.
    ///
    /// # Panics
    /// If `path` does not start with `/`: no request could ever match it.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        assert!(
            path.starts_with('/'),
            "server path must start with `/`, got {path:?}"
        );
        self.config.path = path;
        self
    }

    /// The largest HTTP body or WebSocket message accepted, in bytes; 10 MiB by default. A
    /// larger body gets 413; a larger message closes its WebSocket with 1009.
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.config.max_request_size = bytes;
        self
    }

    /// The largest answer sent, a whole batch's included, in bytes;
    /// [`DEFAULT_MAX_RESPONSE_SIZE`](crate::DEFAULT_MAX_RESPONSE_SIZE) (10 MiB) by default. A
    /// larger answer to one call is replaced by
    /// [`codes::RESPONSE_TOO_LARGE`](crate::codes::RESPONSE_TOO_LARGE) for its id; a batch whose
    /// answers pass it together gets one
    /// [`codes::BATCH_RESPONSE_TOO_LARGE`](crate::codes::BATCH_RESPONSE_TOO_LARGE).
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.policy.max_response_size = bytes;
        self
    }

    /// The most members a batch may have;
    /// [`DEFAULT_MAX_BATCH_SIZE`](crate::DEFAULT_MAX_BATCH_SIZE) (1,000) by default. A longer
    /// batch gets one [`codes::BATCH_TOO_LARGE`](crate::codes::BATCH_TOO_LARGE) and none of its
    /// members runs.
    pub fn max_batch_size(mut self, members: usize) -> Self {
        self.policy.max_batch_size = members;
        self
    }

    /// How long one call may run before it is cancelled and answered with
    /// [`codes::CALL_TIMED_OUT`](crate::codes::CALL_TIMED_OUT); no limit by default.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.policy.call_timeout = Some(timeout);
        self
    }

    /// How a call refused by its method's guard is answered: [`Denial::Hide`] (-32601, the
    /// default) or [`Denial::Refuse`] ([`codes::ACCESS_DENIED`](crate::codes::ACCESS_DENIED)).
    pub fn denial(mut self, denial: Denial) -> Self {
        self.policy.denial = denial;
        self
    }

    /// Wraps every call (single, batch member, notification) in `middleware`; the first added
    /// is the outermost. None by default, which costs nothing.
    pub fn middleware(mut self, middleware: impl Middleware) -> Self {
        self.policy.middleware.push(Arc::new(middleware));
        self
    }

    /// The most connections open at once, HTTP and WebSocket together;
    /// [`DEFAULT_MAX_CONNECTIONS`](crate::DEFAULT_MAX_CONNECTIONS) (10,000) by default. Past it a new connection is answered
    /// `503 Service Unavailable` (over TLS, once its handshake is done, if the server has
    /// it) and closed; those already open are unaffected.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.max_connections = connections;
        self
    }

    /// The most calls one WebSocket connection may have running at once;
    /// [`DEFAULT_MAX_IN_FLIGHT`](crate::DEFAULT_MAX_IN_FLIGHT) (1,024) by default. Past it, or once the messages of the
    /// running calls add up to twice [`max_request_size`](Self::max_request_size) (at least
    /// 1 MiB), the server stops reading the connection until one finishes, so a flood of slow
    /// calls waits in the client's socket, not in the server's memory. A batch counts as one.
    pub fn max_in_flight_per_connection(mut self, calls: usize) -> Self {
        self.config.max_in_flight = calls.max(1);
        self
    }

    /// The most streams (requests) one HTTP/2 connection may have open at once;
    /// [`DEFAULT_MAX_STREAMS`](crate::DEFAULT_MAX_STREAMS) (128) by default. The client
    /// learns it in the connection's settings and waits for a stream to end before opening
    /// another; one that does not wait has the stream refused.
    pub fn max_streams_per_connection(mut self, streams: u32) -> Self {
        self.config.max_streams = streams.max(1);
        self
    }

    /// How long a client may take to send a request's headers; 30 s by default. Past it the
    /// connection is closed. The same bounds a connection's first bytes (the TLS handshake,
    /// or HTTP/2's preface), and an HTTP/2 connection with no request running: after this
    /// long it is closed gracefully (a `GOAWAY`; streams still being sent get the shutdown
    /// timeout to finish).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.header_read = timeout;
        self
    }

    /// How long a client may take to send a request's body, once its headers are in; 30 s by
    /// default. Past it the request gets `408 Request Timeout` and, on HTTP/1, the connection
    /// closes.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.body_read = timeout;
        self
    }

    /// How long a write may wait for the client to take bytes, on HTTP and WebSocket alike;
    /// 30 s by default. Past it the connection is closed: a client that stops reading for
    /// this long is gone or hostile.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.write = timeout;
        self
    }

    /// How often a WebSocket connection the client has sent nothing on is pinged; 30 s by
    /// default, `None` to never ping. A connection silent for two intervals (no message, no
    /// pong) is closed with 1001. HTTP/2 connections are pinged at the same interval when
    /// they send nothing, and closed when a ping is not answered within it.
    pub fn websocket_ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.config.timeouts.websocket_ping = interval;
        self
    }

    /// How long a stopping server lets the calls it accepted finish; 30 s by default. Past it
    /// they are cancelled and every connection is closed.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts.shutdown = timeout;
        self
    }

    /// The `Origin`s a WebSocket handshake may come from, as `scheme://host[:port]`; any by
    /// default. A browser always sends its page's origin, so listing yours keeps other sites'
    /// pages from opening connections with your users' cookies (cross-site WebSocket
    /// hijacking); a handshake from another origin gets 403. Clients that send no `Origin`
    /// (not browsers) are let in.
    ///
    /// # Panics
    /// If an origin is not a valid header value.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let origins = origins.into_iter().map(|origin| {
            HeaderValue::from_str(origin.as_ref()).expect("an origin is a valid header value")
        });
        self.config.allowed_origins = Some(origins.collect());
        self
    }

    /// Sends every WebSocket message back as it came instead of answering it: for running a
    /// WebSocket conformance suite (Autobahn) through the server's own handshake and connection
    /// code. Not for serving.
    #[doc(hidden)]
    pub fn websocket_echo(mut self) -> Self {
        self.config.websocket_echo = true;
        self
    }

    /// The read buffer each WebSocket connection holds, in bytes; 4 KiB by default. It is
    /// allocated for every connection, idle or not, so it sets the memory floor of many idle
    /// connections; larger messages are read in more steps, not refused. Raise it for few
    /// connections that receive large messages at a high rate.
    pub fn websocket_read_buffer(mut self, bytes: usize) -> Self {
        self.config.websocket_read_buffer = bytes.max(1);
        self
    }

    /// The most a WebSocket connection may have queued for sending, in bytes (plus 64 per
    /// message); 1 MiB by default. Responses to the client's own calls are always queued, and
    /// while the queue is over this the server stops reading the client's messages. A message
    /// pushed to a full queue is handled by the [`slow_reader`](Self::slow_reader) policy.
    pub fn outbound_queue(mut self, bytes: usize) -> Self {
        self.config.limits.outbound_queue = bytes;
        self
    }

    /// What happens to a connection whose client does not read its pushes fast enough:
    /// [`SlowReaderPolicy::Close`] (the default) closes it with 1008,
    /// [`SlowReaderPolicy::Drop`] drops the pushes that do not fit and counts them.
    pub fn slow_reader(mut self, policy: SlowReaderPolicy) -> Self {
        self.config.limits.slow_reader = policy;
        self
    }

    /// How long a call from the server to a client (through [`Connection`](crate::Connection)
    /// as an [`RpcClient`](crate::client::RpcClient)) waits for its answer, sending included;
    /// 60 s by default. Past it the call fails with
    /// [`ClientError::Timeout`](crate::client::ClientError::Timeout).
    pub fn client_call_timeout(mut self, timeout: Duration) -> Self {
        self.config.limits.call_timeout = timeout;
        self
    }

    /// The most typed subscriptions one connection may hold at once;
    /// [`DEFAULT_MAX_SUBSCRIPTIONS`](crate::DEFAULT_MAX_SUBSCRIPTIONS) (1,024) by default. A
    /// subscribe call past it gets an error
    /// ([`codes::TOO_MANY_SUBSCRIPTIONS`](crate::codes::TOO_MANY_SUBSCRIPTIONS)).
    pub fn max_subscriptions_per_connection(mut self, subscriptions: usize) -> Self {
        self.config.limits.max_subscriptions = subscriptions;
        self
    }

    /// The hub that tracks this server's WebSocket connections, its groups and topics, and runs
    /// the connection hooks; a hub with no topics and no hooks by default. Keep a clone to push
    /// from outside handlers, or get it back with [`Server::hub`].
    pub fn hub(mut self, hub: Hub) -> Self {
        self.hub = Some(hub);
        self
    }

    /// Whether to serve `rpc.discover` (an OpenRPC 1.3.2 document of the methods the caller may
    /// call, from their doc comments and signatures, with the `openrpc` feature's JSON Schemas)
    /// and `rpc.methods` (their names; also `get_methods` with the hub's aiohttp names). On by
    /// default; the document is built once, when the server is.
    pub fn discovery(mut self, serve: bool) -> Self {
        self.discovery = serve.then(|| self.discovery.take().unwrap_or_default());
        self
    }

    /// The document's `info`: the API's title and version (`"JSON-RPC API"`, `"0.0.0"` by
    /// default), say `env!("CARGO_PKG_NAME")` and `env!("CARGO_PKG_VERSION")`.
    pub fn discovery_info(mut self, title: impl Into<String>, version: impl Into<String>) -> Self {
        self.discovery = Some(Info {
            title: title.into(),
            version: version.into(),
        });
        self
    }

    #[cfg(feature = "tls")]
    /// Serves `https://` and `wss://` instead of `http://` and `ws://`, with `config`. The
    /// handshake must finish within the [`header_read_timeout`](Self::header_read_timeout).
    /// A client that picks `h2` by ALPN is served HTTP/2, any other HTTP/1.1; offer `h2`
    /// in `config.alpn_protocols` to serve HTTP/2. See [`tls_config_from_pem`](crate::tls::tls_config_from_pem) for the usual case of a certificate and key in PEM files.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.config.tls = Some(config);
        self
    }

    /// Registers `value` for handlers to read through [`Context::state`](crate::Context::state).
    /// One value per type; a second of the same type replaces the first.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Binds the listener; port 0 picks a free port, which [`Server::local_addr`] reports.
    /// Fails with [`io::ErrorKind::InvalidInput`] if `router` has a method named like one of the
    /// hub's built-in topic methods.
    pub async fn bind(self, addr: impl ToSocketAddrs, router: Router) -> io::Result<Server> {
        let shared = self
            .into_shared(router)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        Server::new(TcpListener::bind(addr).await?, Arc::new(shared))
    }

    pub(super) fn into_shared(self, router: Router) -> Result<Shared, RouterError> {
        let hub = self.hub.unwrap_or_default();
        let mut router = router.merge(crate::push::builtin_methods(&hub))?;
        if let Some(info) = &self.discovery {
            let discovery = crate::discover::methods(&router, info, hub.aiohttp_names());
            router = router.merge(discovery)?;
        }
        let dispatcher = Dispatcher::new(router, self.policy);
        Ok(Shared::new(self.config, dispatcher, self.state, hub))
    }
}

/// A server is made by its builder.
impl Server {
    /// A builder with the defaults: path `/`, 10 MiB requests, 4 KiB WebSocket read buffers,
    /// 1 MiB outbound queues closing slow readers, no state, a hub of its own, and the limits
    /// listed on [`ServerBuilder`].
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    /// Binds with the defaults; see [`ServerBuilder::bind`].
    pub async fn bind(addr: impl ToSocketAddrs, router: crate::Router) -> std::io::Result<Server> {
        Server::builder().bind(addr, router).await
    }
}
