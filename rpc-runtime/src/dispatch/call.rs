//! One call, from the method's name to its result: the middleware chain, the method's guard,
//! the per-call timeout, and the handler, whose panics become -32603.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::value::RawValue;
use tracing::Instrument;

use super::Policy;
use crate::guard::Verdict;
use crate::log::Throttle;
use crate::method::{MethodKind, MethodResult, Outcome};
use crate::params::Params;
use crate::{Context, MethodDescriptor, RpcError, Transport};

/// Wraps every call a server answers: single calls, batch members and notifications alike,
/// whether or not a method of that name exists. Register one with
/// [`ServerBuilder::middleware`](crate::ServerBuilder::middleware); the first registered is
/// the outermost.
///
/// ```
/// use std::time::Instant;
/// use rpc_runtime::middleware::{BoxFuture, Call, CallResult, Middleware, Next};
///
/// struct Timing;
///
/// impl Middleware for Timing {
///     fn call<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> BoxFuture<'a, CallResult> {
///         Box::pin(async move {
///             let (method, started) = (call.method().to_owned(), Instant::now());
///             let result = next.run(call).await;
///             println!("{method} took {:?}, ok: {}", started.elapsed(), result.is_ok());
///             result
///         })
///     }
/// }
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Handles `call`: pass it on with [`Next::run`], or answer it without (an error, say).
    fn call<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> BoxFuture<'a, CallResult>;
}

/// What a call answers: its result, serialized as JSON text, or its error.
pub type CallResult = MethodResult;

/// One call, as a [`Middleware`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub(super) method: &'a str,
    pub(super) id: Option<&'a RawValue>,
    pub(super) params: Option<&'a RawValue>,
    pub(super) cx: &'a Context,
}

impl<'a> Call<'a> {
    /// The method's name, as sent.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request's id, raw; `None` for a notification, whose result nobody receives.
    pub fn id(&self) -> Option<&'a RawValue> {
        self.id
    }

    /// The params, raw, if any were sent.
    pub fn params(&self) -> Option<&'a RawValue> {
        self.params
    }

    /// The caller's context: transport, headers, connection, state.
    pub fn context(&self) -> &'a Context {
        self.cx
    }
}

/// The rest of the chain: the next middleware, or the method itself.
pub struct Next<'a> {
    pub(super) rest: &'a [Arc<dyn Middleware>],
    pub(super) method: Option<&'a MethodDescriptor>,
    pub(super) policy: &'a Policy,
}

impl fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("middleware_left", &self.rest.len())
            .field("method", &self.method.map(MethodDescriptor::name))
            .finish()
    }
}

impl<'a> Next<'a> {
    /// Runs the rest of the chain on `call`.
    pub async fn run(self, call: Call<'a>) -> CallResult {
        match self.rest.split_first() {
            Some((outer, rest)) => outer.call(call, Next { rest, ..self }).await,
            None => invoke(self.method, call, self.policy).await,
        }
    }
}

/// The end of the chain: the guard, then the handler within the per-call timeout.
pub(super) async fn invoke(
    method: Option<&MethodDescriptor>,
    call: Call<'_>,
    policy: &Policy,
) -> MethodResult {
    let Some(method) = method else {
        return Err(RpcError::method_not_found());
    };
    if let Some(guard) = &method.guard {
        match guard.check(call.cx).await {
            Verdict::Admit => {}
            Verdict::Deny => return Err(policy.denial.error()),
            Verdict::Refuse(err) => return Err(err),
        }
    }
    // Past its guard, a caller may learn that the method exists elsewhere: a subscription
    // called over HTTP is a mistake of transport, not of name.
    if !method.serves(call.cx.transport()) {
        let served = match call.cx.transport() {
            Transport::Http => "over WebSocket only: call it on a WebSocket connection",
            Transport::WebSocket => "over HTTP only: call it in an HTTP POST",
        };
        return Err(
            RpcError::method_not_found().with_data(format!("`{}` is served {served}", method.name))
        );
    }
    if method.kind == MethodKind::Notification && call.id.is_some() {
        return Err(RpcError::method_not_found().with_data(format!(
            "`{}` takes notifications only: send it without an id",
            method.name
        )));
    }
    let running = run(method, Params::new(call.params), call.cx.clone());
    match policy.call_timeout {
        None => running.await,
        Some(limit) => tokio::time::timeout(limit, running)
            .await
            .unwrap_or_else(|_| Err(RpcError::call_timed_out(limit))),
    }
}

/// Runs `call` in `span`, and records how it went when it is done.
pub(super) async fn traced(
    span: tracing::Span,
    call: impl Future<Output = MethodResult>,
) -> MethodResult {
    let started = std::time::Instant::now();
    let result = call.instrument(span.clone()).await;
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    span.in_scope(|| match &result {
        Ok(_) => tracing::debug!(elapsed_us, "call answered"),
        Err(err) => tracing::debug!(elapsed_us, code = err.code(), "call failed"),
    });
    result
}

/// Runs a handler; a panic, whether in reading params, in a sync body or in a future, becomes
/// -32603 for this call only.
async fn run(method: &MethodDescriptor, params: Params<'_>, cx: Context) -> MethodResult {
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

/// Logged at most once a second, so that a client that makes a handler panic in a loop cannot
/// flood the log.
static PANICS: Throttle = Throttle::per_second();

fn panicked(method: &MethodDescriptor, panic: Box<dyn Any + Send>) -> RpcError {
    if let Some(suppressed) = PANICS.admit() {
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a non-string payload");
        tracing::error!(
            method = method.name,
            handler = method.rust_path,
            panic = message,
            suppressed,
            "handler panicked"
        );
    }
    RpcError::internal()
}
