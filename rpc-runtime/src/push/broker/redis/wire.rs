//! Pushes as they cross Redis (frames).

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::super::{Kind, Route};
use crate::ConnectionId;

/// A push as it crosses Redis: `KIND ORIGIN NAME\nMESSAGE`, where `KIND` is one letter,
/// `ORIGIN` the sending node in hex (for a retained value, followed by `.SEQ`, its number; for
/// a numbered push to a group or topic with history, `.OFFSET`, its place in the stream),
/// `NAME` the group, topic or connection number as a JSON string (so any name fits on one
/// line), and `MESSAGE` the notification as clients receive it, untouched, so the receiving
/// process forwards its bytes without encoding them again.
pub(super) fn encode_frame(origin: u64, route: Route<'_>, message: &str) -> Arc<[u8]> {
    let (head, tail) = frame_parts(origin, route, message);
    let mut frame = head.into_bytes();
    if let Route::Retained { seq, .. } | Route::Numbered { offset: seq, .. } = route {
        frame.extend_from_slice(format!(".{seq}").as_bytes());
    }
    frame.extend_from_slice(tail.as_bytes());
    frame.into()
}

/// A frame in two parts, around where a retained value's or a numbered push's number goes:
/// Redis numbers them (`scripts::RETAIN`, `scripts::APPEND`).
pub(super) fn frame_parts(origin: u64, route: Route<'_>, message: &str) -> (String, String) {
    let (kind, name) = match route {
        Route::Group(name) => ('g', name.to_owned()),
        Route::Topic(name) => ('t', name.to_owned()),
        Route::Retained { topic, .. } => ('r', topic.to_owned()),
        Route::Numbered { kind, name, .. } => match kind {
            Kind::Group => ('G', name.to_owned()),
            Kind::Topic => ('T', name.to_owned()),
        },
        Route::Connection(id) => ('c', id.get().to_string()),
    };
    let name = serde_json::to_string(&name).expect("a string serializes");
    (format!("{kind}{origin:x}"), format!(" {name}\n{message}"))
}

/// A frame read back.
#[derive(Debug, PartialEq)]
pub(super) struct Frame {
    pub(super) origin: u64,
    kind: u8,
    seq: u64,
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
        let (origin, seq) = match (kind, origin.split_once('.')) {
            (b'r' | b'G' | b'T', Some((origin, seq))) => (origin, seq.parse().ok()?),
            (b'r' | b'G' | b'T', None) => return None,
            _ => (origin, 0),
        };
        let message = std::str::from_utf8(&bytes[newline + 1..]).ok()?;
        Some(Frame {
            origin: u64::from_str_radix(origin, 16).ok()?,
            kind,
            seq,
            name: serde_json::from_str(name).ok()?,
            message: message.into(),
        })
        .filter(|frame| b"gtrcGT".contains(&frame.kind))
    }

    /// Where the push goes on this process (`node`); `None` for a connection number that is
    /// not one.
    pub(super) fn route(&self, node: u64) -> Option<Route<'_>> {
        Some(match self.kind {
            b'g' => Route::Group(&self.name),
            b't' => Route::Topic(&self.name),
            b'r' => Route::Retained {
                topic: &self.name,
                seq: self.seq,
            },
            b'G' | b'T' => Route::Numbered {
                kind: if self.kind == b'G' {
                    Kind::Group
                } else {
                    Kind::Topic
                },
                name: &self.name,
                offset: self.seq,
            },
            _ => Route::Connection(ConnectionId::from_parts(node, self.name.parse().ok()?)),
        })
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
            Route::Retained {
                topic: "status",
                seq: 17,
            },
            Route::Numbered {
                kind: Kind::Group,
                name: "room",
                offset: 9,
            },
            Route::Numbered {
                kind: Kind::Topic,
                name: "log",
                offset: 1,
            },
            Route::Connection(id),
        ];
        for route in routes {
            let frame = Frame::decode(&encode_frame(0xbeef, route, message)).unwrap();
            assert_eq!(frame.origin, 0xbeef);
            assert_eq!(&*frame.message, message);
            assert_eq!(frame.route(0xab).unwrap(), route);
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
            b"r1 \"a\"\n{}",
            b"r1.x \"a\"\n{}",
            b"G1 \"a\"\n{}",
        ] {
            assert_eq!(Frame::decode(bytes), None, "{bytes:?}");
        }
        let frame = Frame::decode(b"c1 \"nan\"\n{}").unwrap();
        assert!(frame.route(1).is_none());
    }
}
