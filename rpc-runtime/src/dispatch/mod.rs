//! Turning one incoming message into its response, whatever transport carried it. On a
//! WebSocket connection, where this side may have called the peer, answers to those calls are
//! routed back to their callers here too.

mod budget;
mod call;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::value::RawValue;

pub use call::{Call, CallResult, Middleware, Next};

use crate::defaults::{DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_RESPONSE_SIZE};
use crate::method::MethodKind;
use crate::protocol::{
    BatchWriter, Invalid, Message, Unread, Version, batch_members, encode_error, encode_success,
};
use crate::{Connection, Context, Router, RpcError};
use budget::Budget;

/// How a call that a method's guard refuses is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// -32601, as for a method that does not exist: the caller learns nothing of it.
    #[default]
    Hide,
    /// [`codes::ACCESS_DENIED`](crate::codes::ACCESS_DENIED): the caller learns that it exists
    /// and that it may not call it.
    Refuse,
}

impl Denial {
    fn error(self) -> RpcError {
        match self {
            Denial::Hide => RpcError::method_not_found(),
            Denial::Refuse => RpcError::access_denied(),
        }
    }
}

/// What a dispatcher enforces on every message besides the methods' own rules.
#[derive(Clone)]
pub(crate) struct Policy {
    pub max_batch_size: usize,
    pub max_response_size: usize,
    pub call_timeout: Option<Duration>,
    pub denial: Denial,
    pub middleware: Vec<Arc<dyn Middleware>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_batch_size: DEFAULT_MAX_BATCH_SIZE,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            call_timeout: None,
            denial: Denial::default(),
            middleware: Vec::new(),
        }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("max_batch_size", &self.max_batch_size)
            .field("max_response_size", &self.max_response_size)
            .field("call_timeout", &self.call_timeout)
            .field("denial", &self.denial)
            .field("middleware", &self.middleware.len())
            .finish()
    }
}

/// A router with the policy it is served under: what answers a message.
#[derive(Debug, Default)]
pub(crate) struct Dispatcher {
    router: Router,
    policy: Policy,
}

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

    /// Drops the answer unsent: what it accepted is freed, since nobody learns its ids.
    fn discard(self, cx: &Context) {
        if let Some(connection) = cx.connection() {
            for &subscription in &self.accepted {
                connection.subscriptions().finished(subscription);
            }
        }
    }
}

impl Dispatcher {
    pub(crate) fn new(router: Router, policy: Policy) -> Self {
        Dispatcher { router, policy }
    }

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
        let entries = match batch_members(message, self.policy.max_batch_size) {
            Ok(entries) => entries,
            Err(Unread::Parse) => return Some(error(Version::V2, None, &RpcError::parse_error())),
            Err(Unread::TooLarge) => {
                let err = RpcError::batch_too_large(self.policy.max_batch_size);
                return Some(error(Version::V2, None, &err));
            }
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
        // The brackets and commas count too.
        let budget = Budget::new(self.policy.max_response_size.saturating_sub(1));
        // Members run concurrently, so one slow call does not hold up the rest of the batch.
        // `join_all` switches to a heavier, allocating scheduler past 30 futures; joining
        // chunks of at most 30 keeps both levels on its light path.
        let chunks = entries
            .chunks(30)
            .map(|chunk| join_all(chunk.iter().map(|entry| self.member(entry, cx, &budget))));
        let responses = join_all(chunks).await.into_iter().flatten().flatten();
        if budget.exceeded() {
            responses.for_each(|reply| reply.discard(cx));
            let err = RpcError::batch_response_too_large(self.policy.max_response_size);
            return Some(error(Version::V2, None, &err));
        }
        let mut batch = BatchWriter::new();
        let mut accepted = Vec::new();
        for response in responses {
            batch.member().push_str(&response.text);
            accepted.extend(response.accepted);
        }
        Some(Reply {
            text: batch.finish()?,
            accepted,
        })
    }

    /// One member of a batch: its answer, if it has one and it fits in what is left.
    async fn member(&self, entry: &RawValue, cx: &Context, budget: &Budget) -> Option<Reply> {
        let reply = self.handle_single(entry.get(), cx).await?;
        if budget.take(reply.text.len() + 1) {
            Some(reply)
        } else {
            reply.discard(cx);
            None
        }
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
            .router
            .get(&request.method)
            .filter(|method| method.serves(cx.transport()));
        if method.is_none() && request.id.is_none() {
            // A notification no method takes, whatever its params (a topic's may be bare): a
            // subscription's item, or one to hand to whoever listens on the connection.
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

        let call = Call {
            method: &request.method,
            id: request.id,
            params: request.params,
            cx,
        };
        let next = Next {
            rest: &self.policy.middleware,
            method,
            policy: &self.policy,
        };
        let span = tracing::debug_span!(
            "rpc.call",
            method = %request.method,
            id = request.id.map(RawValue::get),
        );
        // Spans cost nothing unless a subscriber listens; then each call gets its duration
        // and outcome recorded.
        let result = if span.is_disabled() {
            next.run(call).await
        } else {
            call::traced(span, next.run(call)).await
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
        if reply.text.len() > self.policy.max_response_size {
            reply.discard(cx);
            let err = RpcError::response_too_large(self.policy.max_response_size);
            return Some(error(request.version, Some(id), &err));
        }
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
