//! The task that talks to Redis for one hub: subscribes, sends the queued pushes, keeps the
//! view of the other processes, and reconnects with backoff when Redis goes away.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Msg, RedisError, RedisResult};
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval, sleep};

use super::super::{Inbound, Kind, Local};
use super::inbox::{Inbox, inbox};
use super::link::{Flush, Link, Outgoing};
use super::wire::{Control, Frame, Names};

/// How long connecting, and each answer from Redis, may take.
const TIMEOUT: Duration = Duration::from_secs(2);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The most pushes sent in one round trip.
const MAX_PIPELINE: usize = 256;

/// Two connections to Redis: one for commands, one for the subscriptions.
pub(super) struct Session {
    conn: MultiplexedConnection,
    /// Held for its subscriptions, whose messages it hands to `inbox`; they end with it.
    _subscriber: MultiplexedConnection,
    inbox: Inbox,
}

impl Session {
    pub(super) async fn open(client: &Client, link: &Link) -> RedisResult<Session> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let (sender, inbox) = inbox(link.max_received);
        let mut subscriber = client
            .get_multiplexed_async_connection_with_config(&config.set_push_sender(sender))
            .await?;
        let keys = &link.keys;
        subscriber
            .subscribe(&[&*keys.control, &*keys.all, &*keys.own])
            .await?;
        Ok(Session {
            conn,
            _subscriber: subscriber,
            inbox,
        })
    }
}

/// Serves sessions until the hub is dropped, opening a new one whenever Redis is lost.
pub(super) async fn run(
    link: Arc<Link>,
    client: Client,
    inbound: Inbound,
    mut outgoing: mpsc::Receiver<Outgoing>,
    first: Session,
) {
    let mut session = Some(first);
    let mut backoff = BACKOFF_MIN;
    loop {
        let current = match session.take() {
            Some(session) => session,
            None => {
                tokio::select! {
                    () = link.closed.cancelled() => return,
                    () = sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                match Session::open(&client, &link).await {
                    Ok(session) => {
                        tracing::info!("Redis broker: reconnected");
                        link.connected.store(true, Ordering::Release);
                        session
                    }
                    Err(err) => {
                        tracing::warn!(%err, retry_in = ?backoff, "Redis broker: cannot reconnect");
                        continue;
                    }
                }
            }
        };
        let err = match serve(&link, &inbound, &mut outgoing, current).await {
            Ok(()) => return,
            Err(err) => err,
        };
        link.connected.store(false, Ordering::Release);
        let mut dropped = 0;
        while outgoing.try_recv().is_ok() {
            dropped += 1;
        }
        link.lose(dropped);
        tracing::warn!(
            %err,
            "Redis broker: lost Redis; local delivery goes on, pushes to other processes are \
             counted as lost until it is back; reconnecting"
        );
        backoff = BACKOFF_MIN;
    }
}

/// One session, until Redis is lost (`Err`) or the hub is dropped (`Ok`).
async fn serve(
    link: &Link,
    inbound: &Inbound,
    outgoing: &mut mpsc::Receiver<Outgoing>,
    mut session: Session,
) -> RedisResult<()> {
    let conn = &mut session.conn;
    let Some(hub) = inbound.hub() else {
        return Ok(());
    };
    load_retained(link, &*hub, conn).await?;
    // Changes made before the state below is read are in it; those made after are sent after.
    link.take_pending();
    let hello = Control::Hello {
        node: link.node,
        names: local_names(&*hub),
    };
    drop(hub);
    say(conn, link, &hello).await?;

    let mut beat = interval(link.heartbeat);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut own_beat = Instant::now();
    loop {
        tokio::select! {
            () = link.closed.cancelled() => {
                // Goodbye, so that the others forget this process now rather than at expiry.
                let _ = say(conn, link, &Control::Bye { node: link.node }).await;
                return Ok(());
            }
            message = session.inbox.next() => {
                let message = message.map_err(|missed| subscription_ended(link, missed))?;
                receive(link, inbound, conn, &message, &mut own_beat).await?;
            }
            () = link.wake.notified() => announce(link, inbound, conn).await?,
            Some(first) = outgoing.recv() => {
                // Interest first: a process learns of a member before the pushes sent after it
                // joined.
                announce(link, inbound, conn).await?;
                send(link, conn, first, outgoing).await?;
            }
            _ = beat.tick() => {
                // A heartbeat of our own that does not come back means the subscription is dead
                // though its socket may look open.
                if own_beat.elapsed() >= link.node_timeout() {
                    return Err(lost("this process's heartbeats stopped coming back"));
                }
                link.view_mut().expire(Instant::now(), link.node_timeout());
                say(conn, link, &Control::Beat { node: link.node }).await?;
            }
        }
    }
}

/// Tells the others what changed in this process's interest since it last did.
async fn announce(
    link: &Link,
    inbound: &Inbound,
    conn: &mut MultiplexedConnection,
) -> RedisResult<()> {
    let control = match link.take_pending() {
        None => return Ok(()),
        Some(Flush::Changes { added, removed }) => Control::Changes {
            node: link.node,
            added,
            removed,
        },
        Some(Flush::State) => state(link, inbound),
    };
    say(conn, link, &control).await
}

/// Reads the retained values the other processes kept while this one was away.
async fn load_retained(
    link: &Link,
    hub: &dyn Local,
    conn: &mut MultiplexedConnection,
) -> RedisResult<()> {
    let retained: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
        .arg(&link.keys.retained)
        .query_async(conn)
        .await?;
    for frame in retained.values().filter_map(|bytes| Frame::decode(bytes)) {
        if let Some(route) = frame.route(link.node) {
            hub.deliver(route, frame.message.clone());
        }
    }
    Ok(())
}

/// Sends the first queued push and whatever else is queued, up to a pipeline's worth.
async fn send(
    link: &Link,
    conn: &mut MultiplexedConnection,
    first: Outgoing,
    outgoing: &mut mpsc::Receiver<Outgoing>,
) -> RedisResult<()> {
    let mut batch = vec![first];
    while batch.len() < MAX_PIPELINE {
        match outgoing.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    let mut pipe = redis::pipe();
    for push in &batch {
        if let Some(topic) = &push.retain {
            pipe.cmd("HSET")
                .arg(&link.keys.retained)
                .arg(&**topic)
                .arg(&*push.frame)
                .ignore();
        }
        pipe.cmd("PUBLISH").arg(&*push.channel).arg(&*push.frame);
    }
    match pipe.query_async::<Vec<i64>>(conn).await {
        Ok(receivers) => {
            // Nobody subscribed to a process's channel: that process has gone.
            let unreached = batch.iter().zip(receivers);
            link.lose(
                unreached
                    .filter(|(push, n)| push.retain.is_none() && *n == 0)
                    .count(),
            );
            Ok(())
        }
        Err(err) => {
            link.lose(batch.len());
            Err(err)
        }
    }
}

async fn receive(
    link: &Link,
    inbound: &Inbound,
    conn: &mut MultiplexedConnection,
    message: &Msg,
    own_beat: &mut Instant,
) -> RedisResult<()> {
    let payload = message.get_payload_bytes();
    if message.get_channel_name() != &*link.keys.control {
        let Some(frame) = Frame::decode(payload) else {
            tracing::debug!("Redis broker: ignored a message that is not a push");
            return Ok(());
        };
        // Our own retained publishes come back on the channel every process hears.
        if frame.origin != link.node
            && let (Some(route), Some(hub)) = (frame.route(link.node), inbound.hub())
        {
            hub.deliver(route, frame.message.clone());
        }
        return Ok(());
    }
    let Ok(control) = serde_json::from_slice::<Control>(payload) else {
        tracing::debug!("Redis broker: ignored a control message it cannot read");
        return Ok(());
    };
    if control.node() == link.node {
        if let Control::Beat { .. } = control {
            *own_beat = Instant::now();
        }
        return Ok(());
    }
    let now = Instant::now();
    let reply = match control {
        Control::Hello { node, names } => {
            link.view_mut()
                .replace(node, link.keys.node(node), names, now);
            Some(state(link, inbound))
        }
        Control::State { node, names } => {
            link.view_mut()
                .replace(node, link.keys.node(node), names, now);
            None
        }
        Control::Changes {
            node,
            added,
            removed,
        } => {
            let mut view = link.view_mut();
            if view.seen(node, now) {
                view.change(node, removed, added);
            }
            None
        }
        Control::Beat { node } => (!link.view_mut().seen(node, now)).then_some(Control::Ask {
            node: link.node,
            of: node,
        }),
        Control::Ask { of, .. } => (of == link.node).then(|| state(link, inbound)),
        Control::Bye { node } => {
            link.view_mut().remove(node);
            None
        }
    };
    match reply {
        Some(reply) => say(conn, link, &reply).await,
        None => Ok(()),
    }
}

/// All this process has members in.
fn state(link: &Link, inbound: &Inbound) -> Control {
    Control::State {
        node: link.node,
        names: inbound
            .hub()
            .map(|hub| local_names(&*hub))
            .unwrap_or_default(),
    }
}

fn local_names(hub: &dyn Local) -> Names {
    Names {
        groups: hub.local_names(Kind::Group),
        topics: hub.local_names(Kind::Topic),
    }
}

async fn say(conn: &mut MultiplexedConnection, link: &Link, control: &Control) -> RedisResult<()> {
    let payload = serde_json::to_vec(control).expect("control messages serialize");
    redis::cmd("PUBLISH")
        .arg(&*link.keys.control)
        .arg(payload)
        .exec_async(conn)
        .await
}

/// Why a subscription ended: the connection closed, or (`missed` > 0) this process fell so far
/// behind that messages were dropped, which are counted.
fn subscription_ended(link: &Link, missed: usize) -> RedisError {
    if missed == 0 {
        return lost("the subscription connection closed");
    }
    link.miss(missed);
    tracing::warn!(
        missed,
        max_received = link.max_received,
        "Redis broker: this process fell behind the messages from Redis and dropped some; \
         subscribing again"
    );
    lost("fell behind the messages from Redis")
}

fn lost(why: &'static str) -> RedisError {
    RedisError::from((redis::ErrorKind::Io, why))
}
