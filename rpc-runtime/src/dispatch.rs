//! Turning one incoming message into its response, whatever transport carried it. On a
//! WebSocket connection, where this side may have called the peer, answers to those calls are
//! routed back to their callers here too.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_util::FutureExt;
use futures_util::future::join_all;
use serde_json::value::RawValue;

use crate::method::{MethodKind, MethodResult, Outcome};
use crate::params::Params;
use crate::protocol::{Invalid, Message, Version, encode_error, encode_success};
use crate::{Connection, Context, MethodDescriptor, Router, RpcError};

/// What a message is answered with: the text to send back and the subscriptions it accepted,
/// which start only once the text is queued, so that no item overtakes the id it belongs to.
pub(crate) struct Reply {
    pub(crate) text: String,
    accepted: Vec<u64>,
}

impl Reply {
    fn new(text: String) -> Self {
        Reply {
            text,
            accepted: Vec::new(),
        }
    }

    /// Queues the answer on `connection`, then starts what it accepted.
    pub(crate) fn queue(self, connection: &Connection) {
        let _ = connection.outbox().reply(self.text.into());
        connection.subscriptions().start(&self.accepted);
    }

    /// The answer's text, for a caller that hands it over before anything reads the
    /// connection's queue; starts what it accepted.
    pub(crate) fn into_text(self, connection: Option<&Connection>) -> String {
        if let Some(connection) = connection {
            connection.subscriptions().start(&self.accepted);
        }
        self.text
    }
}

impl Router {
    /// Answers one JSON-RPC message (a request, a notification or a batch) as the server would
    /// on `cx`'s transport. `None` means nothing is to be sent back: the message held only
    /// notifications, or answers to this side's own calls.
    pub(crate) async fn handle(&self, message: &str, cx: &Context) -> Option<Reply> {
        match message.trim_start().as_bytes().first() {
            Some(b'[') => self.handle_batch(message, cx).await,
            _ => self.handle_single(message, cx).await,
        }
    }

    /// Like [`handle`](Self::handle), for a message that may not be UTF-8 (a WebSocket binary
    /// frame); bytes that are not get -32700.
    pub(crate) async fn handle_bytes(&self, message: &[u8], cx: &Context) -> Option<Reply> {
        match std::str::from_utf8(message) {
            Ok(text) => self.handle(text, cx).await,
            Err(_) => Some(error(Version::V2, None, &RpcError::parse_error())),
        }
    }

    async fn handle_batch(&self, message: &str, cx: &Context) -> Option<Reply> {
        let entries: Vec<&RawValue> = match serde_json::from_str(message) {
            Ok(entries) => entries,
            Err(_) => return Some(error(Version::V2, None, &RpcError::parse_error())),
        };
        let Some(first) = entries.first() else {
            return Some(error(Version::V2, None, &RpcError::invalid_request()));
        };
        if let Some(connection) = cx.connection() {
            if let Ok(Message::Response { .. }) = Message::parse(first.get()) {
                connection.answer_batch(message, entries.iter().filter_map(|entry| id_of(entry)));
                return None;
            }
        }
        // Members run concurrently, so one slow call does not hold up the rest of the batch.
        // `join_all` switches to a heavier, allocating scheduler past 30 futures; joining
        // chunks of at most 30 keeps both levels on its light path.
        let chunks = entries.chunks(30).map(|chunk| {
            join_all(
                chunk
                    .iter()
                    .map(|entry| self.handle_single(entry.get(), cx)),
            )
        });
        let responses = join_all(chunks).await;
        let mut out = Reply::new(String::from("["));
        for response in responses.into_iter().flatten().flatten() {
            if out.text.len() > 1 {
                out.text.push(',');
            }
            out.text.push_str(&response.text);
            out.accepted.extend(response.accepted);
        }
        if out.text.len() == 1 {
            return None;
        }
        out.text.push(']');
        Some(out)
    }

    async fn handle_single(&self, message: &str, cx: &Context) -> Option<Reply> {
        let request = match Message::parse(message) {
            Ok(Message::Request(request)) => request,
            Ok(Message::Response { id, outcome }) => {
                return match cx.connection() {
                    Some(connection) => {
                        connection.answer(message, id, outcome);
                        None
                    }
                    // Over HTTP nobody has called the client: not a request.
                    None => Some(error(Version::V2, Some(id), &RpcError::invalid_request())),
                };
            }
            Err(Invalid::Parse) => {
                return Some(error(Version::V2, None, &RpcError::parse_error()));
            }
            Err(Invalid::Request { version, id }) => {
                return Some(error(version, id, &RpcError::invalid_request()));
            }
        };
        let method = self
            .get(&request.method)
            .filter(|method| method.serves(cx.transport()));
        if method.is_none() && request.id.is_none() {
            // A notification no method takes, whatever its params (a topic's may be bare): a subscription's item, or one to hand to
            // whoever listens on the connection.
            if let Some(listeners) = cx.connection().and_then(Connection::listeners_if_any) {
                listeners.deliver(&request.method, request.params);
                return None;
            }
        }
        if !request.has_structured_params() && !method.is_some_and(|m| m.scalar_params) {
            return Some(error(
                request.version,
                request.id,
                &RpcError::invalid_request(),
            ));
        }

        let result = match method {
            Some(method) => {
                if method.kind == MethodKind::Notification && request.id.is_some() {
                    Err(RpcError::method_not_found().with_data(format!(
                        "`{}` takes notifications only: send it without an id",
                        method.name
                    )))
                } else {
                    call(method, Params::new(request.params), cx.clone()).await
                }
            }
            None => Err(RpcError::method_not_found()),
        };
        let accepted = match (method, &result) {
            (Some(method), Ok(subscription)) if method.kind == MethodKind::Subscription => {
                subscription.parse::<u64>().ok()
            }
            _ => None,
        };
        let Some(id) = request.id else {
            match result {
                Err(err) => tracing::debug!(method = %request.method, %err, "notification failed"),
                // Subscribed by a notification: nobody learns the id, so it never starts.
                Ok(_) => {
                    if let (Some(subscription), Some(connection)) = (accepted, cx.connection()) {
                        connection.subscriptions().finished(subscription);
                    }
                }
            }
            return None;
        };
        let mut reply = Reply::new(match result {
            Ok(value) => encode_success(request.version, id, value),
            Err(err) => encode_error(request.version, Some(id), &err),
        });
        reply.accepted.extend(accepted);
        Some(reply)
    }
}

fn error(version: Version, id: Option<&RawValue>, err: &RpcError) -> Reply {
    Reply::new(encode_error(version, id, err))
}

/// The id of a batch entry that is a response.
fn id_of(entry: &RawValue) -> Option<&RawValue> {
    match Message::parse(entry.get()) {
        Ok(Message::Response { id, .. }) => Some(id),
        _ => None,
    }
}

/// Runs a handler; a panic, whether in reading params, in a sync body or in a future, becomes
/// -32603 for this call only.
async fn call(method: &MethodDescriptor, params: Params<'_>, cx: Context) -> MethodResult {
    let outcome = catch_unwind(AssertUnwindSafe(|| (method.handler)(cx, params)))
        .unwrap_or_else(|panic| Outcome::Ready(Err(panicked(method, panic))));
    match outcome {
        Outcome::Ready(result) => result,
        Outcome::Pending(future) => AssertUnwindSafe(future)
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(panicked(method, panic))),
    }
}

fn panicked(method: &MethodDescriptor, panic: Box<dyn Any + Send>) -> RpcError {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload");
    tracing::error!(
        method = method.name,
        handler = method.rust_path,
        panic = message,
        "handler panicked"
    );
    RpcError::internal()
}
