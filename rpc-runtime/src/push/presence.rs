//! Who is in a group, as [`Hub::presence`](crate::Hub::presence) answers it.

use serde::Serialize;
use serde_json::{Value, json};

use crate::ConnectionId;

/// One member of a group: its connection, and what it joined with.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openrpc", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Presence {
    /// The member's connection, on whichever process holds it.
    pub id: ConnectionId,
    /// What [`Hub::join_with`](crate::Hub::join_with) was given; `None` after a plain
    /// [`join`](crate::Hub::join).
    pub info: Option<Value>,
}

/// The presence events' methods: see
/// [`HubBuilder::presence_events`](crate::HubBuilder::presence_events).
pub(crate) const JOINED: &str = "rpc.joined";
pub(crate) const LEFT: &str = "rpc.left";

/// A presence event's params.
pub(crate) fn presence_event(group: &str, id: ConnectionId, info: Option<&str>) -> Value {
    let info = info.and_then(|info| serde_json::from_str::<Value>(info).ok());
    json!({ "group": group, "id": id, "info": info })
}

impl Presence {
    /// `info` as kept: JSON text, which the hub serialized itself.
    pub(crate) fn new(id: ConnectionId, info: Option<&str>) -> Self {
        Presence {
            id,
            info: info.and_then(|info| serde_json::from_str(info).ok()),
        }
    }
}
