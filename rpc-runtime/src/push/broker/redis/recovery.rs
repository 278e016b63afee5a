//! What a member coming back missed, from `scripts::READ`'s answer: the stream's position, and
//! the pushes after the member's own if every one of them is still kept.

use redis::{ErrorKind, FromRedisValue, RedisError, RedisResult, Value};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::wire::Frame;
use crate::protocol::with_offset;
use crate::push::{History, Recovery, StreamPosition};

// Input: [EPOCH, TOP, [[OFFSET-0, [t, TIME, f, FRAME]], ..], NOW]
/// Reads the answer for a member that last saw `since` (`None`: it asked for no pushes). The
/// pushes are sent only if they are all there: the stream's epoch is `since`'s, and the first
/// one kept that is no older than `keep.ttl` follows `since` at once.
pub(super) fn read(
    answer: Value,
    since: Option<&StreamPosition>,
    keep: History,
) -> RedisResult<(Recovery, Vec<Utf8Bytes>)> {
    let (epoch, top, entries, now): (String, u64, Vec<Value>, u64) =
        FromRedisValue::from_redis_value(answer)?;
    let position = StreamPosition { offset: top, epoch };
    let Some(since) = since else {
        let recovery = Recovery {
            position,
            recovered: None,
        };
        return Ok((recovery, Vec::new()));
    };
    let oldest = now.saturating_sub(u64::try_from(keep.ttl.as_millis()).unwrap_or(u64::MAX));
    let mut kept = Vec::with_capacity(entries.len());
    for entry in entries {
        let (offset, time, message) = entry_of(entry)?;
        if time >= oldest {
            kept.push((offset, message));
        }
    }
    let complete = since.epoch == position.epoch
        && since.offset <= top
        && (since.offset == top
            || kept.first().map(|(offset, _)| *offset) == Some(since.offset + 1));
    let missed = if complete {
        let numbered = kept
            .into_iter()
            .map(|(offset, message)| with_offset(&message, offset));
        numbered.map(Utf8Bytes::from).collect()
    } else {
        Vec::new()
    };
    let recovery = Recovery {
        position,
        recovered: Some(complete),
    };
    Ok((recovery, missed))
}

/// One entry of a stream: its offset (`OFFSET-0`), time and the push's message.
fn entry_of(entry: Value) -> RedisResult<(u64, u64, Utf8Bytes)> {
    let unexpected = || RedisError::from((ErrorKind::Parse, "unexpected entry in a stream"));
    let (id, fields): (String, Vec<Vec<u8>>) = FromRedisValue::from_redis_value(entry)?;
    let offset = id
        .strip_suffix("-0")
        .and_then(|offset| offset.parse().ok())
        .ok_or_else(unexpected)?;
    let (mut time, mut frame) = (None, None);
    for pair in fields.chunks(2) {
        match pair {
            [name, value] if name == b"t" => {
                time = std::str::from_utf8(value).ok().and_then(|t| t.parse().ok());
            }
            [name, value] if name == b"f" => frame = Frame::decode(value),
            _ => {}
        }
    }
    match (time, frame) {
        (Some(time), Some(frame)) => Ok((offset, time, frame.message)),
        _ => Err(unexpected()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::push::broker::Kind;
    use crate::push::broker::Route;
    use crate::push::broker::redis::wire::encode_frame;

    fn entry(offset: u64, time: u64) -> Value {
        let route = Route::Numbered {
            kind: Kind::Topic,
            name: "log",
            offset,
        };
        let message = format!(r#"{{"jsonrpc":"2.0","method":"log","params":[{offset}]}}"#);
        let frame = encode_frame(1, route, &message);
        Value::Array(vec![
            Value::BulkString(format!("{offset}-0").into_bytes()),
            Value::Array(vec![
                Value::BulkString(b"t".to_vec()),
                Value::BulkString(time.to_string().into_bytes()),
                Value::BulkString(b"f".to_vec()),
                Value::BulkString(frame.to_vec()),
            ]),
        ])
    }

    fn answer(top: u64, entries: Vec<Value>, now: u64) -> Value {
        Value::Array(vec![
            Value::BulkString(b"e1".to_vec()),
            Value::Int(top as i64),
            Value::Array(entries),
            Value::Int(now as i64),
        ])
    }

    fn since(offset: u64) -> StreamPosition {
        StreamPosition {
            offset,
            epoch: "e1".into(),
        }
    }

    const KEEP: History = History {
        size: 100,
        ttl: Duration::from_secs(10),
    };

    #[test]
    fn the_pushes_after_a_position_are_sent_numbered_when_all_are_there() {
        let read = answer(3, vec![entry(2, 1_000), entry(3, 1_000)], 2_000);
        let (recovery, missed) = read_(read, Some(&since(1))).unwrap();
        assert_eq!(recovery.recovered, Some(true));
        assert_eq!(recovery.position, since(3));
        assert_eq!(missed.len(), 2);
        assert!(
            missed[0].ends_with(r#""params":[2],"offset":2}"#),
            "{}",
            missed[0]
        );
    }

    #[test]
    fn a_gap_an_old_push_or_another_epoch_sends_nothing() {
        let gap = answer(3, vec![entry(3, 1_000)], 2_000);
        assert_eq!(
            read_(gap, Some(&since(1))).unwrap().0.recovered,
            Some(false)
        );
        let old = answer(3, vec![entry(2, 1_000), entry(3, 20_000)], 20_000);
        let (recovery, missed) = read_(old, Some(&since(1))).unwrap();
        assert_eq!((recovery.recovered, missed.len()), (Some(false), 0));
        let mut other = since(3);
        other.epoch = "e0".into();
        let epoch = answer(3, Vec::new(), 2_000);
        assert_eq!(read_(epoch, Some(&other)).unwrap().0.recovered, Some(false));
        let ahead = answer(3, Vec::new(), 2_000);
        assert_eq!(
            read_(ahead, Some(&since(4))).unwrap().0.recovered,
            Some(false)
        );
        let current = answer(3, Vec::new(), 2_000);
        assert_eq!(
            read_(current, Some(&since(3))).unwrap().0.recovered,
            Some(true)
        );
    }

    fn read_(
        answer: Value,
        since: Option<&StreamPosition>,
    ) -> RedisResult<(Recovery, Vec<Utf8Bytes>)> {
        read(answer, since, KEEP)
    }
}
