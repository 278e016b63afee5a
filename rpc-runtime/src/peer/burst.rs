//! Several pushes to the same receivers, framed once for all of them.
//!
//! A server's WebSocket frames are unmasked, so a text frame's bytes are the same for every
//! connection it goes to. A burst published to a topic or group is therefore framed once, into
//! one buffer, written to each receiver's plain TCP socket as it is (`direct.rs`): no frame
//! made, no byte copied, no queue entry per message and per receiver. A queue holds a burst as
//! one entry; a stream that is not shared that way (TLS, a client's) is fed its messages.

use std::ops::Range;

use hyper::body::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The opcode byte of an unfragmented text frame: FIN and opcode 1, no extension bits.
const TEXT_FINAL: u8 = 0x81;

pub(crate) struct Burst {
    /// Every message as an unmasked text frame, one after another.
    frames: Bytes,
    /// Where each message's payload is in `frames`.
    payloads: Box<[Range<usize>]>,
    /// The messages' bytes without their frames: what the burst counts against a queue's bound,
    /// as the same messages sent one by one would.
    len: usize,
}

/// A burst being made: each message framed as it is added, into one buffer.
#[derive(Default)]
pub(crate) struct BurstBuilder {
    frames: Vec<u8>,
    payloads: Vec<Range<usize>>,
    len: usize,
}

impl BurstBuilder {
    pub(crate) fn push(&mut self, message: &str) {
        push_header(&mut self.frames, message.len());
        let start = self.frames.len();
        self.frames.extend_from_slice(message.as_bytes());
        self.payloads.push(start..self.frames.len());
        self.len += message.len();
    }

    /// How many messages it holds.
    pub(crate) fn count(&self) -> usize {
        self.payloads.len()
    }

    /// The messages' bytes, headers not counted.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn build(self) -> Burst {
        Burst {
            frames: self.frames.into(),
            payloads: self.payloads.into(),
            len: self.len,
        }
    }
}

impl Burst {
    pub(crate) fn new<'a>(messages: impl IntoIterator<Item = &'a str>) -> Self {
        let mut burst = BurstBuilder::default();
        for message in messages {
            burst.push(message);
        }
        burst.build()
    }

    /// The frames, as a server writes them.
    pub(crate) fn frames(&self) -> &[u8] {
        &self.frames
    }

    /// The messages, sharing the frames' buffer: for a reader in process and for a client's
    /// (masked) socket.
    pub(crate) fn messages(
        &self,
    ) -> impl DoubleEndedIterator<Item = Utf8Bytes> + ExactSizeIterator + '_ {
        self.payloads.iter().map(|payload| {
            Utf8Bytes::try_from(self.frames.slice(payload.clone()))
                .expect("each payload was pushed as a `&str`")
        })
    }

    /// How many messages it holds.
    pub(crate) fn count(&self) -> usize {
        self.payloads.len()
    }

    /// The messages' bytes, headers not counted.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Appends the header of an unmasked final text frame of `len` bytes (RFC 6455, 5.2).
fn push_header(into: &mut Vec<u8>, len: usize) {
    into.push(TEXT_FINAL);
    match len {
        0..=125 => into.push(len as u8),
        126..=0xFFFF => {
            into.push(126);
            into.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            into.push(127);
            into.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::{Message, WebSocket};

    use super::*;

    /// The frames read back by tungstenite as a client reads a server's: the same messages,
    /// whichever of the three length forms each needs.
    #[test]
    fn tungstenite_reads_back_every_message() {
        let sizes = [0, 1, 125, 126, 65_535, 65_536, 70_000];
        let messages: Vec<Utf8Bytes> = sizes.iter().map(|&n| "é".repeat(n / 2).into()).collect();
        let burst = Burst::new(messages.iter().map(|m| m.as_str()));
        assert_eq!(burst.count(), messages.len());
        assert_eq!(burst.len(), messages.iter().map(|m| m.len()).sum::<usize>());
        let mut client =
            WebSocket::from_raw_socket(Cursor::new(burst.frames().to_vec()), Role::Client, None);
        for expected in &messages {
            assert_eq!(client.read().unwrap(), Message::Text(expected.clone()));
        }
        assert!(client.read().is_err(), "nothing after the last frame");
        assert_eq!(burst.messages().collect::<Vec<_>>(), messages);
    }
}
