//! Reconnecting: the policy, what the client reports, and the task that keeps the client's
//! connection, dialing again when it is lost and restoring its subscriptions.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::dial::Dial;
use crate::Connection;
use crate::client::subscription::{Place, Target};
use crate::client::{ClientError, RpcClient};
use crate::push::{Recovery, StreamPosition};

/// How a [`WsClient`](super::WsClient) reconnects once its connection is lost
/// ([`WsClientBuilder::reconnect`](super::WsClientBuilder::reconnect)): after a delay that
/// starts at `first` and doubles up to `max`, each drawn at random between half of it and all
/// of it (jitter, so that clients dropped together do not come back together), at most
/// `attempts` times in a row. By default 0.1 s doubling to 5 s, 10 attempts (about half a
/// minute), after which the client closes.
///
/// ```no_run
/// # async fn run() -> Result<(), rpc_runtime::client::ClientError> {
/// use std::time::Duration;
/// use rpc_runtime::client::{Reconnect, WsClient};
///
/// let client = WsClient::builder()
///     .reconnect(Reconnect::new().backoff(Duration::from_millis(200), Duration::from_secs(10)).forever())
///     .connect("ws://127.0.0.1:8080/")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconnect {
    first: Duration,
    max: Duration,
    attempts: Option<u32>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            first: Duration::from_millis(100),
            max: Duration::from_secs(5),
            attempts: Some(10),
        }
    }
}

impl Reconnect {
    /// The defaults: 0.1 s doubling to 5 s, 10 attempts.
    pub fn new() -> Self {
        Reconnect::default()
    }

    /// The first delay and the longest.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.first = first;
        self.max = max.max(first);
        self
    }

    /// At most this many attempts in a row (at least 1); then the client closes.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts.max(1));
        self
    }

    /// Tries until the client is dropped.
    pub fn forever(mut self) -> Self {
        self.attempts = None;
        self
    }

    /// The delay before attempt `attempt` (from 1), jittered.
    fn delay(&self, attempt: u32) -> Duration {
        let doubled = self
            .first
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let delay = doubled.min(self.max);
        let half = delay / 2;
        let spread = u64::try_from(half.as_micros()).unwrap_or(u64::MAX).max(1);
        half + Duration::from_micros(crate::random::random_u64() % spread)
    }
}

/// What a reconnecting [`WsClient`](super::WsClient) reports
/// ([`events`](super::WsClient::events)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The connection was lost. Calls in flight failed with [`ClientError::Closed`]; calls
    /// made from now on wait for the next connection, within the request timeout.
    Disconnected,
    /// An attempt to connect again failed.
    ReconnectFailed {
        /// Which attempt, from 1.
        attempt: u32,
        /// Why it failed.
        error: String,
        /// When the next comes.
        retry_in: Duration,
    },
    /// Connected again, and subscribed again.
    Reconnected {
        /// How many attempts it took.
        attempts: u32,
    },
    /// What a subscription sent while the client was away could not all be recovered: too
    /// old for the server's history, its history lost, or it keeps none (typed subscriptions
    /// never do). What it carries should be read anew.
    Gap {
        /// The topic, or the typed subscription's method.
        name: String,
    },
    /// A subscription could not be made again; its items stop.
    Unsubscribed {
        /// The topic, or the typed subscription's method.
        name: String,
        /// Why.
        error: String,
    },
    /// The attempts ran out: the client is closed.
    GaveUp,
}

/// The events of a reconnecting client, from the moment this was created.
#[derive(Debug)]
pub struct ClientEvents {
    receiver: broadcast::Receiver<ClientEvent>,
}

impl ClientEvents {
    /// The next event; `None` once the client is closed for good.
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// The client's connection as calls see it.
#[derive(Clone, Debug)]
pub(super) enum Current {
    Up(Connection),
    /// Lost, and being dialed again.
    Away,
    Closed,
}

/// What every clone of a client shares.
pub(super) struct Shared {
    pub(super) current: watch::Sender<Current>,
    pub(super) dial: Dial,
    /// Whether the client dials again when its connection is lost.
    pub(super) reconnects: bool,
    events: broadcast::Sender<ClientEvent>,
    /// The typed subscriptions to make again on a new connection.
    subscriptions: Mutex<Vec<Resubscription>>,
}

/// A typed subscription, as it is made again.
struct Resubscription {
    method: String,
    params: Option<Box<RawValue>>,
    /// Gone when the subscription has been dropped or unsubscribed.
    target: Weak<Mutex<Place>>,
}

impl Shared {
    pub(super) fn new(dial: Dial, first: Connection, reconnects: bool) -> Self {
        Shared {
            current: watch::Sender::new(Current::Up(first)),
            dial,
            reconnects,
            events: broadcast::channel(64).0,
            subscriptions: Mutex::new(Vec::new()),
        }
    }

    /// The connection to call on: the current one, or the next within the request timeout
    /// while the client is reconnecting.
    pub(super) async fn connection(&self) -> Result<Connection, ClientError> {
        if let Current::Up(connection) = &*self.current.borrow() {
            return Ok(connection.clone());
        }
        let timeout = self.dial.timeout;
        let mut current = self.current.subscribe();
        let next = current.wait_for(|current| !matches!(current, Current::Away));
        match tokio::time::timeout(timeout, next).await {
            Err(_) => Err(ClientError::Timeout(timeout)),
            Ok(Ok(current)) => match &*current {
                Current::Up(connection) => Ok(connection.clone()),
                _ => Err(ClientError::Closed),
            },
            Ok(Err(_)) => Err(ClientError::Closed),
        }
    }

    pub(super) fn events(&self) -> ClientEvents {
        ClientEvents {
            receiver: self.events.subscribe(),
        }
    }

    fn tell(&self, event: ClientEvent) {
        let _ = self.events.send(event);
    }

    fn subscriptions(&self) -> MutexGuard<'_, Vec<Resubscription>> {
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers a typed subscription, to make again after a reconnect.
    pub(super) fn keep(&self, method: &str, params: Option<Box<RawValue>>, target: &Target) {
        let mut subscriptions = self.subscriptions();
        // Those dropped since are forgotten now, so that the list stays as long as the live ones.
        subscriptions.retain(|kept| kept.target.strong_count() > 0);
        subscriptions.push(Resubscription {
            method: method.to_owned(),
            params,
            target: Arc::downgrade(target),
        });
    }

    /// Ends the client for good: calls fail, streams end.
    pub(super) fn close(&self) {
        self.current.send_replace(Current::Closed);
        self.dial.listeners.end();
    }
}

/// Keeps the client's connection while the client lives: runs it, and when it is lost and
/// `policy` allows, dials again and subscribes again to what the client had.
pub(super) async fn keep(
    shared: Arc<Shared>,
    policy: Option<Reconnect>,
    stop: CancellationToken,
    first: impl Future<Output = ()>,
) {
    first.await;
    let Some(policy) = policy else {
        shared.close();
        return;
    };
    loop {
        if stop.is_cancelled() {
            shared.close();
            return;
        }
        shared.current.send_replace(Current::Away);
        shared.tell(ClientEvent::Disconnected);
        let mut attempt = 0;
        let (connection, run) = loop {
            attempt += 1;
            if policy.attempts.is_some_and(|most| attempt > most) {
                shared.tell(ClientEvent::GaveUp);
                shared.close();
                return;
            }
            tokio::select! {
                () = stop.cancelled() => {
                    shared.close();
                    return;
                }
                () = tokio::time::sleep(policy.delay(attempt)) => {}
            }
            match shared.dial.open(stop.clone()).await {
                Ok(opened) => break opened,
                Err(err) => shared.tell(ClientEvent::ReconnectFailed {
                    attempt,
                    error: err.to_string(),
                    retry_in: policy.delay(attempt + 1),
                }),
            }
        };
        shared.current.send_replace(Current::Up(connection.clone()));
        let running = tokio::spawn(run);
        restore(&shared, &connection).await;
        shared.tell(ClientEvent::Reconnected { attempts: attempt });
        let _ = running.await;
    }
}

/// Subscribes again, on a new connection, to every topic the client follows, from the
/// position last received of those with history, and to every typed subscription it has. A
/// subscription the server refuses is given up (and reported); one the connection was lost
/// again before making is made on the next.
async fn restore(shared: &Shared, connection: &Connection) {
    let listeners = &shared.dial.listeners;
    let followed = listeners.followed();
    if !followed.is_empty() {
        let names: Vec<&str> = followed.iter().map(|(name, _)| name.as_str()).collect();
        let since: serde_json::Map<String, serde_json::Value> = followed
            .iter()
            .filter_map(|(name, at)| Some((name.clone(), serde_json::to_value(at.as_ref()?).ok()?)))
            .collect();
        let params = serde_json::json!({"topics": names, "since": since, "positions": true});
        match connection
            .call::<std::collections::HashMap<String, Option<Recovery>>>("rpc.subscribe", params)
            .await
        {
            Ok(answer) => {
                for (name, recovery) in answer {
                    if recovery
                        .as_ref()
                        .is_some_and(|r| r.recovered == Some(false))
                    {
                        shared.tell(ClientEvent::Gap { name: name.clone() });
                    }
                    let position: Option<StreamPosition> = recovery.map(|r| r.position);
                    listeners.follow(&name, Some(position));
                }
            }
            Err(ClientError::Closed | ClientError::Timeout(_)) => return,
            Err(err) => {
                for name in names {
                    listeners.follow(name, None);
                    shared.tell(ClientEvent::Unsubscribed {
                        name: name.to_owned(),
                        error: err.to_string(),
                    });
                }
            }
        }
    }
    let kept: Vec<(String, Option<Box<RawValue>>, Target)> = {
        let mut subscriptions = shared.subscriptions();
        subscriptions.retain(|kept| kept.target.strong_count() > 0);
        let live = subscriptions.iter();
        let live = live.filter_map(|kept| {
            Some((
                kept.method.clone(),
                kept.params.clone(),
                kept.target.upgrade()?,
            ))
        });
        live.collect()
    };
    for (method, params, target) in kept {
        let old = target
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .clone();
        if !listeners.is_subscribed(old.get()) {
            continue;
        }
        match connection
            .resubscribe_raw(&method, params.as_deref(), old.get())
            .await
        {
            Ok(id) => {
                let moved: Place = (Arc::new(connection.clone()), id);
                *target.lock().unwrap_or_else(PoisonError::into_inner) = moved;
                shared.tell(ClientEvent::Gap { name: method });
            }
            Err(ClientError::Closed | ClientError::Timeout(_)) => return,
            Err(err) => {
                listeners.unsubscribe(old.get());
                shared.tell(ClientEvent::Unsubscribed {
                    name: method,
                    error: err.to_string(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_longest_with_jitter() {
        let policy = Reconnect::new().backoff(Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..100 {
            let first = policy.delay(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
            let third = policy.delay(3);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third));
            let late = policy.delay(30);
            assert!((Duration::from_millis(500)..=Duration::from_secs(1)).contains(&late));
        }
        let draws: std::collections::HashSet<Duration> = (0..20).map(|_| policy.delay(5)).collect();
        assert!(draws.len() > 1, "jittered");
    }
}
