//! What the server and the clients call on the hub as connections come and go: ids, joining
//! the hub, the hooks, keepalive ticks.

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;

use super::hub::Hub;
use super::presence::LEFT;
use super::refusal::Refusal;
use super::registry::Member;
use crate::peer::Limits;
use crate::state::StateMap;
use crate::{Connection, ConnectionId, Context};

impl Hub {
    /// A new WebSocket connection of this hub, and the context every call on it shares: how
    /// the server, `WsClient` and `TestClient` all open one. It joins the hub only when
    /// [`register`](Self::register)ed, which a server does once `on_connect` has accepted it.
    pub(crate) fn open(
        &self,
        peer_addr: Option<SocketAddr>,
        headers: HeaderMap,
        limits: &Limits,
        state: Arc<StateMap>,
    ) -> (Connection, Context) {
        let connection = Connection::new(self.next_connection_id(), peer_addr, headers, limits);
        let cx = Context::connection_of(connection.clone(), state, self.clone());
        (connection, cx)
    }

    /// Tells every connection that a keepalive interval has ended; see
    /// `Outbox::keepalive_tick`.
    pub(crate) fn keepalive_tick(&self) {
        for member in self.read().connections.values() {
            member.connection.outbox().keepalive_tick();
        }
    }

    pub(crate) fn register(&self, connection: &Connection) {
        self.write()
            .connections
            .insert(connection.id(), Member::new(connection.clone()));
    }

    /// Takes a connection out of the hub and every group and topic it was in.
    pub(crate) fn unregister(&self, id: ConnectionId) {
        let left = self.write().unregister(id);
        for (group, info) in left {
            self.tell(LEFT, &group, id, info.as_deref());
        }
    }

    /// An id for a new connection: on the broker's node, so that other processes route to it.
    pub(crate) fn next_connection_id(&self) -> ConnectionId {
        ConnectionId::on(self.inner.remote.as_ref().map_or(0, |remote| remote.node()))
    }

    pub(crate) async fn accept(&self, connection: &Connection) -> Result<(), Refusal> {
        match &self.inner.on_connect {
            Some(hook) => hook(connection.clone(), self.clone()).await,
            None => Ok(()),
        }
    }

    pub(crate) async fn disconnected(&self, connection: &Connection) {
        if let Some(hook) = &self.inner.on_disconnect {
            hook(connection.clone(), self.clone()).await;
        }
    }
}
