//! What one WebSocket connection needs whichever side drives it: for now, its outbound queue.

mod outbox;

pub use outbox::SlowReaderPolicy;
pub(crate) use outbox::{Outbox, Pushed};

/// The default bound on what a connection may have queued for sending: 1 MiB.
pub const DEFAULT_OUTBOUND_QUEUE: usize = 1024 * 1024;
