//! One WebSocket peer, whichever side drives it: the connection's outbound queue, the calls it
//! made and awaits, the subscriptions it serves and those it made, and the task that reads and
//! writes its socket. A server connection and `WsClient` are both this, and neither imports
//! the other.

mod burst;
mod calls;
mod connection;
mod direct;
mod feed;
mod id;
mod in_flight;
mod keepalive;
mod listeners;
mod outbox;
mod pending;
mod read_gate;
mod route;
mod run;
mod subscriptions;

use std::time::Duration;

use crate::defaults::{DEFAULT_MAX_SUBSCRIPTIONS, DEFAULT_OUTBOUND_QUEUE, DEFAULT_REQUEST_TIMEOUT};

pub(crate) use burst::{Burst, BurstBuilder};
pub use connection::Connection;
pub(crate) use direct::DirectIo;
pub(crate) use feed::feed;
pub use id::{ConnectionId, ParseConnectionIdError};
pub(crate) use listeners::{Items, Listeners};
pub use outbox::SlowReaderPolicy;
pub(crate) use outbox::{Batch, Outbox, Outgoing, Pushed};
pub(crate) use pending::{Pending, Waiter};
pub(crate) use read_gate::ReadGate;
pub(crate) use run::{Peer, run};
pub(crate) use subscriptions::Subscriptions;

/// The most bytes of messages the calls running on one connection may hold: two of the
/// largest messages it takes, and at least 1 MiB, so that small limits still let many small
/// calls run.
pub(crate) fn in_flight_bytes(max_message_size: usize) -> usize {
    max_message_size.saturating_mul(2).max(1024 * 1024)
}

/// The limits of one connection, set by its server or client builder.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub outbound_queue: usize,
    pub slow_reader: SlowReaderPolicy,
    pub call_timeout: Duration,
    pub max_subscriptions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            outbound_queue: DEFAULT_OUTBOUND_QUEUE,
            slow_reader: SlowReaderPolicy::default(),
            call_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_subscriptions: DEFAULT_MAX_SUBSCRIPTIONS,
        }
    }
}
