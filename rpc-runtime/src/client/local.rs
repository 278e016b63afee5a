//! A client that dispatches straight into a router, for tests: the whole protocol path, no
//! socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;

use super::ClientError;
use super::exchange::Exchange;
use crate::context::ConnectionId;
use crate::state::StateMap;
use crate::{Context, Router, Transport};

/// Calls a [`Router`] in process, through the same parsing, dispatch and encoding as a server,
/// as if over `transport` (WebSocket unless set), so that handlers can be tested end to end
/// without a socket.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rpc_runtime::client::{RpcClient, TestClient};
/// use rpc_runtime::{methods, rpc_method};
///
/// #[rpc_method]
/// fn subtract(minuend: i64, subtrahend: i64) -> i64 { minuend - subtrahend }
///
/// let client = TestClient::new(methods![subtract]);
/// assert_eq!(client.call::<i64>("subtract", (42, 23)).await.unwrap(), 19);
/// let raw = client.request(r#"{"jsonrpc":"2.0","method":"subtract","params":[1],"id":1}"#).await;
/// assert!(raw.unwrap().contains("-32602"));
/// # }
/// ```
#[derive(Debug)]
pub struct TestClient {
    router: Router,
    cx: Context,
    next_id: AtomicU64,
}

/// Configures a [`TestClient`].
#[derive(Debug)]
pub struct TestClientBuilder {
    router: Router,
    transport: Transport,
    state: StateMap,
}

impl TestClientBuilder {
    /// Calls as if over `transport`, which decides which methods exist; WebSocket by default.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Registers state for handlers, as [`ServerBuilder::state`](crate::ServerBuilder::state) does.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// The client.
    pub fn build(self) -> TestClient {
        let cx = Context::new(
            self.transport,
            None,
            HeaderMap::new(),
            ConnectionId::next(),
            Arc::new(self.state),
        );
        TestClient {
            router: self.router,
            cx,
            next_id: AtomicU64::new(1),
        }
    }
}

impl TestClient {
    /// A client of `router`, as a WebSocket peer with no state.
    pub fn new(router: Router) -> Self {
        TestClient::builder(router).build()
    }

    /// A client of `router` to configure.
    pub fn builder(router: Router) -> TestClientBuilder {
        TestClientBuilder {
            router,
            transport: Transport::WebSocket,
            state: StateMap::default(),
        }
    }

    /// Sends one raw JSON-RPC message and returns the raw answer, `None` when there is none.
    pub async fn request(&self, message: &str) -> Option<String> {
        self.router.handle(message, &self.cx).await
    }
}

impl Exchange for TestClient {
    async fn exchange(&self, message: String) -> Result<Option<String>, ClientError> {
        Ok(self.request(&message).await)
    }

    fn reserve_ids(&self, count: u64) -> u64 {
        self.next_id.fetch_add(count, Ordering::Relaxed)
    }
}
