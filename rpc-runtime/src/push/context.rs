//! What the hub adds to a call's [`Context`]: `cx.hub()`, and the constructors that put it
//! there. The context sits below the hub (handlers and topic guards take it), so it holds the
//! hub without naming its type; every context is made here, with a `Hub`.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;

use super::Hub;
use crate::context::Source;
use crate::peer::{Connection, ConnectionId};
use crate::state::StateMap;
use crate::{Context, Transport};

impl Context {
    /// The context of one HTTP request (or of an in-process call made as if over HTTP).
    pub(crate) fn request(
        transport: Transport,
        peer_addr: Option<SocketAddr>,
        headers: HeaderMap,
        connection_id: ConnectionId,
        state: Arc<StateMap>,
        hub: Hub,
    ) -> Self {
        let source = Source::Request {
            peer_addr,
            headers,
            connection_id,
        };
        Context::with_hub(transport, source, state, hub)
    }

    /// The context every call on `connection` shares.
    pub(crate) fn connection_of(connection: Connection, state: Arc<StateMap>, hub: Hub) -> Self {
        let source = Source::Connection(connection);
        Context::with_hub(Transport::WebSocket, source, state, hub)
    }

    /// The server's hub: notify any connection, groups and topics, from any transport.
    pub fn hub(&self) -> &Hub {
        // Both constructors above, the only ones, hold a `Hub`.
        self.hub_any()
            .downcast_ref()
            .expect("every Context is made with a Hub")
    }
}
