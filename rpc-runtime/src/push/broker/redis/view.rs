//! What this process knows of the others: which are alive, and where each group and topic has
//! members, so that a push goes only to the processes that need it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::Kind;
use super::wire::Names;

#[derive(Default)]
pub(super) struct View {
    nodes: HashMap<u64, Node>,
    /// For each group and topic, the channels of the nodes with members in it.
    groups: HashMap<Arc<str>, Vec<Arc<str>>>,
    topics: HashMap<Arc<str>, Vec<Arc<str>>>,
}

struct Node {
    /// Where pushes to this node go.
    channel: Arc<str>,
    seen: Instant,
    groups: HashSet<Arc<str>>,
    topics: HashSet<Arc<str>>,
}

impl Node {
    fn names(&mut self, kind: Kind) -> &mut HashSet<Arc<str>> {
        match kind {
            Kind::Group => &mut self.groups,
            Kind::Topic => &mut self.topics,
        }
    }
}

impl View {
    fn index(&self, kind: Kind) -> &HashMap<Arc<str>, Vec<Arc<str>>> {
        match kind {
            Kind::Group => &self.groups,
            Kind::Topic => &self.topics,
        }
    }

    fn index_mut(&mut self, kind: Kind) -> &mut HashMap<Arc<str>, Vec<Arc<str>>> {
        match kind {
            Kind::Group => &mut self.groups,
            Kind::Topic => &mut self.topics,
        }
    }

    /// The channels of the nodes with members in the group or topic.
    pub(super) fn channels(&self, kind: Kind, name: &str) -> &[Arc<str>] {
        self.index(kind).get(name).map_or(&[], Vec::as_slice)
    }

    /// The groups or topics with members on some node.
    pub(super) fn names(&self, kind: Kind) -> Vec<Arc<str>> {
        self.index(kind).keys().cloned().collect()
    }

    pub(super) fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Marks `node` alive; `false` if it was unknown (nothing is known of its members yet).
    pub(super) fn seen(&mut self, node: u64, now: Instant) -> bool {
        self.nodes.get_mut(&node).map(|n| n.seen = now).is_some()
    }

    /// Replaces all that is known of `node`.
    pub(super) fn replace(&mut self, node: u64, channel: Arc<str>, names: Names, now: Instant) {
        self.remove(node);
        self.nodes.insert(
            node,
            Node {
                channel,
                seen: now,
                groups: HashSet::new(),
                topics: HashSet::new(),
            },
        );
        self.change(node, Names::default(), names);
    }

    /// Applies what `node` says changed; ignored for a node not known yet (its `State` will
    /// carry it).
    pub(super) fn change(&mut self, node: u64, removed: Names, added: Names) {
        for (kind, names, present) in [
            (Kind::Group, removed.groups, false),
            (Kind::Topic, removed.topics, false),
            (Kind::Group, added.groups, true),
            (Kind::Topic, added.topics, true),
        ] {
            for name in names {
                self.set(node, kind, name, present);
            }
        }
    }

    fn set(&mut self, node: u64, kind: Kind, name: Arc<str>, present: bool) {
        let Some(entry) = self.nodes.get_mut(&node) else {
            return;
        };
        let channel = entry.channel.clone();
        let changed = if present {
            entry.names(kind).insert(name.clone())
        } else {
            entry.names(kind).remove(&name)
        };
        if !changed {
            return;
        }
        let index = self.index_mut(kind);
        if present {
            index.entry(name).or_default().push(channel);
        } else {
            unindex(index, &name, &channel);
        }
    }

    /// Forgets `node` and its members.
    pub(super) fn remove(&mut self, node: u64) {
        let Some(entry) = self.nodes.remove(&node) else {
            return;
        };
        for (kind, names) in [(Kind::Group, entry.groups), (Kind::Topic, entry.topics)] {
            let index = self.index_mut(kind);
            for name in names {
                unindex(index, &name, &entry.channel);
            }
        }
    }

    /// Forgets the nodes silent for `timeout`: a process that died without saying goodbye
    /// leaves no ghost members behind. Answers how many went.
    pub(super) fn expire(&mut self, now: Instant, timeout: Duration) -> usize {
        let silent: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, node)| now.duration_since(node.seen) >= timeout)
            .map(|(&id, _)| id)
            .collect();
        for &node in &silent {
            self.remove(node);
        }
        silent.len()
    }
}

/// Takes `channel` off the name's list, and the name once nobody has members in it.
fn unindex(index: &mut HashMap<Arc<str>, Vec<Arc<str>>>, name: &str, channel: &Arc<str>) {
    if let Some(channels) = index.get_mut(name) {
        channels.retain(|c| c != channel);
        if channels.is_empty() {
            index.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(groups: &[&str]) -> Names {
        Names {
            groups: groups.iter().map(|&g| Arc::from(g)).collect(),
            topics: Vec::new(),
        }
    }

    #[test]
    fn pushes_go_only_where_members_are() {
        let now = Instant::now();
        let mut view = View::default();
        view.replace(1, "n1".into(), names(&["a", "b"]), now);
        view.replace(2, "n2".into(), names(&["b"]), now);
        assert_eq!(view.channels(Kind::Group, "a"), [Arc::from("n1")]);
        assert_eq!(view.channels(Kind::Group, "b").len(), 2);
        assert!(view.channels(Kind::Topic, "a").is_empty());

        view.change(1, names(&["a"]), names(&["c"]));
        assert!(view.channels(Kind::Group, "a").is_empty());
        assert_eq!(view.channels(Kind::Group, "c"), [Arc::from("n1")]);
        // A second `State` replaces, it does not add.
        view.replace(2, "n2".into(), names(&["d"]), now);
        assert_eq!(view.channels(Kind::Group, "b"), [Arc::from("n1")]);
    }

    #[test]
    fn silent_nodes_leave_no_ghosts() {
        let start = Instant::now();
        let mut view = View::default();
        view.replace(1, "n1".into(), names(&["a"]), start);
        view.replace(2, "n2".into(), names(&["a"]), start);
        let later = start + Duration::from_secs(4);
        assert!(view.seen(2, later));
        assert!(!view.seen(3, later));
        assert_eq!(
            view.expire(start + Duration::from_secs(5), Duration::from_secs(5)),
            1
        );
        assert_eq!(view.channels(Kind::Group, "a"), [Arc::from("n2")]);
        assert_eq!(view.nodes(), 1);
        view.remove(2);
        assert!(view.names(Kind::Group).is_empty());
    }
}
