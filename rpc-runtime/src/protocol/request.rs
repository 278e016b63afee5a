//! Encoding the requests and notifications a peer sends: a client's calls, a server's pushes.

use std::fmt::Write as _;

use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

// Output: {"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":7}
/// A call when `id` is `Some`, a notification when it is `None`; `params` is raw JSON.
pub(crate) fn encode_request(
    out: &mut String,
    method: &str,
    params: Option<&str>,
    id: Option<u64>,
) {
    out.push_str(r#"{"jsonrpc":"2.0","method":"#);
    push_str_literal(out, method);
    if let Some(params) = params {
        out.push_str(r#","params":"#);
        out.push_str(params);
    }
    if let Some(id) = id {
        // Writing to a `String` cannot fail.
        let _ = write!(out, r#","id":{id}"#);
    }
    out.push('}');
}

/// `{"jsonrpc":"2.0","method":METHOD,"params":PARAMS}`, encoded once however many connections
/// it goes to. `params` that serialize to `null` (`()`, `None`) are left out.
pub(crate) fn encode_notification<P: Serialize + ?Sized>(
    method: &str,
    params: &P,
) -> serde_json::Result<Utf8Bytes> {
    let params = crate::json::to_json(params)?;
    let mut out = String::with_capacity(params.len() + method.len() + 40);
    let params = (params != "null").then_some(params.as_str());
    encode_request(&mut out, method, params, None);
    Ok(out.into())
}

// Input: {"jsonrpc":"2.0","method":"news","params":["extra"]}
// Output: {"jsonrpc":"2.0","method":"news","params":["extra"],"offset":17}
/// A topic's notification as a subscriber that keeps its place in the topic's stream receives
/// it: the publication's offset as one more member. Others receive it without.
pub(crate) fn with_offset(notification: &str, offset: u64) -> String {
    // Every notification this side encodes is one object.
    let open = notification.strip_suffix('}').unwrap_or(notification);
    format!(r#"{open},"offset":{offset}}}"#)
}

/// `text` as a JSON string literal.
fn push_str_literal(out: &mut String, text: &str) {
    if text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\')
    {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        // Escaping a `str` into JSON cannot fail.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_calls_and_notifications() {
        let mut out = String::new();
        encode_request(&mut out, "subtract", Some("[42,23]"), Some(7));
        assert_eq!(
            out,
            r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":7}"#
        );
        out.clear();
        encode_request(&mut out, "a\"b\n", None, None);
        assert_eq!(out, r#"{"jsonrpc":"2.0","method":"a\"b\n"}"#);
    }
}
