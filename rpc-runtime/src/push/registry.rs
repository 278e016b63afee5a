//! Who is where on this process: the connections, the groups they joined, the topics they
//! subscribed to (and where in a topic's stream those that keep their position are), the
//! topics' retained values, and, without a broker, their history.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::broker::{Kind, Remote};
use super::history::Stream;
use super::{History, PushError, Recovery, StreamPosition};
use crate::peer::{Burst, Pushed};
use crate::{Connection, ConnectionId};

/// How often, at most, the streams are swept of what they no longer keep.
const SWEEP: Duration = Duration::from_secs(1);

/// Groups and topics are both named sets of connections; each connection also lists the sets
/// it is in, so that leaving them all on close costs what it joined.
pub(super) struct Registry {
    pub(super) connections: HashMap<ConnectionId, Member>,
    pub(super) groups: HashMap<Arc<str>, Members>,
    pub(super) subscribers: HashMap<Arc<str>, Members>,
    pub(super) retained: HashMap<Arc<str>, Retained>,
    /// By kind, the members of a topic or group that keep their position in its stream, each
    /// with its floor: only pushes numbered above it reach it (`u64::MAX`: none yet, while
    /// what it missed is being read), so that none arrives twice or out of order.
    pub(super) positioned: [HashMap<Arc<str>, HashMap<ConnectionId, u64>>; 2],
    /// By kind, without a broker, the streams of the topics and groups with history.
    streams: [HashMap<Arc<str>, Stream>; 2],
    /// When the streams were last swept.
    swept: Instant,
    /// Told when a set gains its first member here or loses its last, so that Redis routes its
    /// pushes here, and of every group membership; `None` without a broker.
    remote: Option<Arc<dyn Remote>>,
}

/// A topic's retained value, numbered so that an older one never replaces a newer one.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Retained {
    pub(super) seq: u64,
    pub(super) message: Utf8Bytes,
}

pub(super) type Members = HashMap<ConnectionId, Connection>;

pub(super) struct Member {
    pub(super) connection: Connection,
    groups: HashSet<Arc<str>>,
    topics: HashSet<Arc<str>>,
    /// What it joined groups with (`Hub::join_with`), as JSON text; empty after plain joins.
    infos: HashMap<Arc<str>, Arc<str>>,
}

impl Member {
    pub(super) fn new(connection: Connection) -> Self {
        Member {
            connection,
            groups: HashSet::new(),
            topics: HashSet::new(),
            infos: HashMap::new(),
        }
    }

    /// The groups or the topics the connection is in.
    fn names(&self, kind: Kind) -> &HashSet<Arc<str>> {
        match kind {
            Kind::Group => &self.groups,
            Kind::Topic => &self.topics,
        }
    }

    fn names_mut(&mut self, kind: Kind) -> &mut HashSet<Arc<str>> {
        match kind {
            Kind::Group => &mut self.groups,
            Kind::Topic => &mut self.topics,
        }
    }
}

impl Registry {
    pub(super) fn new(remote: Option<Arc<dyn Remote>>) -> Self {
        Registry {
            connections: HashMap::new(),
            groups: HashMap::new(),
            subscribers: HashMap::new(),
            retained: HashMap::new(),
            positioned: Default::default(),
            streams: Default::default(),
            swept: Instant::now(),
            remote,
        }
    }

    pub(super) fn sets(&self, kind: Kind) -> &HashMap<Arc<str>, Members> {
        match kind {
            Kind::Group => &self.groups,
            Kind::Topic => &self.subscribers,
        }
    }

    fn sets_mut(&mut self, kind: Kind) -> &mut HashMap<Arc<str>, Members> {
        match kind {
            Kind::Group => &mut self.groups,
            Kind::Topic => &mut self.subscribers,
        }
    }

    pub(super) fn add(
        &mut self,
        kind: Kind,
        name: &str,
        id: ConnectionId,
    ) -> Result<bool, PushError> {
        self.add_with(kind, name, id, None)
    }

    /// Adds a member; a group member may bring `info`, which a member already there replaces
    /// its own with.
    pub(super) fn add_with(
        &mut self,
        kind: Kind,
        name: &str,
        id: ConnectionId,
        info: Option<Arc<str>>,
    ) -> Result<bool, PushError> {
        let Registry {
            connections,
            groups,
            subscribers,
            remote,
            ..
        } = self;
        let member = connections
            .get_mut(&id)
            .ok_or(PushError::UnknownConnection(id))?;
        let sets = match kind {
            Kind::Group => groups,
            Kind::Topic => subscribers,
        };
        let Member {
            connection,
            groups: joined,
            topics: subscribed,
            infos,
        } = member;
        let names = match kind {
            Kind::Group => joined,
            Kind::Topic => subscribed,
        };
        if let Some(name) = names.get(name) {
            if let Some(info) = info {
                if let Some(remote) = remote {
                    remote.membership(name, id, true, false, Some(&info));
                }
                infos.insert(name.clone(), info);
            }
            return Ok(false);
        }
        // One allocation of the name, shared by the set and its members' lists.
        let (name, first) = match sets.get_key_value(name) {
            Some((name, _)) => (name.clone(), false),
            None => (Arc::from(name), true),
        };
        if let Some(remote) = remote {
            if first {
                remote.interest(kind, &name, true);
            }
            if kind == Kind::Group {
                remote.membership(&name, id, true, first, info.as_ref());
            }
        }
        if let Some(info) = info {
            infos.insert(name.clone(), info);
        }
        names.insert(name.clone());
        sets.entry(name).or_default().insert(id, connection.clone());
        Ok(true)
    }

    pub(super) fn remove(&mut self, kind: Kind, name: &str, id: ConnectionId) -> bool {
        let Some(member) = self.connections.get_mut(&id) else {
            return false;
        };
        let Some(name) = member.names_mut(kind).take(name) else {
            return false;
        };
        member.infos.remove(&name);
        self.drop_member(kind, &name, id);
        true
    }

    /// Takes a connection out of the registry and every group and topic it was in.
    /// Answers the groups it left, each with what it had joined with.
    pub(super) fn unregister(&mut self, id: ConnectionId) -> Vec<(Arc<str>, Option<Arc<str>>)> {
        let Some(member) = self.connections.remove(&id) else {
            return Vec::new();
        };
        let mut left = Vec::with_capacity(member.groups.len());
        for group in &member.groups {
            left.push((group.clone(), member.infos.get(group).cloned()));
            self.drop_member(Kind::Group, group, id);
        }
        for topic in &member.topics {
            self.drop_member(Kind::Topic, topic, id);
        }
        left
    }

    /// What a member joined `group` with.
    pub(super) fn info(&self, group: &str, id: ConnectionId) -> Option<Arc<str>> {
        self.connections.get(&id)?.infos.get(group).cloned()
    }

    /// Removes `id` from one set, and the set once it is empty, so names do not pile up.
    fn drop_member(&mut self, kind: Kind, name: &Arc<str>, id: ConnectionId) {
        let positioned = &mut self.positioned[kind as usize];
        if let Some(floors) = positioned.get_mut(&**name) {
            floors.remove(&id);
            if floors.is_empty() {
                positioned.remove(&**name);
            }
        }
        let remote = self.remote.clone();
        let sets = self.sets_mut(kind);
        let Some(members) = sets.get_mut(&**name) else {
            return;
        };
        members.remove(&id);
        let emptied = members.is_empty().then(|| sets.remove(&**name)).is_some();
        if emptied {
            if let Some(stream) = self.streams[kind as usize].get_mut(&**name) {
                stream.touch(Instant::now());
            }
        }
        let Some(remote) = remote else {
            return;
        };
        if kind == Kind::Group {
            remote.membership(name, id, false, emptied, None);
        }
        if emptied {
            remote.interest(kind, name, false);
            // Redis no longer tells this process of the topic's publishes: a value kept here
            // would go stale.
            self.retained.remove(&**name);
        }
    }

    pub(super) fn names_of(&self, kind: Kind, id: ConnectionId) -> Vec<String> {
        let Some(member) = self.connections.get(&id) else {
            return Vec::new();
        };
        sorted(member.names(kind).iter().map(|name| name.to_string()))
    }

    /// Adds a subscriber and sends it the topic's retained value, if any, at once.
    pub(super) fn subscribe(&mut self, topic: &str, id: ConnectionId) -> Result<bool, PushError> {
        let added = self.add(Kind::Topic, topic, id)?;
        if let (true, Some(retained), Some(member)) =
            (added, self.retained.get(topic), self.connections.get(&id))
        {
            member.connection.push(retained.message.clone());
        }
        Ok(added)
    }

    /// Delivers to the set's members here and keeps `message` as the topic's retained value,
    /// in one step, so a subscriber gets the retained value or this publish, never both and
    /// never neither. `seq` is Redis's number for it; `None` (without a broker, or with Redis
    /// away) keeps the number kept, so that Redis's next one still wins. A value older than
    /// the one kept, or the same one again, is neither kept nor delivered.
    pub(super) fn retain(
        &mut self,
        topic: &Arc<str>,
        seq: Option<u64>,
        message: Utf8Bytes,
    ) -> usize {
        let kept = self.retained.get(&**topic).map(|retained| retained.seq);
        let seq = match (seq, kept) {
            (Some(seq), Some(kept)) if seq <= kept => return 0,
            (Some(seq), _) => seq,
            // Redis's next number wins over one taken here while it was away.
            (None, kept) => kept.unwrap_or(0),
        };
        let reached = deliver(self.subscribers.get(&**topic), &message);
        self.retained
            .insert(topic.clone(), Retained { seq, message });
        reached
    }
}

impl Registry {
    /// Numbers and keeps a push to a topic or group with history (without a broker) and
    /// delivers it.
    pub(super) fn append(
        &mut self,
        kind: Kind,
        name: &str,
        history: History,
        message: &Utf8Bytes,
    ) -> usize {
        self.sweep();
        let streams = &mut self.streams[kind as usize];
        let stream = streams
            .entry(name.into())
            .or_insert_with(|| Stream::new(history));
        let (offset, numbered) = stream.append(message);
        self.deliver_numbered(kind, name, offset, message, &numbered)
    }

    /// Delivers push `offset` of a topic or group: `numbered` to the members that keep their
    /// position, once it is past their floor, `plain` to the others. Counts those it was queued
    /// for.
    pub(super) fn deliver_numbered(
        &self,
        kind: Kind,
        name: &str,
        offset: u64,
        plain: &Utf8Bytes,
        numbered: &Utf8Bytes,
    ) -> usize {
        let Some(members) = self.sets(kind).get(name) else {
            return 0;
        };
        let floors = self.positioned[kind as usize].get(name);
        let queued = members.iter().filter(|(id, connection)| {
            let message = match floors.and_then(|floors| floors.get(id)) {
                None => plain,
                Some(&floor) if offset > floor => numbered,
                Some(_) => return false,
            };
            connection.push(message.clone()) == Pushed::Queued
        });
        queued.count()
    }

    /// Adds `id` to a topic or group with history (without a broker), keeping its position:
    /// the pushes after `since` are queued first, if they are all still kept. One step under
    /// the hub's lock, so that none is missed or doubled between them and the live ones.
    pub(super) fn enter_from(
        &mut self,
        kind: Kind,
        name: &str,
        id: ConnectionId,
        info: Option<Arc<str>>,
        since: Option<&StreamPosition>,
        history: History,
    ) -> Result<(bool, Recovery), PushError> {
        self.sweep();
        let added = self.enter(kind, name, id, info)?;
        let streams = &mut self.streams[kind as usize];
        let stream = streams
            .entry(name.into())
            .or_insert_with(|| Stream::new(history));
        let missed = since.map(|since| stream.since(since));
        let position = stream.position();
        if let (Some(Some(missed)), Some(member)) = (&missed, self.connections.get(&id)) {
            for message in missed {
                member.connection.push(message.clone());
            }
        }
        self.position(kind, name, id, position.offset);
        let recovered = missed.map(|missed| missed.is_some());
        Ok((
            added,
            Recovery {
                position,
                recovered,
            },
        ))
    }

    /// Adds a subscriber to a topic (sending it the retained value) or a member, with `info`, to
    /// a group.
    pub(super) fn enter(
        &mut self,
        kind: Kind,
        name: &str,
        id: ConnectionId,
        info: Option<Arc<str>>,
    ) -> Result<bool, PushError> {
        match kind {
            Kind::Topic => self.subscribe(name, id),
            Kind::Group => self.add_with(kind, name, id, info),
        }
    }

    /// Marks a member of a topic or group as one that keeps its position, with its floor.
    pub(super) fn position(&mut self, kind: Kind, name: &str, id: ConnectionId, floor: u64) {
        // The set's own allocation of the name.
        if let Some((name, _)) = self.sets(kind).get_key_value(name) {
            let name = name.clone();
            let positioned = &mut self.positioned[kind as usize];
            positioned.entry(name).or_default().insert(id, floor);
        }
    }

    /// At most once a second, when pushes or joins come: forgets what the streams kept past
    /// their size or age, and the streams left empty whose set has had no member here for
    /// their `ttl`, so that the memory of sets gone quiet comes back.
    fn sweep(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.swept) < SWEEP {
            return;
        }
        self.swept = now;
        for kind in [Kind::Group, Kind::Topic] {
            let sets = match kind {
                Kind::Group => &self.groups,
                Kind::Topic => &self.subscribers,
            };
            self.streams[kind as usize]
                .retain(|name, stream| !stream.forgettable(now) || sets.contains_key(name));
        }
    }
}

/// Queues one encoded message for every member; counts those it was queued for.
pub(super) fn deliver(members: Option<&Members>, message: &Utf8Bytes) -> usize {
    reach_each(members, |connection| connection.push(message.clone()))
}

/// Queues a burst for every member, as one entry each; counts those it was queued for.
pub(super) fn deliver_burst(members: Option<&Members>, burst: &Arc<Burst>) -> usize {
    reach_each(members, |connection| connection.push_burst(burst))
}

fn reach_each(members: Option<&Members>, push: impl Fn(&Connection) -> Pushed) -> usize {
    let members = members.into_iter().flat_map(|members| members.values());
    members
        .filter(|&connection| push(connection) == Pushed::Queued)
        .count()
}

pub(super) fn sorted<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut items: Vec<T> = items.collect();
    items.sort_unstable();
    items
}
