//! What processes say to each other through Redis: pushes (frames) and who has members where
//! (control messages).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::super::{Kind, Route};
use crate::ConnectionId;

/// A push as it crosses Redis: `KIND ORIGIN NAME\nMESSAGE`, where `KIND` is one letter,
/// `ORIGIN` the sending node in hex, `NAME` the group, topic or connection number as a JSON
/// string (so any name fits on one line), and `MESSAGE` the notification as clients receive
/// it, untouched, so the receiving process forwards its bytes without encoding them again.
pub(super) fn encode_frame(origin: u64, route: Route<'_>, message: &str) -> Arc<[u8]> {
    let (kind, name) = match route {
        Route::Group(name) => ('g', name.to_owned()),
        Route::Topic(name) => ('t', name.to_owned()),
        Route::Retained(name) => ('r', name.to_owned()),
        Route::Connection(id) => ('c', id.get().to_string()),
    };
    let name = serde_json::to_string(&name).expect("a string serializes");
    let mut frame = format!("{kind}{origin:x} {name}\n").into_bytes();
    frame.extend_from_slice(message.as_bytes());
    frame.into()
}

/// A frame read back.
#[derive(Debug, PartialEq)]
pub(super) struct Frame {
    pub(super) origin: u64,
    kind: u8,
    name: String,
    pub(super) message: Utf8Bytes,
}

impl Frame {
    /// `None` for bytes no process of ours sent.
    pub(super) fn decode(bytes: &[u8]) -> Option<Frame> {
        let newline = bytes.iter().position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&bytes[..newline]).ok()?;
        let (&kind, rest) = header.as_bytes().split_first()?;
        let (origin, name) = std::str::from_utf8(rest).ok()?.split_once(' ')?;
        let message = std::str::from_utf8(&bytes[newline + 1..]).ok()?;
        Some(Frame {
            origin: u64::from_str_radix(origin, 16).ok()?,
            kind,
            name: serde_json::from_str(name).ok()?,
            message: message.into(),
        })
        .filter(|frame| b"gtrc".contains(&frame.kind))
    }

    /// Where the push goes on this process (`node`); `None` for a connection number that is
    /// not one.
    pub(super) fn route(&self, node: u64) -> Option<Route<'_>> {
        Some(match self.kind {
            b'g' => Route::Group(&self.name),
            b't' => Route::Topic(&self.name),
            b'r' => Route::Retained(&self.name),
            _ => Route::Connection(ConnectionId::from_parts(node, self.name.parse().ok()?)),
        })
    }
}

/// Interest and liveness, on the control channel every process subscribes to.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(super) enum Control {
    /// A process (re)joined: here is what it has members in; everyone answers with `State`.
    Hello { node: u64, names: Names },
    /// All a process has members in, replacing what others knew of it.
    State { node: u64, names: Names },
    /// What changed since the last `State` or `Changes`.
    Changes {
        node: u64,
        added: Names,
        removed: Names,
    },
    /// Still alive.
    Beat { node: u64 },
    /// `node` heard a beat from `of` without knowing it: `of` answers with `State`.
    Ask { node: u64, of: u64 },
    /// Gone, on purpose.
    Bye { node: u64 },
}

impl Control {
    pub(super) fn node(&self) -> u64 {
        match *self {
            Control::Hello { node, .. }
            | Control::State { node, .. }
            | Control::Changes { node, .. }
            | Control::Beat { node }
            | Control::Ask { node, .. }
            | Control::Bye { node } => node,
        }
    }
}

/// Group and topic names.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub(super) struct Names {
    #[serde(default)]
    pub(super) groups: Vec<Arc<str>>,
    #[serde(default)]
    pub(super) topics: Vec<Arc<str>>,
}

impl Names {
    pub(super) fn of(&mut self, kind: Kind) -> &mut Vec<Arc<str>> {
        match kind {
            Kind::Group => &mut self.groups,
            Kind::Topic => &mut self.topics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_what_was_sent() {
        let message = r#"{"jsonrpc":"2.0","method":"said","params":["a\nb"]}"#;
        let id = ConnectionId::from_parts(0xab, 42);
        let routes = [
            Route::Group("room \"1\"\nwith a newline"),
            Route::Topic("news"),
            Route::Retained("status"),
            Route::Connection(id),
        ];
        for route in routes {
            let frame = Frame::decode(&encode_frame(0xbeef, route, message)).unwrap();
            assert_eq!(frame.origin, 0xbeef);
            assert_eq!(&*frame.message, message);
            assert_eq!(
                format!("{:?}", frame.route(0xab).unwrap()),
                format!("{route:?}")
            );
        }
    }

    #[test]
    fn foreign_bytes_are_not_frames() {
        for bytes in [
            &b""[..],
            b"hello",
            b"x1 \"a\"\n{}",
            b"g1 a\n{}",
            b"gzz \"a\"\n{}",
        ] {
            assert_eq!(Frame::decode(bytes), None, "{bytes:?}");
        }
        let frame = Frame::decode(b"c1 \"nan\"\n{}").unwrap();
        assert!(frame.route(1).is_none());
    }

    #[test]
    fn control_messages_are_tagged_json() {
        let beat = serde_json::to_string(&Control::Beat { node: 7 }).unwrap();
        assert_eq!(beat, r#"{"op":"beat","node":7}"#);
        let hello: Control =
            serde_json::from_str(r#"{"op":"hello","node":7,"names":{"groups":["a"]}}"#).unwrap();
        assert_eq!(hello.node(), 7);
    }
}
