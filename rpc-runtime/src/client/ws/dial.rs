//! Opening one connection to the server: the handshake with the client's headers, and the peer
//! task that reads and writes it. A reconnecting client dials again the same way.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Uri, header};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use crate::client::ClientError;
use crate::defaults::DEFAULT_MAX_IN_FLIGHT;
use crate::dispatch::Dispatcher;
use crate::peer::{self, Limits, Listeners, Peer, in_flight_bytes};
use crate::state::StateMap;
use crate::{Connection, Hub};

/// Everything needed to open the client's connection, again and again.
pub(super) struct Dial {
    uri: Uri,
    /// The handshake's headers beyond those every handshake makes anew (its key above all).
    headers: HeaderMap,
    config: WebSocketConfig,
    pub(super) timeout: Duration,
    dispatcher: Arc<Dispatcher>,
    state: Arc<StateMap>,
    pub(super) listeners: Arc<Listeners>,
    #[cfg(feature = "tls")]
    tls: Arc<rustls::ClientConfig>,
}

/// The headers a handshake request makes for itself.
const HANDSHAKE: [header::HeaderName; 5] = [
    header::HOST,
    header::CONNECTION,
    header::UPGRADE,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
];

impl Dial {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        url: impl IntoClientRequest,
        headers: HeaderMap,
        max_message_size: usize,
        timeout: Duration,
        dispatcher: Arc<Dispatcher>,
        state: Arc<StateMap>,
        listeners: Arc<Listeners>,
        #[cfg(feature = "tls")] tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, ClientError> {
        let request = url.into_client_request().map_err(ClientError::transport)?;
        let mut all = request.headers().clone();
        for name in HANDSHAKE {
            all.remove(name);
        }
        all.extend(headers);
        Ok(Dial {
            uri: request.uri().clone(),
            headers: all,
            config: WebSocketConfig::default()
                .max_message_size(Some(max_message_size))
                .max_frame_size(Some(max_message_size)),
            timeout,
            dispatcher,
            state,
            listeners,
            #[cfg(feature = "tls")]
            tls,
        })
    }

    /// Opens a connection: the handshake within the request timeout, then the peer task,
    /// which the returned future runs until the connection ends or `stop` is cancelled.
    pub(super) async fn open(
        &self,
        stop: CancellationToken,
    ) -> Result<(Connection, impl Future<Output = ()> + use<>), ClientError> {
        let mut request = self
            .uri
            .clone()
            .into_client_request()
            .map_err(ClientError::transport)?;
        request.headers_mut().extend(self.headers.clone());
        #[cfg(not(feature = "tls"))]
        let connecting =
            tokio_tungstenite::connect_async_with_config(request, Some(self.config), true);
        #[cfg(feature = "tls")]
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(self.config),
            true,
            Some(tokio_tungstenite::Connector::Rustls(self.tls.clone())),
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
            Hub::default().open(None, HeaderMap::new(), &limits, self.state.clone());
        connection.listen(self.listeners.clone());
        let peer = Peer {
            cx,
            dispatcher: self.dispatcher.clone(),
            stop,
            stop_frame: (CloseCode::Normal, "client closing"),
            // Dropped by its last user: the server's calls still running are answered by
            // nobody, and the server learns so from the close.
            grace: Duration::ZERO,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_in_flight_bytes: in_flight_bytes(self.config.max_message_size.unwrap_or(0)),
            echo: false,
        };
        let ended = connection.clone();
        let run = async move {
            peer::run(socket, peer).await;
            ended.end();
        };
        Ok((connection, run))
    }
}
