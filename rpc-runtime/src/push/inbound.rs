//! The hub's side of the broker seam: what comes back from Redis, delivered here, and what the
//! broker reads of this process's members.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::broker::{Kind, Local, Member, Route};
use super::hub::Inner;
use super::registry::deliver;

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
}
