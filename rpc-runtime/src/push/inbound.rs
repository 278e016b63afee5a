//! The hub's side of the broker seam: what comes back from Redis, delivered here, and what the
//! broker reads of this process's members.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::History;
use super::broker::{Kind, Local, Member, Route};
use super::hub::Inner;
use super::registry::deliver;
use crate::ConnectionId;
use crate::protocol::with_offset;

impl Local for Inner {
    fn local_names(&self, kind: Kind) -> Vec<Arc<str>> {
        self.read().sets(kind).keys().cloned().collect()
    }

    fn local_members(&self) -> Vec<(Arc<str>, Vec<Member>)> {
        let registry = self.read();
        let groups = registry.sets(Kind::Group).iter();
        groups
            .map(|(name, members)| {
                let with_info = |&id| (id, registry.info(name, id));
                (name.clone(), members.keys().map(with_info).collect())
            })
            .collect()
    }

    fn presence_events(&self) -> bool {
        self.presence_events
    }

    fn group_history(&self) -> Option<History> {
        self.group_history
    }

    fn deliver(&self, route: Route<'_>, message: Utf8Bytes) {
        match route {
            Route::Group(group) => {
                deliver(self.read().groups.get(group), &message);
            }
            Route::Topic(topic) => {
                deliver(self.read().subscribers.get(topic), &message);
            }
            Route::Retained { topic, seq } => {
                // Kept only while this process has subscribers, who are why Redis sends it.
                let mut registry = self.write();
                if let Some((name, _)) = registry.subscribers.get_key_value(topic) {
                    let name = name.clone();
                    registry.retain(&name, (seq > 0).then_some(seq), message);
                }
            }
            Route::Numbered { kind, name, offset } => {
                let registry = self.read();
                // Numbered only for members that keep their position, if any here do.
                let numbered = registry.positioned[kind as usize]
                    .contains_key(name)
                    .then(|| Utf8Bytes::from(with_offset(&message, offset)));
                let numbered = numbered.as_ref().unwrap_or(&message);
                registry.deliver_numbered(kind, name, offset, &message, numbered);
            }
            Route::Connection(id) => {
                // Pushed outside the lock, as every push to one connection is.
                let connection = self
                    .read()
                    .connections
                    .get(&id)
                    .map(|member| member.connection.clone());
                if let Some(connection) = connection {
                    connection.push(message);
                }
            }
        }
    }

    fn resume(&self, kind: Kind, name: &str, id: ConnectionId, missed: Vec<Utf8Bytes>, floor: u64) {
        let mut registry = self.write();
        let member = registry.sets(kind).get(name).and_then(|m| m.get(&id));
        let Some(connection) = member else {
            return;
        };
        for message in missed {
            connection.push(message);
        }
        registry.position(kind, name, id, floor);
    }
}
