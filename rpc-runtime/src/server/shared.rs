//! What every connection of one server shares: its configuration, dispatcher, state and hub,
//! the signal to stop, and the count of open connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::Config;
use crate::Hub;
use crate::dispatch::Dispatcher;
use crate::state::StateMap;

/// What every connection of one server shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub config: Config,
    pub dispatcher: Arc<Dispatcher>,
    pub state: Arc<StateMap>,
    pub hub: Hub,
    /// Cancelled when the server stops: connections finish what they accepted, then close.
    pub stop: CancellationToken,
    pub connections: TaskTracker,
    /// Connections open, against `max_connections`; see [`Slot`].
    open: AtomicUsize,
    /// Whether the keepalive ticker runs; it starts with the first WebSocket connection.
    keepalive: AtomicBool,
}

impl Shared {
    pub fn new(config: Config, dispatcher: Dispatcher, state: StateMap, hub: Hub) -> Shared {
        Shared {
            config,
            dispatcher: Arc::new(dispatcher),
            state: Arc::new(state),
            hub,
            stop: CancellationToken::new(),
            connections: TaskTracker::new(),
            open: AtomicUsize::new(0),
            keepalive: AtomicBool::new(false),
        }
    }

    /// Starts the one task that ticks every WebSocket connection's keepalive, if pings are on
    /// and it is not running yet.
    pub fn start_keepalive(&self) {
        let Some(interval) = self.config.timeouts.websocket_ping else {
            return;
        };
        if self.keepalive.swap(true, Ordering::Relaxed) {
            return;
        }
        let (hub, stop) = (self.hub.clone(), self.stop.clone());
        self.connections.spawn(async move {
            let start = tokio::time::Instant::now() + interval;
            let mut ticks = tokio::time::interval_at(start, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => hub.keepalive_tick(),
                    () = stop.cancelled() => return,
                }
            }
        });
    }
}

/// Counts a connection against `max_connections` while it lives. A WebSocket takes a slot of
/// its own as it is accepted, and the HTTP connection it came from gives its slot back as that
/// ends: one count per connection, at no allocation of its own.
pub(super) struct Slot(Arc<Shared>);

impl Slot {
    /// A slot, if one is free.
    pub fn try_take(shared: &Arc<Shared>) -> Option<Slot> {
        let open = shared.open.fetch_add(1, Ordering::Relaxed);
        if open >= shared.config.max_connections {
            shared.open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Slot(shared.clone()))
    }

    /// A slot for a connection that already holds one under another guise.
    pub fn take_over(shared: &Arc<Shared>) -> Slot {
        shared.open.fetch_add(1, Ordering::Relaxed);
        Slot(shared.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
