//! The WebSocket client: one connection, many calls in flight, matched to their answers by id.
//!
//! A background task owns the socket. Callers register a waiter under their id, hand the
//! encoded request to the task, and wait; the task writes requests, routes each answer to its
//! waiter, and broadcasts the server's own notifications. When the connection ends, every
//! waiter fails with [`ClientError::Closed`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::notification::{Notification, Notifications, TypedNotifications};
use super::wire::Incoming;
use super::{Batch, BatchResponse, ClientError, DEFAULT_REQUEST_TIMEOUT, RpcClient};
use crate::RpcError;
use crate::protocol::encode_request;
use crate::protocol::{Version, encode_error};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Calls a server over one WebSocket connection. Clones share the connection; it closes when
/// the last clone is dropped.
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
    shared: Arc<Shared>,
    requests: mpsc::Sender<String>,
}

/// Configures a [`WsClient`].
#[derive(Debug)]
pub struct WsClientBuilder {
    timeout: Duration,
    max_message_size: usize,
    notification_buffer: usize,
}

#[derive(Debug)]
struct Shared {
    waiters: Mutex<HashMap<u64, Waiter>>,
    closed: AtomicBool,
    next_id: AtomicU64,
    timeout: Duration,
    /// Taken when the connection ends, which ends every [`Notifications`] stream.
    notifications: Mutex<Option<broadcast::Sender<Notification>>>,
}

#[derive(Debug)]
enum Waiter {
    Call(oneshot::Sender<Result<Box<RawValue>, ClientError>>),
    /// A batch waits under its first call's id for the whole answer text.
    Batch(oneshot::Sender<Result<String, ClientError>>),
}

impl WsClientBuilder {
    /// How long a call waits for its answer (and the connection for its handshake); 60 s by
    /// default.
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

    /// Connects to `url` (`ws://host:port/path`, or a request with headers of its own).
    pub async fn connect(
        self,
        url: impl IntoClientRequest + Unpin,
    ) -> Result<WsClient, ClientError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size));
        let connecting = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
        let (socket, _) = tokio::time::timeout(self.timeout, connecting)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
            .map_err(ClientError::transport)?;
        let (notifications, _) = broadcast::channel(self.notification_buffer);
        let shared = Arc::new(Shared {
            waiters: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            timeout: self.timeout,
            notifications: Mutex::new(Some(notifications)),
        });
        let (requests, outgoing) = mpsc::channel(256);
        tokio::spawn(run(socket, outgoing, shared.clone()));
        Ok(WsClient { shared, requests })
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
            timeout: DEFAULT_REQUEST_TIMEOUT,
            max_message_size: crate::DEFAULT_MAX_REQUEST_SIZE,
            notification_buffer: 1024,
        }
    }

    /// The server's notifications from now on, whatever their method.
    pub fn notifications(&self) -> Notifications {
        let receiver = match &*lock(&self.shared.notifications) {
            Some(sender) => sender.subscribe(),
            // Closed already: a stream that ends at once.
            None => broadcast::channel(1).1,
        };
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

    /// Whether the connection has closed; every call now fails with [`ClientError::Closed`].
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    fn next_ids(&self, count: u64) -> u64 {
        self.shared.next_id.fetch_add(count, Ordering::Relaxed)
    }

    /// Registers `waiter` under `id`, sends `request`, and waits for what the waiter receives.
    async fn exchange<T>(
        &self,
        id: u64,
        request: String,
        waiter: Waiter,
        answer: oneshot::Receiver<Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        lock(&self.shared.waiters).insert(id, waiter);
        // Checked after registering: the task sets `closed` before failing the waiters, so a
        // waiter registered too late to be failed sees `closed` here.
        if self.is_closed() || self.requests.send(request).await.is_err() {
            lock(&self.shared.waiters).remove(&id);
            return Err(ClientError::Closed);
        }
        match tokio::time::timeout(self.shared.timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                lock(&self.shared.waiters).remove(&id);
                Err(ClientError::Timeout(self.shared.timeout))
            }
        }
    }
}

impl RpcClient for WsClient {
    async fn call_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Box<RawValue>, ClientError> {
        let id = self.next_ids(1);
        let mut request = String::new();
        encode_request(
            &mut request,
            method,
            params.as_deref().map(RawValue::get),
            Some(id),
        );
        let (sender, answer) = oneshot::channel();
        self.exchange(id, request, Waiter::Call(sender), answer)
            .await
    }

    async fn notify_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<(), ClientError> {
        let mut request = String::new();
        encode_request(
            &mut request,
            method,
            params.as_deref().map(RawValue::get),
            None,
        );
        if self.is_closed() {
            return Err(ClientError::Closed);
        }
        self.requests
            .send(request)
            .await
            .map_err(|_| ClientError::Closed)
    }

    async fn batch(&self, batch: Batch) -> Result<BatchResponse, ClientError> {
        if batch.is_empty() {
            return Ok(BatchResponse::empty(&batch));
        }
        let first_id = self.next_ids(batch.len() as u64);
        let request = batch.encode(first_id);
        if !batch.has_calls() {
            self.requests
                .send(request)
                .await
                .map_err(|_| ClientError::Closed)?;
            return Ok(BatchResponse::empty(&batch));
        }
        let (sender, answer) = oneshot::channel();
        // The answer's first entry may belong to any call; the waiter sits under the id of the
        // batch's first call, which `route` looks for among all the entries.
        let key = first_id + batch.first_call_index().unwrap_or(0) as u64;
        let text = self
            .exchange(key, request, Waiter::Batch(sender), answer)
            .await?;
        batch.decode(&text, first_id)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps stay consistent across a panic (each change is one insert or remove).
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The connection's task: writes requests, reads answers, until either side ends.
async fn run(mut socket: Socket, mut outgoing: mpsc::Receiver<String>, shared: Arc<Shared>) {
    loop {
        tokio::select! {
            request = outgoing.recv() => match request {
                Some(request) => {
                    if write_all(&mut socket, &mut outgoing, request).await.is_err() {
                        break;
                    }
                }
                // Every client handle is gone.
                None => {
                    let _ = socket.close(None).await;
                    break;
                }
            },
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = route(&shared, &text) {
                        if socket.send(Message::text(reply)).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    tracing::debug!(%err, "WebSocket client connection failed");
                    break;
                }
                None => break,
            },
        }
    }
    shared.closed.store(true, Ordering::Release);
    lock(&shared.notifications).take();
    let waiters: Vec<_> = lock(&shared.waiters)
        .drain()
        .map(|(_, waiter)| waiter)
        .collect();
    for waiter in waiters {
        match waiter {
            Waiter::Call(sender) => drop(sender.send(Err(ClientError::Closed))),
            Waiter::Batch(sender) => drop(sender.send(Err(ClientError::Closed))),
        }
    }
}

/// Writes `first` and whatever else is queued, then flushes once.
async fn write_all(
    socket: &mut Socket,
    outgoing: &mut mpsc::Receiver<String>,
    first: String,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    socket.feed(Message::text(first)).await?;
    while let Ok(more) = outgoing.try_recv() {
        socket.feed(Message::text(more)).await?;
    }
    socket.flush().await
}

/// Delivers one incoming message; returns a reply to send, for a server's call.
fn route(shared: &Shared, text: &str) -> Option<String> {
    if text.trim_start().starts_with('[') {
        let entries: Vec<Incoming<'_>> = match serde_json::from_str(text) {
            Ok(entries) => entries,
            Err(err) => {
                tracing::debug!(%err, "ignoring an unreadable batch answer");
                return None;
            }
        };
        let mut waiters = lock(&shared.waiters);
        let key = entries
            .iter()
            .filter_map(Incoming::numeric_id)
            .find(|id| matches!(waiters.get(id), Some(Waiter::Batch(_))));
        if let Some(Waiter::Batch(sender)) = key.and_then(|key| waiters.remove(&key)) {
            let _ = sender.send(Ok(text.to_owned()));
        }
        return None;
    }
    let message: Incoming<'_> = match serde_json::from_str(text) {
        Ok(message) => message,
        Err(err) => {
            tracing::debug!(%err, "ignoring an unreadable message");
            return None;
        }
    };
    if let Some(method) = message.method {
        if let Some(id) = message.id {
            // Calls from the server are not served by this client yet.
            return Some(encode_error(
                Version::V2,
                Some(id),
                &RpcError::method_not_found(),
            ));
        }
        if let Some(sender) = &*lock(&shared.notifications) {
            let params = message.params.map(RawValue::to_owned);
            // No receiver is not an error: nobody asked for notifications.
            let _ = sender.send(Notification::new(method, params));
        }
        return None;
    }
    let waiter = message
        .numeric_id()
        .and_then(|id| lock(&shared.waiters).remove(&id));
    match waiter {
        Some(Waiter::Call(sender)) => drop(sender.send(message.outcome())),
        // A server that rejects a whole batch answers with one object.
        Some(Waiter::Batch(sender)) => drop(sender.send(Ok(text.to_owned()))),
        // Timed out already, or not ours.
        None => tracing::debug!(id = ?message.id.map(RawValue::get), "an answer nobody waits for"),
    }
    None
}
