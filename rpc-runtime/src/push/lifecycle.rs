//! What the server and the clients call on the hub as connections come and go: ids, joining
//! the hub, the hooks, keepalive ticks.

use super::hub::Hub;
use super::refusal::Refusal;
use super::registry::Member;
use crate::{Connection, ConnectionId};

impl Hub {
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
        self.write().unregister(id);
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
