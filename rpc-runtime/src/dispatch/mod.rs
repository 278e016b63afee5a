//! Turning one incoming message into its reply, whatever transport carried it: message in,
//! reply out. What is not a request to this side (the peer's answers to this side's calls,
//! notifications no method takes) is handed to the connection, which routes it.

mod budget;
mod call;
mod reply;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::value::RawValue;

pub use call::{Call, CallResult, Middleware, Next};
pub(crate) use reply::{Reply, Unclaimed};

use crate::defaults::{DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_RESPONSE_SIZE};
use crate::method::MethodKind;
use crate::protocol::{
    BatchWriter, Incoming, Invalid, Message, Request, Unread, Version, encode_error, encode_success,
};
use crate::{Context, MethodDescriptor, Router, RpcError};
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

impl Dispatcher {
    pub(crate) fn new(router: Router, policy: Policy) -> Self {
        Dispatcher { router, policy }
    }

    /// Answers one JSON-RPC message (a request, a notification or a batch) as the server would
    /// on `cx`'s transport, handing what is not a request to `unclaimed`, where there is one.
    pub(crate) async fn answer(
        &self,
        text: &str,
        cx: &Context,
        unclaimed: Option<&dyn Unclaimed>,
    ) -> Reply {
        match Incoming::read(text, self.policy.max_batch_size) {
            Incoming::Single(message) => self.single(text, message, cx, unclaimed).await,
            Incoming::Batch(members) => self.batch(text, members, cx, unclaimed).await,
        }
    }

    /// Like [`answer`](Self::answer), for a message that may not be UTF-8 (an HTTP body, a
    /// WebSocket binary frame); bytes that are not get -32700.
    pub(crate) async fn answer_bytes(
        &self,
        message: &[u8],
        cx: &Context,
        unclaimed: Option<&dyn Unclaimed>,
    ) -> Reply {
        match std::str::from_utf8(message) {
            Ok(text) => self.answer(text, cx, unclaimed).await,
            Err(_) => error(Version::V2, None, &RpcError::parse_error()),
        }
    }

    async fn batch(
        &self,
        text: &str,
        members: Result<Vec<&RawValue>, Unread>,
        cx: &Context,
        unclaimed: Option<&dyn Unclaimed>,
    ) -> Reply {
        let members = match members {
            Ok(members) => members,
            Err(Unread::Parse) => return error(Version::V2, None, &RpcError::parse_error()),
            Err(Unread::TooLarge) => {
                let err = RpcError::batch_too_large(self.policy.max_batch_size);
                return error(Version::V2, None, &err);
            }
        };
        let Some(first) = members.first() else {
            return error(Version::V2, None, &RpcError::invalid_request());
        };
        if let Some(unclaimed) = unclaimed {
            if let Ok(Message::Response { .. }) = Message::parse(first.get()) {
                unclaimed.answer_batch(text, &members);
                return Reply::default();
            }
        }
        // The brackets and commas count too.
        let budget = Budget::new(self.policy.max_response_size.saturating_sub(1));
        // Members run concurrently, so one slow call does not hold up the rest of the batch.
        // `join_all` switches to a heavier, allocating scheduler past 30 futures; joining
        // chunks of at most 30 keeps both levels on its light path.
        let chunks = members.chunks(30).map(|chunk| {
            join_all(
                chunk
                    .iter()
                    .map(|member| self.member(member, cx, unclaimed, &budget)),
            )
        });
        let replies = join_all(chunks).await.into_iter().flatten();
        let mut batch = BatchWriter::new();
        let mut reply = Reply::default();
        for member in replies {
            if let Some(text) = &member.text {
                batch.member().push_str(text);
            }
            reply.accepted.extend(member.accepted);
            reply.abandoned.extend(member.abandoned);
        }
        if budget.exceeded() {
            let err = RpcError::batch_response_too_large(self.policy.max_response_size);
            reply.discard();
            reply.text = Some(encode_error(Version::V2, None, &err));
        } else {
            reply.text = batch.finish();
        }
        reply
    }

    /// One member of a batch: its reply, without text if it has none or it does not fit in
    /// what is left.
    async fn member(
        &self,
        member: &RawValue,
        cx: &Context,
        unclaimed: Option<&dyn Unclaimed>,
        budget: &Budget,
    ) -> Reply {
        let text = member.get();
        let mut reply = self.single(text, Message::parse(text), cx, unclaimed).await;
        if let Some(answer) = &reply.text {
            if !budget.take(answer.len() + 1) {
                reply.discard();
            }
        }
        reply
    }

    async fn single(
        &self,
        text: &str,
        message: Result<Message<'_>, Invalid<'_>>,
        cx: &Context,
        unclaimed: Option<&dyn Unclaimed>,
    ) -> Reply {
        match message {
            Ok(Message::Request(request)) => self.request(request, cx, unclaimed).await,
            Ok(Message::Response { id, outcome }) => match unclaimed {
                Some(unclaimed) => {
                    unclaimed.answer(text, id, outcome);
                    Reply::default()
                }
                // Over HTTP nobody has called the client: not a request.
                None => error(Version::V2, Some(id), &RpcError::invalid_request()),
            },
            Err(Invalid::Parse) => error(Version::V2, None, &RpcError::parse_error()),
            Err(Invalid::Request { version, id }) => {
                error(version, id, &RpcError::invalid_request())
            }
        }
    }

    async fn request(
        &self,
        request: Request<'_>,
        cx: &Context,
        unclaimed: Option<&dyn Unclaimed>,
    ) -> Reply {
        let named = self.router.get(&request.method);
        let method = named.filter(|method| method.serves(cx.transport()));
        // A notification no method takes, whatever its params (a topic's may be bare): a
        // subscription's item, or one for whoever listens on the connection.
        if method.is_none()
            && request.id.is_none()
            && unclaimed.is_some_and(|unclaimed| unclaimed.notification(&request))
        {
            return Reply::default();
        }
        if !request.has_structured_params() && !method.is_some_and(|m| m.scalar_params) {
            return error(request.version, request.id, &RpcError::invalid_request());
        }
        // The chain gets the method even where this transport does not serve it, for its
        // guard to decide whether the caller learns where it is served.
        let result = self.call(named, &request, cx).await;
        self.reply(method, &request, result)
    }

    /// Runs the call through the middleware to the method, recording it in a span when
    /// something listens.
    async fn call(
        &self,
        method: Option<&MethodDescriptor>,
        request: &Request<'_>,
        cx: &Context,
    ) -> CallResult {
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
        if span.is_disabled() {
            next.run(call).await
        } else {
            call::traced(span, next.run(call)).await
        }
    }

    /// Encodes a call's result within the response size limit, reporting the subscription it
    /// made, if it made one.
    fn reply(
        &self,
        method: Option<&MethodDescriptor>,
        request: &Request<'_>,
        result: CallResult,
    ) -> Reply {
        let subscription = match (method, &result) {
            (Some(method), Ok(subscription)) if method.kind == MethodKind::Subscription => {
                subscription.parse::<u64>().ok()
            }
            _ => None,
        };
        let Some(id) = request.id else {
            if let Err(err) = &result {
                tracing::debug!(method = %request.method, %err, "notification failed");
            }
            // Subscribed by a notification: nobody learns the id, so it never starts.
            return Reply {
                abandoned: subscription.into_iter().collect(),
                ..Reply::default()
            };
        };
        let text = match result {
            Ok(value) => encode_success(request.version, id, value),
            Err(err) => encode_error(request.version, Some(id), &err),
        };
        let mut reply = Reply::text(text);
        reply.accepted.extend(subscription);
        if reply.text.as_ref().map_or(0, String::len) > self.policy.max_response_size {
            let err = RpcError::response_too_large(self.policy.max_response_size);
            reply.discard();
            reply.text = Some(encode_error(request.version, Some(id), &err));
        }
        reply
    }
}

fn error(version: Version, id: Option<&RawValue>, err: &RpcError) -> Reply {
    Reply::text(encode_error(version, id, err))
}
