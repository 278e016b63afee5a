//! The client's side of the wire: encoding requests, reading responses.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::ClientError;
use crate::RpcError;
use crate::protocol::present;

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

/// One message a client receives: a response, or (from servers that push) a request or
/// notification of the server's own.
#[derive(serde::Deserialize)]
pub(crate) struct Incoming<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    pub id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub result: Option<&'a RawValue>,
    #[serde(default)]
    pub error: Option<RpcError>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
}

impl Incoming<'_> {
    /// The id as a number the client assigned; other ids were not ours.
    pub(crate) fn numeric_id(&self) -> Option<u64> {
        self.id.and_then(|id| id.get().parse().ok())
    }

    /// The call's outcome, for a response.
    pub(crate) fn outcome(&self) -> Result<Box<RawValue>, ClientError> {
        match (&self.error, self.result) {
            (Some(err), _) => Err(ClientError::Rpc(err.clone())),
            (None, Some(result)) => Ok(result.to_owned()),
            (None, None) => Err(ClientError::Decode(
                "a response with neither result nor error".into(),
            )),
        }
    }
}

/// Parses the answer to a single call with id `id`.
pub(crate) fn single_outcome(text: &str, id: u64) -> Result<Box<RawValue>, ClientError> {
    let response: Incoming<'_> =
        serde_json::from_str(text).map_err(|err| ClientError::Decode(err.to_string()))?;
    if response.numeric_id() != Some(id) {
        // A server that could not read the request answers with a null id and an error.
        if let Some(err) = response.error {
            return Err(ClientError::Rpc(err));
        }
        return Err(ClientError::Decode(format!(
            "a response to another request: {text}"
        )));
    }
    response.outcome()
}
