//! Parsing one incoming message, borrowing everything from the message text: a request (a call
//! or a notification), or, on a connection where this side calls too, a response; alone or in a
//! batch.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::batch::{self, Unread};

/// A message as read, before anything answers it: one object, or the members of a batch.
pub(crate) enum Incoming<'a> {
    Single(Result<Message<'a>, Invalid<'a>>),
    Batch(Result<Vec<&'a RawValue>, Unread>),
}

impl<'a> Incoming<'a> {
    /// Reads `text`, taking a batch of at most `max_batch_size` members.
    pub(crate) fn read(text: &'a str, max_batch_size: usize) -> Self {
        match text.trim_start().as_bytes().first() {
            Some(b'[') => Incoming::Batch(batch::members(text, max_batch_size)),
            _ => Incoming::Single(Message::parse(text)),
        }
    }
}

/// Which protocol a request speaks, which decides the shape of its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// No `jsonrpc` member: answered with both `result` and `error`, and no `jsonrpc`.
    V1,
    V2,
}

/// A valid request. `id` is `None` for a notification; `params` is `None` when absent. Params
/// that are neither an array nor an object make the request invalid for every method but the
/// few built-ins that take them (see [`Request::has_structured_params`]), so dispatch decides.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub version: Version,
    pub method: Cow<'a, str>,
    pub id: Option<&'a RawValue>,
    pub params: Option<&'a RawValue>,
    /// A publication's place in its topic's stream, which a server adds to the notifications
    /// of a subscriber that keeps its position (see `with_offset`); `None` when absent or not
    /// an offset.
    pub offset: Option<u64>,
}

/// One message object a peer receives.
#[derive(Debug)]
pub(crate) enum Message<'a> {
    Request(Request<'a>),
    /// The answer to a call this side made: its id, and its result or its error object, both
    /// raw.
    Response {
        id: &'a RawValue,
        outcome: Result<&'a RawValue, &'a RawValue>,
    },
}

/// Why a message is not a valid request.
#[derive(Debug)]
pub(crate) enum Invalid<'a> {
    /// Not JSON at all: -32700.
    Parse,
    /// JSON, but not a request object: -32600, echoing the id when it could be read.
    Request {
        version: Version,
        id: Option<&'a RawValue>,
    },
}

/// Every member as raw JSON, so that a member of the wrong type can be reported without losing
/// the others (the id, above all).
#[derive(Deserialize)]
struct Members<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    offset: Option<&'a RawValue>,
}

/// Maps a present member to `Some`, even when it is `null`: `"id": null` is a request in 2.0,
/// while a missing id is a notification. Absent members fall back to `default`.
fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(de).map(Some)
}

impl<'a> Request<'a> {
    /// A request, or why the text is not one; a response is an invalid request.
    #[cfg(test)]
    pub(crate) fn parse(text: &'a str) -> Result<Self, Invalid<'a>> {
        match Message::parse(text)? {
            Message::Request(request) => Ok(request),
            Message::Response { id, .. } => Err(Invalid::Request {
                version: Version::V2,
                id: Some(id),
            }),
        }
    }
}

impl<'a> Message<'a> {
    pub(crate) fn parse(text: &'a str) -> Result<Self, Invalid<'a>> {
        let members: Members<'a> =
            serde_json::from_str(text).map_err(|err| match err.classify() {
                serde_json::error::Category::Data => Invalid::Request {
                    version: Version::V2,
                    id: None,
                },
                _ => Invalid::Parse,
            })?;

        // An object with no `jsonrpc` is a 1.0 request only if it tries to be a request at all:
        // the specification answers `{"foo": "boo"}` in 2.0 shape.
        let version = match members.jsonrpc {
            None if members.method.is_some() => Version::V1,
            _ => Version::V2,
        };
        let id = match members.id {
            None => None,
            Some(id) if !is_valid_id(id) => return Err(Invalid::Request { version, id: None }),
            // In 1.0 a null id marks a notification.
            Some(id) if version == Version::V1 && id.get() == "null" => None,
            Some(id) => Some(id),
        };
        let invalid = Invalid::Request { version, id };
        if members.method.is_none() {
            // No method: a response, if it has the members of one.
            let outcome = match (members.result, members.error) {
                (Some(result), None) => Ok(result),
                (None, Some(error)) => Err(error),
                // 1.0 sends both, one of them null.
                (Some(result), Some(error)) if error.get() == "null" => Ok(result),
                (Some(_), Some(error)) => Err(error),
                (None, None) => return Err(invalid),
            };
            return match members.id {
                Some(id) if is_valid_id(id) => Ok(Message::Response { id, outcome }),
                _ => Err(invalid),
            };
        }

        if let Some(jsonrpc) = members.jsonrpc {
            if jsonrpc.get() != r#""2.0""# {
                return Err(invalid);
            }
        }
        let Some(method) = members.method.and_then(method_name) else {
            return Err(invalid);
        };
        Ok(Message::Request(Request {
            version,
            method,
            id,
            params: members.params,
            offset: members.offset.and_then(|offset| offset.get().parse().ok()),
        }))
    }
}

impl Request<'_> {
    /// Whether params are absent, an array or an object, as JSON-RPC 2.0 requires.
    pub(crate) fn has_structured_params(&self) -> bool {
        self.params
            .is_none_or(|params| matches!(params.get().as_bytes()[0], b'[' | b'{'))
    }
}

/// Borrows the name unless it holds escapes, so the common case allocates nothing.
fn method_name(raw: &RawValue) -> Option<Cow<'_, str>> {
    if !raw.get().starts_with('"') {
        return None;
    }
    match serde_json::from_str::<&str>(raw.get()) {
        Ok(name) => Some(Cow::Borrowed(name)),
        Err(_) => serde_json::from_str::<String>(raw.get())
            .ok()
            .map(Cow::Owned),
    }
}

/// A string, a number or null. `RawValue` text starts at the value, with no leading blank.
fn is_valid_id(id: &RawValue) -> bool {
    matches!(id.get().as_bytes()[0], b'"' | b'-' | b'0'..=b'9' | b'n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_id(text: &str) -> Option<String> {
        match Request::parse(text) {
            Err(Invalid::Request { id, .. }) => id.map(|id| id.get().to_owned()),
            other => panic!("expected an invalid request, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_2_0_call() {
        let req = Request::parse(r#"{"jsonrpc":"2.0","method":"m","params":[1],"id":7}"#).unwrap();
        assert_eq!(req.version, Version::V2);
        assert_eq!(req.method, "m");
        assert_eq!(req.id.unwrap().get(), "7");
        assert_eq!(req.params.unwrap().get(), "[1]");
    }

    #[test]
    fn keeps_large_integer_ids_verbatim() {
        let req =
            Request::parse(r#"{"jsonrpc":"2.0","method":"m","id":12345678901234567890}"#).unwrap();
        assert_eq!(req.id.unwrap().get(), "12345678901234567890");
    }

    #[test]
    fn tells_null_id_from_missing_id() {
        let call = Request::parse(r#"{"jsonrpc":"2.0","method":"m","id":null}"#).unwrap();
        assert_eq!(call.id.unwrap().get(), "null");
        let notification = Request::parse(r#"{"jsonrpc":"2.0","method":"m"}"#).unwrap();
        assert!(notification.id.is_none());
    }

    #[test]
    fn treats_a_request_without_jsonrpc_as_1_0() {
        let req = Request::parse(r#"{"method":"m","params":[],"id":1}"#).unwrap();
        assert_eq!(req.version, Version::V1);
        let notification = Request::parse(r#"{"method":"m","params":[],"id":null}"#).unwrap();
        assert!(notification.id.is_none());
    }

    #[test]
    fn unescapes_method_names() {
        let req = Request::parse(r#"{"jsonrpc":"2.0","method":"a\u002eb","id":1}"#).unwrap();
        assert_eq!(req.method, "a.b");
    }

    #[test]
    fn rejects_bad_members_but_keeps_a_readable_id() {
        assert_eq!(
            invalid_id(r#"{"jsonrpc":"2.0","method":1,"id":"x"}"#).as_deref(),
            Some(r#""x""#)
        );
        assert_eq!(
            invalid_id(r#"{"jsonrpc":"1.0","method":"m","id":3}"#).as_deref(),
            Some("3")
        );
        assert_eq!(
            invalid_id(r#"{"jsonrpc":"2.0","method":"m","id":{}}"#),
            None
        );
        assert_eq!(
            invalid_id(r#"{"jsonrpc":"2.0","method":"m","id":true}"#),
            None
        );
        assert_eq!(invalid_id("[]"), None);
        assert_eq!(invalid_id("42"), None);
    }

    #[test]
    fn leaves_bare_params_to_dispatch() {
        let req = Request::parse(r#"{"jsonrpc":"2.0","method":"m","params":"p","id":3}"#).unwrap();
        assert!(!req.has_structured_params());
        let req = Request::parse(r#"{"jsonrpc":"2.0","method":"m","params":null,"id":3}"#).unwrap();
        assert!(!req.has_structured_params());
        let req = Request::parse(r#"{"jsonrpc":"2.0","method":"m","params":{},"id":3}"#).unwrap();
        assert!(req.has_structured_params());
    }

    #[test]
    fn reads_responses() {
        let Ok(Message::Response { id, outcome }) =
            Message::parse(r#"{"jsonrpc":"2.0","result":[1],"id":3}"#)
        else {
            panic!("a response");
        };
        let text = |raw: &RawValue| raw.get().to_owned();
        assert_eq!(
            (id.get(), outcome.map(text).map_err(text)),
            ("3", Ok("[1]".into()))
        );
        let Ok(Message::Response { outcome, .. }) =
            Message::parse(r#"{"result":null,"error":{"code":1},"id":3}"#)
        else {
            panic!("a 1.0 error response");
        };
        assert_eq!(outcome.map(text).map_err(text), Err(r#"{"code":1}"#.into()));
        assert!(matches!(
            Message::parse(r#"{"jsonrpc":"2.0","id":3}"#),
            Err(Invalid::Request { .. })
        ));
    }

    #[test]
    fn tells_parse_errors_from_invalid_requests() {
        assert!(matches!(
            Request::parse(r#"{"method": "m"#),
            Err(Invalid::Parse)
        ));
        assert!(matches!(
            Request::parse(r#"{"method":"m"} x"#),
            Err(Invalid::Parse)
        ));
        let unterminated = "[".repeat(10_000);
        assert!(matches!(Request::parse(&unterminated), Err(Invalid::Parse)));
    }
}
