//! Encoding responses. Results arrive already serialized, so a response is built by
//! concatenation and never parsed again.

use serde_json::value::RawValue;

use super::Version;
use crate::RpcError;

// Input: version, id `7`, result text `19`
// Output: {"jsonrpc":"2.0","result":19,"id":7}   or, for 1.0,   {"result":19,"error":null,"id":7}
/// Built in the result's own buffer: a large result is moved once within it, not copied into
/// a second allocation.
pub(crate) fn encode_success(version: Version, id: &RawValue, result: String) -> String {
    let mut out = result;
    match version {
        Version::V2 => out.insert_str(0, r#"{"jsonrpc":"2.0","result":"#),
        Version::V1 => {
            out.insert_str(0, r#"{"result":"#);
            out.push_str(r#","error":null"#);
        }
    }
    push_id(&mut out, id.get());
    out
}

/// `id` is `None` when the request's id could not be read, which the specification answers with
/// `"id": null`.
pub(crate) fn encode_error(version: Version, id: Option<&RawValue>, error: &RpcError) -> String {
    // Serializing our own error type into a string cannot fail: its fields are an integer, a
    // string and already-valid raw JSON.
    let error = serde_json::to_string(error).unwrap_or_default();
    let id = id.map_or("null", RawValue::get);
    let mut out = String::with_capacity(error.len() + id.len() + 40);
    match version {
        Version::V2 => out.push_str(r#"{"jsonrpc":"2.0","error":"#),
        Version::V1 => out.push_str(r#"{"result":null,"error":"#),
    }
    out.push_str(&error);
    push_id(&mut out, id);
    out
}

fn push_id(out: &mut String, id: &str) {
    out.push_str(r#","id":"#);
    out.push_str(id);
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn encodes_both_versions() {
        let id = raw("12345678901234567890");
        assert_eq!(
            encode_success(Version::V2, &id, "19".into()),
            r#"{"jsonrpc":"2.0","result":19,"id":12345678901234567890}"#
        );
        assert_eq!(
            encode_success(Version::V1, &id, "19".into()),
            r#"{"result":19,"error":null,"id":12345678901234567890}"#
        );
        let err = RpcError::new(-1, "no").with_data([1]);
        assert_eq!(
            encode_error(Version::V2, None, &err),
            r#"{"jsonrpc":"2.0","error":{"code":-1,"message":"no","data":[1]},"id":null}"#
        );
        assert_eq!(
            encode_error(Version::V1, Some(&raw(r#""a""#)), &err),
            r#"{"result":null,"error":{"code":-1,"message":"no","data":[1]},"id":"a"}"#
        );
    }
}
