//! The client's side of the wire: encoding params, reading responses (with `protocol`'s
//! parser, as the server reads requests).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::ClientError;
use crate::RpcError;
use crate::protocol::Message;

/// Serializes params, which must be a JSON array (from a tuple, array or `Vec`) or object (from
/// a struct or map); `()` means no params.
pub(crate) fn encode_params<P: Serialize + ?Sized>(
    params: &P,
) -> Result<Option<Box<RawValue>>, ClientError> {
    let raw = serde_json::value::to_raw_value(params)
        .map_err(|err| ClientError::InvalidParams(err.to_string()))?;
    match raw.get().as_bytes()[0] {
        b'[' | b'{' => Ok(Some(raw)),
        b'n' => Ok(None),
        _ => Err(ClientError::InvalidParams(format!(
            "params must serialize to a JSON array or object, not `{}`; wrap one value in a tuple: `(value,)`",
            raw.get()
        ))),
    }
}

/// Decodes a result into the caller's type.
pub fn decode<R: DeserializeOwned>(raw: &RawValue) -> Result<R, ClientError> {
    serde_json::from_str(raw.get()).map_err(|err| ClientError::Decode(err.to_string()))
}

/// A response as every client reads it, parsed by the one parser both sides use
/// ([`Message::parse`]): its id, and its result or its error.
pub(crate) struct Answer<'a> {
    pub id: &'a RawValue,
    pub outcome: Result<&'a RawValue, &'a RawValue>,
}

impl<'a> Answer<'a> {
    /// The response in `text`, or why it is none.
    pub(crate) fn parse(text: &'a str) -> Result<Self, ClientError> {
        match Message::parse(text) {
            Ok(Message::Response { id, outcome }) => Ok(Answer { id, outcome }),
            _ => Err(ClientError::Decode(format!("not a response: {text}"))),
        }
    }

    /// The id as a number the client assigned; other ids were not ours.
    pub(crate) fn numeric_id(&self) -> Option<u64> {
        self.id.get().parse().ok()
    }

    /// The call's outcome.
    pub(crate) fn outcome(&self) -> Result<Box<RawValue>, ClientError> {
        outcome(self.outcome)
    }
}

/// A response's result, or its error object decoded: what a caller gets.
pub(crate) fn outcome(outcome: Result<&RawValue, &RawValue>) -> Result<Box<RawValue>, ClientError> {
    outcome.map(RawValue::to_owned).map_err(error_object)
}

/// A response's error object, as the caller's error.
pub(crate) fn error_object(error: &RawValue) -> ClientError {
    match serde_json::from_str::<RpcError>(error.get()) {
        Ok(error) => ClientError::Rpc(error),
        Err(err) => ClientError::Decode(format!("an unreadable error object: {err}")),
    }
}

/// Parses the answer to a single call with id `id`.
pub(crate) fn single_outcome(text: &str, id: u64) -> Result<Box<RawValue>, ClientError> {
    let answer = Answer::parse(text)?;
    if answer.numeric_id() != Some(id) {
        // A server that could not read the request answers with a null id and an error.
        if let Err(error) = answer.outcome {
            return Err(error_object(error));
        }
        return Err(ClientError::Decode(format!(
            "a response to another request: {text}"
        )));
    }
    answer.outcome()
}
