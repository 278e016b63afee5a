//! Guards: who may call a method, decided from the caller's [`Context`] before it runs.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::{Context, RpcError};

/// Decides whether the caller of a method may call it, from its [`Context`]: headers, values
/// kept on the connection at login, state. Named by `#[rpc_method(guard = ..)]`, which takes a
/// function of any of these shapes:
///
/// - `fn(&Context) -> bool`: `false` refuses as the server's [`Denial`](crate::Denial) says
///   (-32601 by default, so that the caller learns nothing of the method);
/// - `fn(&Context) -> Result<(), RpcError>`: an `Err` is the caller's answer (a 401-like code,
///   or [`codes::ACCESS_DENIED`](crate::codes::ACCESS_DENIED) with data saying why);
/// - `async fn(Context) -> bool` or `-> Result<(), RpcError>`: the same, awaited, to check a
///   token against a store. It takes the `Context` by value: it is awaited beyond the call
///   that lends it.
///
/// ```
/// use rpc_runtime::{Context, RpcError, rpc_method};
///
/// fn logged_in(cx: &Context) -> bool {
///     cx.headers().contains_key("authorization")
/// }
///
/// async fn admin(cx: Context) -> Result<(), RpcError> {
///     let token = cx.headers().get("authorization").cloned();
///     // A store's look-up would be awaited here.
///     match token {
///         Some(token) if token == "Bearer root" => Ok(()),
///         _ => Err(RpcError::new(-32001, "admins only")),
///     }
/// }
///
/// #[rpc_method(guard = logged_in)]
/// fn balance() -> u64 { 42 }
///
/// #[rpc_method(guard = admin)]
/// fn shutdown() {}
/// ```
#[derive(Clone)]
pub struct Guard(Check);

#[derive(Clone)]
enum Check {
    /// Answered at once: no future, no allocation per call.
    Now(Arc<dyn Fn(&Context) -> Verdict + Send + Sync>),
    Awaited(Arc<dyn Fn(Context) -> BoxFuture<'static, Verdict> + Send + Sync>),
}

/// What a guard answered.
#[doc(hidden)]
#[derive(Debug)]
pub enum Verdict {
    Admit,
    /// Refused as the server's `Denial` says.
    Deny,
    /// Refused with the guard's own error.
    Refuse(RpcError),
}

impl Guard {
    /// A guard of any shape [`Guard`] lists.
    pub fn new<Shape>(guard: impl IntoGuard<Shape>) -> Self {
        guard.into_guard()
    }

    pub(crate) async fn check(&self, cx: &Context) -> Verdict {
        match &self.0 {
            Check::Now(check) => check(cx),
            Check::Awaited(check) => check(cx.clone()).await,
        }
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Check::Now(_) => "Guard",
            Check::Awaited(_) => "Guard(async)",
        })
    }
}

/// A function that can be a [`Guard`]; `Shape` tells its shapes apart.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guard",
    label = "expected `fn(&Context) -> bool`",
    note = "a guard is `fn(&Context) -> bool` or `fn(&Context) -> Result<(), RpcError>`, or an `async fn` of either that takes `Context` by value"
)]
pub trait IntoGuard<Shape> {
    /// The guard.
    fn into_guard(self) -> Guard;
}

/// The answer of a guard: `bool` or `Result<(), RpcError>`.
#[diagnostic::on_unimplemented(
    message = "a guard answers `bool` or `Result<(), RpcError>`, not `{Self}`",
    label = "expected `bool` or `Result<(), RpcError>`"
)]
pub trait GuardAnswer {
    #[doc(hidden)]
    fn verdict(self) -> Verdict;
}

impl GuardAnswer for bool {
    fn verdict(self) -> Verdict {
        if self { Verdict::Admit } else { Verdict::Deny }
    }
}

impl GuardAnswer for Result<(), RpcError> {
    fn verdict(self) -> Verdict {
        match self {
            Ok(()) => Verdict::Admit,
            Err(err) => Verdict::Refuse(err),
        }
    }
}

impl<F, A> IntoGuard<fn(&Context) -> A> for F
where
    F: Fn(&Context) -> A + Send + Sync + 'static,
    A: GuardAnswer,
{
    fn into_guard(self) -> Guard {
        Guard(Check::Now(Arc::new(move |cx| self(cx).verdict())))
    }
}

impl<F, Fut> IntoGuard<fn(Context) -> Fut> for F
where
    F: Fn(Context) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: GuardAnswer,
{
    fn into_guard(self) -> Guard {
        let check = move |cx| -> BoxFuture<'static, Verdict> {
            let answer = self(cx);
            Box::pin(async move { answer.await.verdict() })
        };
        Guard(Check::Awaited(Arc::new(check)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;

    fn cx() -> Context {
        let id = crate::ConnectionId::next();
        let state = Default::default();
        Context::request(
            Transport::Http,
            None,
            Default::default(),
            id,
            state,
            Default::default(),
        )
    }

    fn open(_: &Context) -> bool {
        true
    }

    fn closed(_: &Context) -> Result<(), RpcError> {
        Err(RpcError::new(-32001, "closed"))
    }

    async fn later(_: Context) -> bool {
        tokio::task::yield_now().await;
        false
    }

    #[tokio::test]
    async fn every_shape_answers_its_verdict() {
        let cx = cx();
        assert!(matches!(Guard::new(open).check(&cx).await, Verdict::Admit));
        match Guard::new(closed).check(&cx).await {
            Verdict::Refuse(err) => assert_eq!(err.code(), -32001),
            other => panic!("{other:?}"),
        }
        assert!(matches!(Guard::new(later).check(&cx).await, Verdict::Deny));
    }
}
