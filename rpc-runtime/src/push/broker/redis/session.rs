//! The task that talks to Redis for one hub: subscribes this process to the channels of the
//! groups and topics it has members in, publishes the queued pushes and writes memberships in
//! order, delivers what comes back, keeps this process alive in the nodes' set and clears the
//! dead ones', and reconnects with backoff when Redis goes away. On a Redis Cluster it does
//! the same on every master at once (`shards`), and starts over when the cluster changes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use futures_util::future::try_join_all;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionInfo, Msg, RedisError, RedisResult, Value};
use tokio::sync::mpsc;
use tokio::time::{MissedTickBehavior, interval, sleep, timeout};

use super::super::{Inbound, Kind, Local, Route};
use super::inbox::{Inbox, Incoming, inbox};
use super::link::{Flush, Link, Outgoing};
use super::members::{member_of, member_value};
use super::recovery;
use super::scripts;
use super::shards::{Batch, Shards, Target};
use super::wire::{Frame, encode_frame};
use crate::protocol::encode_notification;
use crate::push::presence::{LEFT, presence_event};
use crate::push::{History, PushError};

/// How long connecting, and each answer from Redis, may take.
const TIMEOUT: Duration = Duration::from_secs(2);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The most steps sent in one round trip.
const MAX_PIPELINE: usize = 256;

/// Two connections to each master (one, on a single Redis): one for commands, one for the
/// subscriptions.
pub(super) struct Session {
    shards: Arc<Shards>,
    /// The subscriptions' connections, one per master in the order of `shards`; their
    /// messages all go to `inbox`, and they end with it.
    subscribers: Vec<MultiplexedConnection>,
    inbox: Inbox,
    /// The channels subscribed to, besides this process's own.
    subscribed: HashSet<Arc<str>>,
    /// On a cluster, this session's `SUNSUBSCRIBE`s not yet confirmed, so that one Redis sends
    /// unasked (a slot moved to another master) is told apart from them.
    unsubscribing: HashMap<Arc<str>, usize>,
}

impl Session {
    pub(super) async fn open(
        target: &Target,
        known: &[ConnectionInfo],
        link: &Link,
    ) -> RedisResult<Session> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let shards = Arc::new(Shards::open(target, known, &config).await?);
        let (sender, inbox) = inbox(link.max_received);
        let mut subscribers = shards.connect(&config.set_push_sender(sender)).await?;
        let own = &*link.keys.own;
        redis::cmd(shards.subscribe())
            .arg(own)
            .exec_async(&mut subscribers[shards.of(own)])
            .await?;
        *link.reader.lock().unwrap_or_else(PoisonError::into_inner) = Some(shards.clone());
        Ok(Session {
            shards,
            subscribers,
            inbox,
            subscribed: HashSet::new(),
            unsubscribing: HashMap::new(),
        })
    }

    /// Whether a sharded unsubscribe is the confirmation of one of this session's own.
    fn asked(&mut self, channel: &[u8]) -> bool {
        let Ok(channel) = std::str::from_utf8(channel) else {
            return false;
        };
        match self.unsubscribing.get_mut(channel) {
            None => false,
            Some(&mut 1) => {
                self.unsubscribing.remove(channel);
                true
            }
            Some(pending) => {
                *pending -= 1;
                true
            }
        }
    }
}

/// Serves sessions until the hub is dropped, opening a new one whenever Redis is lost.
pub(super) async fn run(
    link: Arc<Link>,
    target: Target,
    inbound: Inbound,
    mut outgoing: mpsc::Receiver<Outgoing>,
    first: Session,
) {
    // A cluster's masters as last seen: where to look for it if the seeds no longer answer.
    let mut known = first.shards.masters().to_vec();
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
                match Session::open(&target, &known, &link).await {
                    Ok(session) => {
                        tracing::info!("Redis broker: reconnected");
                        known = session.shards.masters().to_vec();
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
        *link.reader.lock().unwrap_or_else(PoisonError::into_inner) = None;
        link.release();
        // What the hub handed over and Redis never took: this process's members get it here.
        let mut dropped = Vec::new();
        while let Ok(step) = outgoing.try_recv() {
            dropped.push(step);
        }
        fail(&link, &inbound, dropped);
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
    heartbeat(link, inbound, &mut session, true).await?;
    resync(link, inbound, &mut session).await?;
    link.connected.store(true, Ordering::Release);

    let mut beat = interval(link.heartbeat);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    beat.reset();
    loop {
        tokio::select! {
            () = link.closed.cancelled() => {
                close(link, inbound, outgoing, &session.shards).await;
                return Ok(());
            }
            incoming = session.inbox.next() => {
                match incoming.map_err(|missed| subscription_ended(link, missed))? {
                    Incoming::Message(message) => receive(link, inbound, &message),
                    Incoming::Unsubscribed(channel) if !session.asked(&channel) => {
                        return Err(lost("a slot moved to another master of the cluster"));
                    }
                    Incoming::Unsubscribed(_) => {}
                }
            }
            () = link.wake.notified() => {
                if let Some(flush) = link.take_pending() {
                    match flush {
                        Flush::Changes(changes) => {
                            subscribe(link, inbound, &mut session, changes).await?;
                        }
                        Flush::State => resync(link, inbound, &mut session).await?,
                    }
                }
            }
            Some(first) = outgoing.recv() => {
                send(link, inbound, &session.shards, first, outgoing).await?;
            }
            _ = beat.tick() => heartbeat(link, inbound, &mut session, false).await?,
        }
    }
}

/// Subscribes to what gained its first member here and unsubscribes from what lost its last,
/// then lets the joiners waiting for those names return.
async fn subscribe(
    link: &Link,
    inbound: &Inbound,
    session: &mut Session,
    changes: Vec<(Kind, Arc<str>, bool)>,
) -> RedisResult<()> {
    let mut on = Vec::new();
    let mut off = Vec::new();
    for (kind, name, present) in &changes {
        let channel = link.keys.channel(*kind, name);
        match (*present, session.subscribed.contains(&channel)) {
            (true, false) => on.push((*kind, name.clone(), channel)),
            (false, true) => off.push(channel),
            _ => {}
        }
    }
    let shards = session.shards.clone();
    for chunk in on.chunks(MAX_PIPELINE) {
        // One channel per command: the redis crate pairs each confirmation with a command.
        let mut batch = shards.batch_on(&session.subscribers);
        for (_, _, channel) in chunk {
            batch.on(channel).cmd(shards.subscribe()).arg(&**channel);
        }
        batch.exec().await?;
        session
            .subscribed
            .extend(chunk.iter().map(|(_, _, channel)| channel.clone()));
    }
    unsubscribe(session, &off).await?;
    // Any topic may hold a retained value (`Hub::publish_retained`): its first subscriber
    // here is sent it.
    if let Some(hub) = inbound.hub() {
        let topics = on.iter().filter(|(kind, _, _)| *kind == Kind::Topic);
        let topics: Vec<&Arc<str>> = topics.map(|(_, name, _)| name).collect();
        load_retained(link, &*hub, &shards, &topics).await?;
    }
    for (kind, name, present) in &changes {
        if *present {
            link.subscribed(*kind, name);
        }
    }
    Ok(())
}

async fn unsubscribe(session: &mut Session, channels: &[Arc<str>]) -> RedisResult<()> {
    let shards = &session.shards;
    for chunk in channels.chunks(MAX_PIPELINE) {
        let mut batch = shards.batch_on(&session.subscribers);
        for channel in chunk {
            batch.on(channel).cmd(shards.unsubscribe()).arg(&**channel);
            session.subscribed.remove(channel);
            if shards.sharded() {
                *session.unsubscribing.entry(channel.clone()).or_default() += 1;
            }
        }
        batch.exec().await?;
    }
    Ok(())
}

/// Redoes everything from this process's members: the subscriptions, and its memberships in
/// Redis (cleared, then written anew), after a reconnect or when changes piled up.
async fn resync(link: &Link, inbound: &Inbound, session: &mut Session) -> RedisResult<()> {
    let Some(hub) = inbound.hub() else {
        return Ok(());
    };
    // Changes made before the state below is read are in it; those made after follow it.
    link.take_pending();
    let mut changes: Vec<(Kind, Arc<str>, bool)> = Vec::new();
    let mut wanted = HashSet::new();
    for kind in [Kind::Group, Kind::Topic] {
        for name in hub.local_names(kind) {
            wanted.insert(link.keys.channel(kind, &name));
            changes.push((kind, name, true));
        }
    }
    // Every membership change told before the state is read is in it.
    let told = link.told();
    let members = hub.local_members();
    drop(hub);
    let stale: Vec<Arc<str>> = session
        .subscribed
        .iter()
        .filter(|channel| !wanted.contains(*channel))
        .cloned()
        .collect();
    subscribe(link, inbound, session, changes).await?;
    unsubscribe(session, &stale).await?;

    let node = &link.keys.node;
    let shards = &session.shards;
    clear(link, shards, node, None).await?;
    for chunk in members.chunks(MAX_PIPELINE) {
        let mut batch = shards.batch();
        for (group, members) in chunk {
            let key = link.keys.members(group);
            for (id, info) in members {
                let value = member_value(node, info.as_deref());
                batch.on(&key).hset(&key, id.to_string(), value);
            }
            let groups = &link.keys.own_groups;
            batch.on(groups).sadd(groups, &**group);
        }
        batch.exec().await?;
    }
    link.written_up_to(told);
    Ok(())
}

/// Reads the retained values of topics this process has just subscribed to: their first
/// subscribers here get them. The numbers sort them out against the publishes that come
/// through the channel meanwhile.
async fn load_retained(
    link: &Link,
    hub: &dyn Local,
    shards: &Shards,
    topics: &[&Arc<str>],
) -> RedisResult<()> {
    let mut batch = shards.batch();
    for topic in topics {
        let key = link.keys.retained(topic);
        batch.on(&key).hget(&key, "frame");
    }
    let frames: Vec<Option<Vec<u8>>> = batch.query().await?;
    for frame in frames
        .iter()
        .flatten()
        .filter_map(|bytes| Frame::decode(bytes))
    {
        if let Some(route) = frame.route(link.node) {
            hub.deliver(route, frame.message.clone());
        }
    }
    Ok(())
}

/// Sends the first queued step and whatever else is queued, up to a pipeline's worth.
async fn send(
    link: &Link,
    inbound: &Inbound,
    shards: &Shards,
    first: Outgoing,
    outgoing: &mut mpsc::Receiver<Outgoing>,
) -> RedisResult<()> {
    let mut steps = vec![first];
    while steps.len() < MAX_PIPELINE {
        match outgoing.try_recv() {
            Ok(next) => steps.push(next),
            Err(_) => break,
        }
    }
    let mut batch = shards.batch();
    let mut written = None;
    // Where each step's first answer will be, for the steps whose answers are read.
    let mut answer_at = Vec::with_capacity(steps.len());
    for step in &steps {
        answer_at.push(batch.len());
        if let Outgoing::Membership { seq, .. } = step {
            written = Some(*seq);
        }
        add(&mut batch, link, shards, step);
    }
    let mut answers = match batch.query::<Value>().await {
        Ok(answers) => answers,
        Err(err) => {
            fail(link, inbound, steps);
            link.resync();
            return Err(err);
        }
    };
    let hub = inbound.hub();
    let mut unreached = 0;
    for (step, at) in steps.into_iter().zip(answer_at) {
        match step {
            // Nobody subscribed to a process's channel: that process has gone.
            Outgoing::Publish { direct: true, .. } => {
                unreached += usize::from(answers[at] == Value::Int(0));
            }
            // Handed to the hub before any later push from Redis is delivered: the member's
            // floor is where the read found the stream, and Redis brings back only later ones
            // or ones the read holds.
            Outgoing::Recover {
                kind,
                name,
                id,
                since,
                keep,
                answer: reply,
            } => {
                let answer = std::mem::replace(&mut answers[at], Value::Nil);
                let read =
                    recovery::read(answer, since.as_ref(), keep).map(|(recovery, missed)| {
                        if let Some(hub) = &hub {
                            hub.resume(kind, &name, id, missed, recovery.position.offset);
                        }
                        recovery
                    });
                let _ = reply.send(read.map_err(|err| PushError::Broker(err.to_string())));
            }
            Outgoing::Flush(done) => {
                let _ = done.send(());
            }
            _ => {}
        }
    }
    link.lose(unreached);
    if let Some(seq) = written {
        link.written_up_to(seq);
    }
    Ok(())
}

/// Adds the commands of one step to `batch`; the first of them answers for the step.
fn add(batch: &mut Batch<'_>, link: &Link, shards: &Shards, step: &Outgoing) {
    match step {
        Outgoing::Publish { channel, frame, .. } => {
            batch
                .on(channel)
                .cmd(shards.publish())
                .arg(&**channel)
                .arg(&**frame);
        }
        Outgoing::Retain {
            channel,
            key,
            head,
            tail,
        } => {
            batch
                .on(key)
                .cmd("EVAL")
                .arg(scripts::RETAIN)
                .arg(1)
                .arg(key)
                .arg(head)
                .arg(tail)
                .arg(&**channel)
                .arg(shards.publish());
        }
        Outgoing::Append {
            channel,
            stream,
            history,
            head,
            tail,
            keep,
        } => {
            batch
                .on(stream)
                .cmd("EVAL")
                .arg(scripts::APPEND)
                .arg(2)
                .arg(stream)
                .arg(history)
                .arg(head)
                .arg(tail)
                .arg(&**channel)
                .arg(shards.publish())
                .arg(keep.size)
                .arg(millis(keep.ttl))
                .arg(link.new_epoch());
        }
        Outgoing::Recover {
            kind, name, since, ..
        } => {
            let stream = link.keys.stream(*kind, name);
            let after = since.as_ref().map(|since| since.offset.to_string());
            batch
                .on(&stream)
                .cmd("EVAL")
                .arg(scripts::READ)
                .arg(2)
                .arg(&stream)
                .arg(link.keys.history(*kind, name))
                .arg(after.unwrap_or_default())
                .arg(link.new_epoch());
        }
        Outgoing::Membership {
            group,
            id,
            present,
            edge,
            info,
            ..
        } => {
            let key = link.keys.members(group);
            let groups = &link.keys.own_groups;
            if *present {
                let value = member_value(&link.keys.node, info.as_deref());
                batch.on(&key).hset(&key, id.to_string(), value);
                if *edge {
                    batch.on(groups).sadd(groups, &**group);
                }
            } else {
                batch.on(&key).hdel(&key, id.to_string());
                if *edge {
                    batch.on(groups).srem(groups, &**group);
                }
            }
        }
        Outgoing::Flush(_) => {}
    }
}

/// Steps Redis never took: their pushes are delivered to this process's members here
/// (unnumbered), and counted as lost for the others; members coming back are told that their
/// recovery failed.
fn fail(link: &Link, inbound: &Inbound, steps: Vec<Outgoing>) {
    let hub = inbound.hub();
    let mut pushes = 0;
    for step in steps {
        let frame = match step {
            Outgoing::Publish { frame, .. } => Frame::decode(&frame),
            // Number 0: unnumbered, so that Redis's next number still wins.
            Outgoing::Retain { head, tail, .. } | Outgoing::Append { head, tail, .. } => {
                Frame::decode(format!("{head}.0{tail}").as_bytes())
            }
            Outgoing::Recover { answer, .. } => {
                let _ = answer.send(Err(PushError::Broker("lost Redis".into())));
                continue;
            }
            // Dropped, the flush returns: what it waited for is lost, or delivered here.
            Outgoing::Membership { .. } | Outgoing::Flush(_) => continue,
        };
        pushes += 1;
        let (Some(frame), Some(hub)) = (frame, &hub) else {
            continue;
        };
        let route = match frame.route(link.node) {
            Some(Route::Numbered { kind, name, .. }) => Route::plain(kind, name),
            Some(route @ (Route::Group(_) | Route::Topic(_) | Route::Retained { .. })) => route,
            Some(Route::Connection(_)) | None => continue,
        };
        hub.deliver(route, frame.message.clone());
    }
    link.lose(pushes);
}

/// A duration as Redis takes it, in whole milliseconds.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn receive(link: &Link, inbound: &Inbound, message: &Msg) {
    let Some(frame) = Frame::decode(message.get_payload_bytes()) else {
        tracing::debug!("Redis broker: ignored a message that is not a push");
        return;
    };
    if let (Some(route), Some(hub)) = (frame.route(link.node), inbound.hub()) {
        hub.deliver(route, frame.message.clone());
    }
}

/// Marks this process alive, clears the processes found dead, and checks that the
/// subscription connection still answers (its socket may look open when it is not). A
/// process the others took out (it was silent too long) writes its memberships anew.
async fn heartbeat(
    link: &Link,
    inbound: &Inbound,
    session: &mut Session,
    first: bool,
) -> RedisResult<()> {
    let timeout = millis(link.node_timeout());
    let shards = &session.shards;
    let (added, live, dead): (i64, usize, Vec<String>) = redis::cmd("EVAL")
        .arg(scripts::HEARTBEAT)
        .arg(1)
        .arg(&link.keys.nodes)
        .arg(&link.keys.node)
        .arg(timeout)
        .query_async(&mut shards.conn(&link.keys.nodes))
        .await?;
    link.other_nodes
        .store(live.saturating_sub(1), Ordering::Relaxed);
    if added == 1 && !first {
        tracing::warn!("Redis broker: the other processes took this one for dead; rejoining");
        link.resync();
    }
    let events = inbound.hub().and_then(|hub| {
        let keep = hub.group_history();
        hub.presence_events().then_some(Told { keep })
    });
    for node in dead {
        clear(link, shards, &node, events).await?;
    }
    let pings = session.subscribers.iter().map(|subscriber| {
        let mut subscriber = subscriber.clone();
        async move { redis::cmd("PING").exec_async(&mut subscriber).await }
    });
    try_join_all(pings).await.map(drop)
}

/// Takes `node`'s connections out of every group they were in, telling each group of each
/// one that left if `events`.
/// How the members of a dead process's groups are told that it left: with the group's history
/// kept, numbered with the rest.
#[derive(Clone, Copy)]
struct Told {
    keep: Option<History>,
}

async fn clear(link: &Link, shards: &Shards, node: &str, events: Option<Told>) -> RedisResult<()> {
    let groups_key = link.keys.groups_of(node);
    let mut conn = shards.conn(&groups_key);
    let groups: Vec<String> = redis::cmd("SMEMBERS")
        .arg(&groups_key)
        .query_async(&mut conn)
        .await?;
    for chunk in groups.chunks(MAX_PIPELINE) {
        let mut read = shards.batch();
        for group in chunk {
            let key = link.keys.members(group);
            read.on(&key).hgetall(&key);
        }
        let members: Vec<HashMap<String, String>> = read.query().await?;
        let mut write = shards.batch();
        for (group, members) in chunk.iter().zip(members) {
            let key = link.keys.members(group);
            for (id, value) in &members {
                let (of, info) = member_of(value);
                if of != node {
                    continue;
                }
                write.on(&key).hdel(&key, id);
                if let (Some(told), Ok(id)) = (events, id.parse()) {
                    let left = presence_event(group, id, info);
                    let Ok(message) = encode_notification(LEFT, &left) else {
                        continue;
                    };
                    let channel = link.keys.channel(Kind::Group, group);
                    let step = match told.keep {
                        Some(keep) => link.append_step(Kind::Group, group, keep, &message),
                        None => Outgoing::Publish {
                            channel,
                            frame: encode_frame(link.node, Route::Group(group), &message),
                            direct: false,
                        },
                    };
                    add(&mut write, link, shards, &step);
                }
            }
        }
        write.exec().await?;
    }
    redis::cmd("DEL")
        .arg(&groups_key)
        .exec_async(&mut conn)
        .await
}

/// The hub is gone. What it handed over is still sent: a publish that returned is not lost
/// because its hub was dropped right after (the last items of a job that publishes and ends).
/// Then goodbye, so that the others need not wait for this process to go silent. Redis gets a
/// node timeout for all of it, no more.
async fn close(
    link: &Link,
    inbound: &Inbound,
    outgoing: &mut mpsc::Receiver<Outgoing>,
    shards: &Shards,
) {
    let sent = async {
        while let Ok(first) = outgoing.try_recv() {
            send(link, inbound, shards, first, outgoing).await?;
        }
        bye(link, shards).await
    };
    match timeout(link.node_timeout(), sent).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(%err, "Redis broker: lost Redis while closing"),
        Err(_) => tracing::warn!("Redis broker: Redis did not answer while closing"),
    }
}

async fn bye(link: &Link, shards: &Shards) -> RedisResult<()> {
    redis::cmd("ZREM")
        .arg(&link.keys.nodes)
        .arg(&link.keys.node)
        .exec_async(&mut shards.conn(&link.keys.nodes))
        .await?;
    clear(link, shards, &link.keys.node, None).await
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
