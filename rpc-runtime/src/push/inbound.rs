//! The hub's side of the broker seam: what other processes send, delivered here.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::broker::{Kind, Local, Route};
use super::hub::Inner;
use super::registry::deliver;

impl Local for Inner {
    fn local_names(&self, kind: Kind) -> Vec<Arc<str>> {
        self.read().sets(kind).keys().cloned().collect()
    }

    fn deliver(&self, route: Route<'_>, message: Utf8Bytes) {
        match route {
            Route::Group(group) => {
                deliver(self.read().groups.get(group), &message);
            }
            Route::Topic(topic) => {
                deliver(self.read().subscribers.get(topic), &message);
            }
            Route::Retained(topic) => {
                // A topic this process does not declare has no subscribers here to keep it for;
                // a value it has already (read again after a reconnect) is not sent twice.
                if let Some(topic) = self.topics.get(topic) {
                    let mut registry = self.write();
                    if registry.retained.get(&topic.name) != Some(&message) {
                        registry.retain(&topic.name, message);
                    }
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
