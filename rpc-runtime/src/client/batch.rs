//! Batches: several calls and notifications in one message, each call's result typed on its own.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::ClientError;
use super::wire::{Answer, decode, encode_params, error_object};
use crate::protocol::{BatchWriter, batch_members, encode_request};

/// Calls and notifications to send together.
///
/// ```
/// # async fn run(client: impl rpc_runtime::client::RpcClient) -> Result<(), rpc_runtime::client::ClientError> {
/// use rpc_runtime::client::Batch;
///
/// let mut batch = Batch::new();
/// let difference = batch.call::<i64>("subtract", (42, 23))?;
/// let greeting = batch.call::<String>("greet", ("Ann",))?;
/// batch.notify("update", [1, 2, 3])?;
/// let answers = client.batch(batch).await?;
/// assert_eq!(answers.get(&difference)?, 19);
/// let greeting: String = answers.get(&greeting)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Batch {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    method: String,
    params: Option<Box<RawValue>>,
    is_call: bool,
}

/// Names one call of a batch and the type its result decodes into.
#[derive(Debug)]
pub struct BatchEntry<R> {
    index: usize,
    result: PhantomData<fn() -> R>,
}

/// The answers to a batch, read one entry at a time with [`BatchResponse::get`].
#[derive(Debug)]
pub struct BatchResponse {
    outcomes: Vec<Option<Result<Box<RawValue>, ClientError>>>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// Adds a call whose result decodes into `R`.
    pub fn call<R: DeserializeOwned>(
        &mut self,
        method: impl Into<String>,
        params: impl Serialize,
    ) -> Result<BatchEntry<R>, ClientError> {
        self.push(method.into(), &params, true)?;
        Ok(BatchEntry {
            index: self.entries.len() - 1,
            result: PhantomData,
        })
    }

    /// Adds a notification, which gets no answer.
    pub fn notify(
        &mut self,
        method: impl Into<String>,
        params: impl Serialize,
    ) -> Result<(), ClientError> {
        self.push(method.into(), &params, false)
    }

    fn push(
        &mut self,
        method: String,
        params: &impl Serialize,
        is_call: bool,
    ) -> Result<(), ClientError> {
        let params = encode_params(params)?;
        self.entries.push(Entry {
            method,
            params,
            is_call,
        });
        Ok(())
    }

    /// How many entries the batch holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether any entry expects an answer. An empty batch, which the specification makes an
    /// error, is never sent: it has nothing to ask.
    pub(crate) fn has_calls(&self) -> bool {
        self.first_call_index().is_some()
    }

    pub(crate) fn first_call_index(&self) -> Option<usize> {
        self.entries.iter().position(|entry| entry.is_call)
    }

    /// The batch as one message; the call at index `i` gets id `first_id + i`.
    pub(crate) fn encode(&self, first_id: u64) -> String {
        let mut batch = BatchWriter::new();
        for (index, entry) in self.entries.iter().enumerate() {
            let id = entry.is_call.then_some(first_id + index as u64);
            encode_request(
                batch.member(),
                &entry.method,
                entry.params.as_deref().map(RawValue::get),
                id,
            );
        }
        // Callers answer an empty batch themselves: it is never sent.
        batch.finish().unwrap_or_default()
    }

    /// Reads the answer to [`encode`](Self::encode)`(first_id)`.
    pub(crate) fn decode(&self, text: &str, first_id: u64) -> Result<BatchResponse, ClientError> {
        let responses = match batch_members(text, usize::MAX) {
            Ok(members) => members,
            // A server that rejects the whole batch answers with one error object.
            Err(_) => match Answer::parse(text) {
                Ok(Answer {
                    outcome: Err(error),
                    ..
                }) => return Err(error_object(error)),
                _ => return Err(ClientError::Decode(format!("not a batch response: {text}"))),
            },
        };
        let mut outcomes: Vec<_> = self.entries.iter().map(|_| None).collect();
        for member in responses {
            let response = Answer::parse(member.get())?;
            let index = response
                .numeric_id()
                .and_then(|id| id.checked_sub(first_id))
                .and_then(|index| usize::try_from(index).ok())
                .filter(|&index| self.entries.get(index).is_some_and(|entry| entry.is_call));
            match index {
                Some(index) => outcomes[index] = Some(response.outcome()),
                None => {
                    if let Err(error) = response.outcome {
                        return Err(error_object(error));
                    }
                    return Err(ClientError::Decode(format!(
                        "a batch answer with an unknown id: {text}"
                    )));
                }
            }
        }
        Ok(BatchResponse { outcomes })
    }
}

impl BatchResponse {
    /// The result of one call of the batch.
    pub fn get<R: DeserializeOwned>(&self, entry: &BatchEntry<R>) -> Result<R, ClientError> {
        match self.outcomes.get(entry.index) {
            Some(Some(Ok(raw))) => decode(raw),
            Some(Some(Err(err))) => Err(clone_error(err)),
            _ => Err(ClientError::Decode(
                "the server did not answer this call".into(),
            )),
        }
    }

    /// An answer to a batch that held only notifications.
    pub(crate) fn empty(batch: &Batch) -> Self {
        BatchResponse {
            outcomes: batch.entries.iter().map(|_| None).collect(),
        }
    }
}

/// Outcomes are read by reference, possibly more than once; only these two kinds are stored.
fn clone_error(err: &ClientError) -> ClientError {
    match err {
        ClientError::Rpc(err) => ClientError::Rpc(err.clone()),
        other => ClientError::Decode(other.to_string()),
    }
}
