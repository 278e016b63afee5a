//! The Redis names of one cluster, all under its prefix.
//!
//! A group's or topic's channel is `{PREFIX:g:NAME}` (`t` for a topic), and the keys that
//! belong to it (a group's members, a topic's retained value, a stream and its history) start
//! with the channel's name: the braces are a Redis Cluster hash tag, so that a channel and its
//! keys live on one shard.

use std::sync::Arc;

use super::super::Kind;

pub(super) struct Keys {
    prefix: String,
    /// The live processes: a sorted set of nodes (hex) scored by their last heartbeat.
    pub(super) nodes: String,
    /// This process's node, in hex, as the other keys spell it.
    pub(super) node: String,
    /// Pushes to this process's connections.
    pub(super) own: Arc<str>,
    /// The groups this process has members in: `groups_of` this node.
    pub(super) own_groups: String,
}

impl Keys {
    pub(super) fn new(prefix: &str, node: u64) -> Self {
        Keys {
            prefix: prefix.to_owned(),
            nodes: format!("{prefix}:nodes"),
            node: format!("{node:x}"),
            own: format!("{{{prefix}:node:{node:x}}}").into(),
            own_groups: format!("{{{prefix}:node:{node:x}}}:groups"),
        }
    }

    /// Where pushes to a group or topic go.
    pub(super) fn channel(&self, kind: Kind, name: &str) -> Arc<str> {
        let kind = match kind {
            Kind::Group => 'g',
            Kind::Topic => 't',
        };
        format!("{{{}:{kind}:{name}}}", self.prefix).into()
    }

    /// Where pushes to `node`'s connections go.
    pub(super) fn node_channel(&self, node: u64) -> Arc<str> {
        format!("{{{}:node:{node:x}}}", self.prefix).into()
    }

    /// A group's members on every process: a hash of connection id to node.
    pub(super) fn members(&self, group: &str) -> String {
        format!("{}:members", self.channel(Kind::Group, group))
    }

    /// A topic's retained value and its number: a hash with `frame` and `seq`.
    pub(super) fn retained(&self, topic: &str) -> String {
        format!("{}:retained", self.channel(Kind::Topic, topic))
    }

    /// A group's or topic's stream: a hash of its `epoch` and `top`, the offset of its last
    /// push. Never expires: the sets with history are few, and its loss starts a new epoch.
    pub(super) fn stream(&self, kind: Kind, name: &str) -> String {
        format!("{}:stream", self.channel(kind, name))
    }

    /// The pushes a group's or topic's stream keeps: a Redis stream whose entry ids are their
    /// offsets (`OFFSET-0`), each with its time (`t`) and frame (`f`).
    pub(super) fn history(&self, kind: Kind, name: &str) -> String {
        format!("{}:history", self.channel(kind, name))
    }

    /// The groups `node` (hex) has members in, which whoever finds it dead clears.
    pub(super) fn groups_of(&self, node: &str) -> String {
        format!("{{{}:node:{node}}}:groups", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_and_its_keys_share_a_hash_tag() {
        let keys = Keys::new("rpc", 0xab);
        assert_eq!(&*keys.channel(Kind::Group, "room"), "{rpc:g:room}");
        assert_eq!(keys.members("room"), "{rpc:g:room}:members");
        assert_eq!(keys.retained("news"), "{rpc:t:news}:retained");
        assert_eq!(keys.stream(Kind::Group, "room"), "{rpc:g:room}:stream");
        assert_eq!(keys.history(Kind::Topic, "log"), "{rpc:t:log}:history");
        assert_eq!(&*keys.own, "{rpc:node:ab}");
        assert_eq!(keys.groups_of(&keys.node), "{rpc:node:ab}:groups");
        assert_eq!(keys.own_groups, keys.groups_of(&keys.node));
        assert_eq!(keys.own, keys.node_channel(0xab));
    }
}
