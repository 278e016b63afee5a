//! The WebSocket client: one connection, many calls in flight both ways.
//!
//! The client is one side of a WebSocket peer (see `peer`), as a server connection is the
//! other: its calls wait for their answers by id, the server's notifications reach whoever
//! listens, and, given a router, it answers the server's own calls. When the connection ends,
//! every waiting call fails with [`ClientError::Closed`].

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use super::notification::{Notifications, TypedNotifications};
use super::{Batch, BatchResponse, ClientError, RpcClient, Subscription, SubscriptionClient};
use crate::defaults::{
    DEFAULT_BUFFER, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_REQUEST_SIZE, DEFAULT_REQUEST_TIMEOUT,
};
use crate::dispatch::{Dispatcher, Policy};
use crate::peer::{self, Limits, Peer, in_flight_bytes};
use crate::state::StateMap;
use crate::{Connection, Hub, Router};

/// Calls a server over one WebSocket connection, and answers the server's calls if given a
/// [`Router`]. Clones share the connection; it closes when the last clone is dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), rpc_runtime::client::ClientError> {
/// use rpc_runtime::client::{RpcClient, WsClient};
///
/// let client = WsClient::connect("ws://127.0.0.1:8080/").await?;
/// let mut notifications = client.notifications();
/// let (a, b) = tokio::join!(
///     client.call::<i64>("subtract", (42, 23)),
///     client.call::<i64>("subtract", (23, 42)),
/// );
/// if let Some(note) = notifications.recv().await {
///     println!("{}: {:?}", note.method(), note.params::<serde_json::Value>());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct WsClient {
    connection: Connection,
    /// Stops the connection's task when the last clone is dropped.
    _stop: Arc<StopOnDrop>,
}

#[derive(Debug)]
struct StopOnDrop(CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Configures a [`WsClient`].
#[derive(Debug)]
pub struct WsClientBuilder {
    headers: super::Headers,
    timeout: Duration,
    max_message_size: usize,
    notification_buffer: usize,
    subscription_buffer: usize,
    router: Router,
    state: StateMap,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl WsClientBuilder {
    /// How long a call waits for its answer, sending included (and the connection for its
    /// handshake); 60 s by default.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest message accepted from the server; 10 MiB by default.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// How many server notifications a slow reader may fall behind by; 1024 by default.
    pub fn notification_buffer(mut self, notifications: usize) -> Self {
        self.notification_buffer = notifications.max(1);
        self
    }

    /// How many items a [`Subscription`] may fall behind by before it is cut off (its stream
    /// then ends with [`ClientError::Lagged`]); 1024 by default.
    pub fn subscription_buffer(mut self, items: usize) -> Self {
        self.subscription_buffer = items.max(1);
        self
    }

    /// The methods the client serves to the server: the server's calls to them are answered
    /// (on their own tasks, so they hold up nothing else), calls to any other method get
    /// -32601, and notifications to them run them instead of reaching
    /// [`notifications`](WsClient::notifications). Handlers see the connection to the server
    /// as their [`Context::connection`](crate::Context::connection) and may call it back.
    pub fn router(mut self, router: Router) -> Self {
        self.router = router;
        self
    }

    /// Registers state for the router's handlers, as
    /// [`ServerBuilder::state`](crate::ServerBuilder::state) does.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// The TLS configuration for `wss://` URLs: which roots to trust, client certificates;
    /// Mozilla's roots (`webpki-roots`) by default.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// A header of the handshake request, such as `Authorization`: strings
    /// (`.header("x-user", "alice")`) or `http`'s types. An invalid name or value makes
    /// [`connect`](Self::connect) fail, saying which.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<http::HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<http::HeaderValue>,
        V::Error: std::fmt::Display,
    {
        self.headers.insert(name, value);
        self
    }

    /// Connects to `url` (`ws://host:port/path`, `wss://` with the `tls` feature, or a request
    /// with headers of its own).
    pub async fn connect(
        self,
        url: impl IntoClientRequest + Unpin,
    ) -> Result<WsClient, ClientError> {
        let mut url = url.into_client_request().map_err(ClientError::transport)?;
        url.headers_mut().extend(self.headers.into_map()?);
        let config = WebSocketConfig::default()
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size));
        #[cfg(not(feature = "tls"))]
        let connecting = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
        #[cfg(feature = "tls")]
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(config),
            true,
            Some(tokio_tungstenite::Connector::Rustls(
                self.tls.unwrap_or_else(super::tls::default_config),
            )),
        );
        let (socket, _) = tokio::time::timeout(self.timeout, connecting)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
            .map_err(ClientError::transport)?;
        let limits = Limits {
            call_timeout: self.timeout,
            ..Limits::default()
        };
        // A hub of its own: pushes and groups are the server's business, not a client's.
        let (connection, cx) =
            Hub::default().open(None, http::HeaderMap::new(), &limits, Arc::new(self.state));
        connection.listen(self.notification_buffer, self.subscription_buffer);
        let stop = CancellationToken::new();
        let peer = Peer {
            cx,
            dispatcher: Arc::new(Dispatcher::new(self.router, Policy::default())),
            stop: stop.clone(),
            stop_frame: (CloseCode::Normal, "client closing"),
            // Dropped by its last user: the server's calls still running are answered by
            // nobody, and the server learns so from the close.
            grace: Duration::ZERO,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_in_flight_bytes: in_flight_bytes(self.max_message_size),
            echo: false,
        };
        let ended = connection.clone();
        tokio::spawn(async move {
            peer::run(socket, peer).await;
            ended.end();
        });
        Ok(WsClient {
            connection,
            _stop: Arc::new(StopOnDrop(stop)),
        })
    }
}

impl WsClient {
    /// Connects to `url` with the defaults.
    pub async fn connect(url: impl IntoClientRequest + Unpin) -> Result<Self, ClientError> {
        WsClient::builder().connect(url).await
    }

    /// A builder with the defaults.
    pub fn builder() -> WsClientBuilder {
        WsClientBuilder {
            headers: super::Headers::default(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
            max_message_size: DEFAULT_MAX_REQUEST_SIZE,
            notification_buffer: DEFAULT_BUFFER,
            subscription_buffer: DEFAULT_BUFFER,
            router: Router::new(),
            state: StateMap::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The server's notifications from now on, whatever their method, but for those the
    /// client's router takes and the items of its subscriptions.
    pub fn notifications(&self) -> Notifications {
        let receiver = self
            .connection
            .listeners()
            .notifications()
            // Closed already: a stream that ends at once.
            .unwrap_or_else(|| broadcast::channel(1).1);
        Notifications::new(receiver)
    }

    /// The server's notifications of one method from now on, their params decoded as `T`: a
    /// topic's items, say. Also a [`Stream`](futures_util::Stream).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rpc_runtime::client::ClientError> {
    /// use rpc_runtime::client::{RpcClient, WsClient};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Headline { title: String }
    ///
    /// let client = WsClient::connect("ws://127.0.0.1:8080/").await?;
    /// let mut news = client.notifications_for::<Headline>("news");
    /// let _: Vec<String> = client.call("rpc.subscribe", ["news"]).await?;
    /// while let Some(headline) = news.recv().await {
    ///     println!("{}", headline?.title);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn notifications_for<T: DeserializeOwned>(
        &self,
        method: impl Into<String>,
    ) -> TypedNotifications<T> {
        TypedNotifications::new(method.into(), self.notifications())
    }

    /// The connection to the server, as the client's own handlers see it.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Whether the connection has closed; every call now fails with [`ClientError::Closed`].
    pub fn is_closed(&self) -> bool {
        self.connection.is_closed()
    }
}

impl RpcClient for WsClient {
    async fn call_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Box<RawValue>, ClientError> {
        self.connection.call_raw(method, params).await
    }

    async fn notify_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<(), ClientError> {
        self.connection.notify_raw(method, params).await
    }

    async fn batch(&self, batch: Batch) -> Result<BatchResponse, ClientError> {
        self.connection.batch(batch).await
    }
}

impl SubscriptionClient for WsClient {
    async fn subscribe_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
    ) -> Result<Subscription<Box<RawValue>>, ClientError> {
        self.connection
            .subscribe_raw(method, params, unsubscribe)
            .await
    }
}
