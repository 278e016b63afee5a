//! The WebSocket client: one connection, many calls in flight both ways, and optionally a new
//! one whenever it is lost.
//!
//! The client is one side of a WebSocket peer (see `peer`), as a server connection is the
//! other: its calls wait for their answers by id, the server's notifications reach whoever
//! listens, and, given a router, it answers the server's own calls. When the connection ends,
//! every waiting call fails with [`ClientError::Closed`]; a client told to reconnect then dials
//! again and subscribes again (`reconnect`).

mod dial;
mod reconnect;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

use super::notification::{Notifications, TypedNotifications};
use super::{Batch, BatchResponse, ClientError, RpcClient, Subscription, SubscriptionClient};
use crate::defaults::{DEFAULT_BUFFER, DEFAULT_MAX_REQUEST_SIZE, DEFAULT_REQUEST_TIMEOUT};
use crate::dispatch::{Dispatcher, Policy};
use crate::peer::Listeners;
use crate::push::Recovery;
use crate::state::StateMap;
use crate::{Connection, Router};
use dial::Dial;
pub use reconnect::{ClientEvent, ClientEvents, Reconnect};
use reconnect::{Current, Shared};

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
#[derive(Clone)]
pub struct WsClient {
    shared: Arc<Shared>,
    /// Stops the connection's task when the last clone is dropped.
    _stop: Arc<StopOnDrop>,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient")
            .field("current", &*self.shared.current.borrow())
            .finish_non_exhaustive()
    }
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
    reconnect: Option<Reconnect>,
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

    /// Connects again whenever the connection is lost, as `policy` says, with the same URL
    /// and headers: calls in flight then fail with [`ClientError::Closed`] (never sent again,
    /// as a call may not be safe to repeat), calls made meanwhile wait for the next connection
    /// within the request timeout, and the client subscribes again to the topics it follows
    /// ([`subscribe_topics`](WsClient::subscribe_topics)), from the position last received of
    /// those with history, and to its typed subscriptions. [`events`](WsClient::events) tells
    /// of each reconnect and of each gap it could not fill. Topics subscribed with a call of
    /// `rpc.subscribe` of your own are not remembered: subscribe through `subscribe_topics`.
    pub fn reconnect(mut self, policy: Reconnect) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Connects to `url` (`ws://host:port/path`, `wss://` with the `tls` feature, or a request
    /// with headers of its own).
    pub async fn connect(
        self,
        url: impl IntoClientRequest + Unpin,
    ) -> Result<WsClient, ClientError> {
        let listeners = match self.reconnect {
            Some(_) => Listeners::kept(self.notification_buffer, self.subscription_buffer),
            None => Listeners::new(self.notification_buffer, self.subscription_buffer),
        };
        let dial = Dial::new(
            url,
            self.headers.into_map()?,
            self.max_message_size,
            self.timeout,
            Arc::new(Dispatcher::new(self.router, Policy::default())),
            Arc::new(self.state),
            Arc::new(listeners),
            #[cfg(feature = "tls")]
            self.tls.unwrap_or_else(super::tls::default_config),
        )?;
        let stop = CancellationToken::new();
        let (connection, run) = dial.open(stop.clone()).await?;
        let shared = Arc::new(Shared::new(dial, connection, self.reconnect.is_some()));
        tokio::spawn(reconnect::keep(
            shared.clone(),
            self.reconnect,
            stop.clone(),
            run,
        ));
        Ok(WsClient {
            shared,
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
            reconnect: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The server's notifications from now on, whatever their method, but for those the
    /// client's router takes and the items of its subscriptions.
    pub fn notifications(&self) -> Notifications {
        let receiver = self
            .shared
            .dial
            .listeners
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

    /// The connection to the server now, as the client's own handlers see it; `None` while
    /// the client is reconnecting, or once it is closed.
    pub fn connection(&self) -> Option<Connection> {
        match &*self.shared.current.borrow() {
            Current::Up(connection) => Some(connection.clone()),
            Current::Away | Current::Closed => None,
        }
    }

    /// Whether the client is closed for good: its connection ended and it does not reconnect
    /// (any more); every call now fails with [`ClientError::Closed`].
    pub fn is_closed(&self) -> bool {
        match &*self.shared.current.borrow() {
            Current::Up(connection) => !self.shared.reconnects && connection.is_closed(),
            Current::Away => false,
            Current::Closed => true,
        }
    }

    /// What a reconnecting client reports from now on: each connection lost and made again,
    /// each gap in a subscription it could not fill.
    pub fn events(&self) -> ClientEvents {
        self.shared.events()
    }

    /// Subscribes to `topics` with the built-in `rpc.subscribe`, keeping the position in those
    /// that keep history ([`Topic::history`](crate::Topic::history)): a reconnecting client
    /// subscribes again after a reconnect from the last position received, and the server
    /// sends what was published meanwhile, first and in order (or, if it no longer has it
    /// all, the client reports a [`ClientEvent::Gap`]). The items arrive as notifications of
    /// each topic's name ([`notifications_for`](Self::notifications_for)).
    pub async fn subscribe_topics(&self, topics: &[&str]) -> Result<(), ClientError> {
        let params = serde_json::json!({"topics": topics, "positions": true});
        let answer: HashMap<String, Option<Recovery>> = self.call("rpc.subscribe", params).await?;
        for (name, recovery) in answer {
            let position = recovery.map(|recovery| recovery.position);
            self.shared.dial.listeners.follow(&name, Some(position));
        }
        Ok(())
    }

    /// Unsubscribes from `topics`, which a reconnecting client then no longer follows.
    pub async fn unsubscribe_topics(&self, topics: &[&str]) -> Result<(), ClientError> {
        for topic in topics {
            self.shared.dial.listeners.follow(topic, None);
        }
        let _: Vec<String> = self.call("rpc.unsubscribe", [topics]).await?;
        Ok(())
    }
}

impl RpcClient for WsClient {
    async fn call_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Box<RawValue>, ClientError> {
        let connection = self.shared.connection().await?;
        connection.call_raw(method, params).await
    }

    async fn notify_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<(), ClientError> {
        let connection = self.shared.connection().await?;
        connection.notify_raw(method, params).await
    }

    async fn batch(&self, batch: Batch) -> Result<BatchResponse, ClientError> {
        let connection = self.shared.connection().await?;
        connection.batch(batch).await
    }
}

impl SubscriptionClient for WsClient {
    async fn subscribe_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
    ) -> Result<Subscription<Box<RawValue>>, ClientError> {
        let connection = self.shared.connection().await?;
        let subscription = connection
            .subscribe_raw(method, params.clone(), unsubscribe)
            .await?;
        self.shared.keep(method, params, subscription.target());
        Ok(subscription)
    }
}
