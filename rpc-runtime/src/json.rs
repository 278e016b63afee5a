//! A JSON serializer for handler results, pushes and subscription items. Exactly serde_json's output, but strings (text, hex and
//! base64 payloads: the common large result) are scanned eight bytes at a time for characters
//! that need escaping, where serde_json checks one byte at a time.

use serde::ser::{self, Serialize};

type Json = serde_json::Serializer<Vec<u8>>;

/// `value` as JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    to_json_after(String::with_capacity(128), value)
}

/// `value` as JSON text, written after `prefix` in the same buffer.
pub(crate) fn to_json_after<T: Serialize + ?Sized>(
    prefix: String,
    value: &T,
) -> serde_json::Result<String> {
    let mut encoder = Encoder {
        json: serde_json::Serializer::new(prefix.into_bytes()),
    };
    value.serialize(&mut encoder)?;
    // The prefix is a `String`, and both writers produce UTF-8: serde_json, and `escape_str`
    // copying `&str` runs whole.
    String::from_utf8(encoder.json.into_inner()).map_err(ser::Error::custom)
}

struct Encoder {
    json: Json,
}

impl Encoder {
    /// The buffer, for a moment: serde_json's serializer has no accessor for its writer.
    fn with_buffer(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let mut buffer =
            std::mem::replace(&mut self.json, serde_json::Serializer::new(Vec::new())).into_inner();
        write(&mut buffer);
        self.json = serde_json::Serializer::new(buffer);
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<(), serde_json::Error> {
            ser::Serializer::$method(&mut self.json, $($arg),*)
        })*
    };
}

impl<'a> ser::Serializer for &'a mut Encoder {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = <&'a mut Json as ser::Serializer>::SerializeSeq;
    type SerializeTuple = <&'a mut Json as ser::Serializer>::SerializeTuple;
    type SerializeTupleStruct = <&'a mut Json as ser::Serializer>::SerializeTupleStruct;
    type SerializeTupleVariant = <&'a mut Json as ser::Serializer>::SerializeTupleVariant;
    type SerializeMap = <&'a mut Json as ser::Serializer>::SerializeMap;
    type SerializeStruct = <&'a mut Json as ser::Serializer>::SerializeStruct;
    type SerializeStructVariant = <&'a mut Json as ser::Serializer>::SerializeStructVariant;

    fn serialize_str(self, value: &str) -> Result<(), serde_json::Error> {
        self.with_buffer(|buffer| escape_str(buffer, value));
        Ok(())
    }

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    // serde_json serializes these as their inner value; so does this, keeping a string inside
    // on the fast path.
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), serde_json::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        ser::Serializer::serialize_newtype_variant(&mut self.json, name, index, variant, value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, serde_json::Error> {
        ser::Serializer::serialize_seq(&mut self.json, len)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, serde_json::Error> {
        ser::Serializer::serialize_tuple(&mut self.json, len)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, serde_json::Error> {
        ser::Serializer::serialize_tuple_struct(&mut self.json, name, len)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, serde_json::Error> {
        ser::Serializer::serialize_tuple_variant(&mut self.json, name, index, variant, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, serde_json::Error> {
        ser::Serializer::serialize_map(&mut self.json, len)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, serde_json::Error> {
        ser::Serializer::serialize_struct(&mut self.json, name, len)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, serde_json::Error> {
        ser::Serializer::serialize_struct_variant(&mut self.json, name, index, variant, len)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of eight bytes may need escaping: a control character, `"` or `\`. It can flag a
/// chunk that needs nothing (the byte loop then finds nothing) but never misses a byte.
fn may_need_escape(chunk: u64) -> bool {
    let below_space = chunk.wrapping_sub(ONES * 0x20) & !chunk;
    let quote = chunk ^ (ONES * u64::from(b'"'));
    let backslash = chunk ^ (ONES * u64::from(b'\\'));
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v;
    (below_space | has_zero(quote) | has_zero(backslash)) & HIGHS != 0
}

/// Writes `value` as a JSON string, escaped exactly as serde_json escapes it.
fn escape_str(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // `bytes[run..at]` needs no escaping and is not yet written.
    let mut run = 0;
    let mut at = 0;
    while at < bytes.len() {
        if let Some(chunk) = bytes
            .get(at..at + 8)
            .and_then(|chunk| <[u8; 8]>::try_from(chunk).ok())
            && !may_need_escape(u64::from_le_bytes(chunk))
        {
            at += 8;
            continue;
        }
        let end = (at + 8).min(bytes.len());
        for index in at..end {
            if let Some(escaped) = escape(bytes[index]) {
                out.extend_from_slice(&bytes[run..index]);
                out.extend_from_slice(&escaped.0[..escaped.1]);
                run = index + 1;
            }
        }
        at = end;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// serde_json's escape for `byte`, if it needs one: the short forms, else `\u00XX`.
fn escape(byte: u8) -> Option<([u8; 6], usize)> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = |c: u8| Some(([b'\\', c, 0, 0, 0, 0], 2));
    match byte {
        b'"' => short(b'"'),
        b'\\' => short(b'\\'),
        0x08 => short(b'b'),
        0x0c => short(b'f'),
        b'\n' => short(b'n'),
        b'\r' => short(b'r'),
        b'\t' => short(b't'),
        0x00..=0x1f => Some((
            [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ],
            6,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_serde_json(value: &str) {
        assert_eq!(
            to_json(value).unwrap(),
            serde_json::to_string(value).unwrap(),
            "{value:?}"
        );
    }

    #[test]
    fn escapes_strings_exactly_as_serde_json_does() {
        // Every byte that can need escaping, at every offset of a chunk and across chunk ends.
        let specials: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain(['"', '\\', '\u{7f}', 'é', '€', '𝄞'])
            .collect();
        for len in 0..24 {
            for position in 0..len {
                for &special in &specials {
                    let text: String = (0..len)
                        .map(|i| if i == position { special } else { 'a' })
                        .collect();
                    same_as_serde_json(&text);
                }
            }
        }
        // A pseudo-random mix, long enough to use every path many times.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let alphabet: Vec<char> = "ab\"\\\n\t\u{1}\u{1f} é€𝄞xyz".chars().collect();
        for _ in 0..200 {
            let text: String = (0..97)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            same_as_serde_json(&text);
        }
    }

    #[test]
    fn serializes_everything_else_exactly_as_serde_json_does() {
        let value = serde_json::json!({
            "text": "a\"b", "list": [1, -2.5, null, true, "x\ny"], "nested": {"k": ["é"]}, "big": u64::MAX
        });
        assert_eq!(
            to_json(&value).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        let tuple = ("hello", 5, Some("a\u{2}b"), None::<u8>, 'c', ());
        assert_eq!(
            to_json(&tuple).unwrap(),
            serde_json::to_string(&tuple).unwrap()
        );
        #[derive(serde::Serialize)]
        enum Shape {
            Unit,
            Newtype(String),
            Tuple(u8, u8),
            Struct { side: f64 },
        }
        for shape in [
            Shape::Unit,
            Shape::Newtype("n\"".into()),
            Shape::Tuple(1, 2),
            Shape::Struct { side: 1.5 },
        ] {
            assert_eq!(
                to_json(&shape).unwrap(),
                serde_json::to_string(&shape).unwrap()
            );
        }
    }
}
