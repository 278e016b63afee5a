//! What one WebSocket connection needs whichever side drives it: for now, its outbound queue
//! and the gate that spares its socket needless reads.

mod outbox;
mod read_gate;

pub use outbox::SlowReaderPolicy;
pub(crate) use outbox::{Batch, Outbox, Pushed};
pub(crate) use read_gate::ReadGate;

/// The default bound on what a connection may have queued for sending: 1 MiB.
pub const DEFAULT_OUTBOUND_QUEUE: usize = 1024 * 1024;
