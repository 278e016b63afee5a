//! Connection ids: unique across the processes that share a broker, with a text form that
//! clients can be handed and give back.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Identifies one connection for its lifetime; unique across the processes that share a
/// broker, and within the process otherwise.
///
/// It is the connection's process (its *node*: `0` without a broker, a random number per hub
/// on Redis) and its number within that process. Its text form, which `Serialize` and
/// `Deserialize` use too, is `"7"` on node `0` and `"NODE.7"` (the node in hex) otherwise, so a
/// client can be handed an id and give it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    node: u64,
    seq: u64,
}

impl ConnectionId {
    /// A new id on node `0`.
    pub(crate) fn next() -> Self {
        ConnectionId::on(0)
    }

    /// A new id on `node`: the number is process-wide, so ids of hubs on one node never meet.
    pub(crate) fn on(node: u64) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnectionId {
            node,
            seq: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn from_parts(node: u64, seq: u64) -> Self {
        ConnectionId { node, seq }
    }

    /// The connection's number within its process, for logs and maps.
    pub fn get(self) -> u64 {
        self.seq
    }

    /// The connection's process: `0` without a broker.
    pub fn node(self) -> u64 {
        self.node
    }
}

/// A string, `"7"` or `"NODE.7"`, as it serializes.
#[cfg(feature = "openrpc")]
impl schemars::JsonSchema for ConnectionId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConnectionId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9a-f]+\\.)?[0-9]+$",
            "description": "A connection's id: its number, after its process's node in hex on a broker.",
        })
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node {
            0 => write!(f, "{}", self.seq),
            node => write!(f, "{node:x}.{}", self.seq),
        }
    }
}

/// The text is not a connection id: `"7"` or `"NODE.7"` with `NODE` in hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a connection id: expected `7` or `NODE.7` (NODE in hex)")]
pub struct ParseConnectionIdError;

impl FromStr for ConnectionId {
    type Err = ParseConnectionIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (node, seq) = match text.split_once('.') {
            Some((node, seq)) => (
                u64::from_str_radix(node, 16).map_err(|_| ParseConnectionIdError)?,
                seq,
            ),
            None => (0, text),
        };
        let seq = seq.parse().map_err(|_| ParseConnectionIdError)?;
        Ok(ConnectionId { node, seq })
    }
}

impl Serialize for ConnectionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConnectionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_read_back_what_they_print() {
        for id in [
            ConnectionId::from_parts(0, 7),
            ConnectionId::from_parts(0xbeef, 7),
        ] {
            assert_eq!(id.to_string().parse::<ConnectionId>(), Ok(id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<ConnectionId>(&json).unwrap(), id);
        }
        assert_eq!(ConnectionId::from_parts(0xbeef, 7).to_string(), "beef.7");
        assert_eq!(ConnectionId::from_parts(0, 7).to_string(), "7");
        for bad in ["", "x", "beef.", ".7", "zz.7", "-1"] {
            assert_eq!(
                bad.parse::<ConnectionId>(),
                Err(ParseConnectionIdError),
                "{bad}"
            );
        }
    }
}
