//! A subscription handler's stream, accepted on the caller's connection. expand/handler.rs,
//! for `#[rpc_subscription]`.

use super::handler::connection;
use crate::Context;
use crate::RpcError;
use crate::method::MethodResult;

/// Accepts a subscription handler's stream on the caller's connection and answers its id; the
/// stream starts once the answer is queued.
pub fn subscribe<T, S>(cx: &Context, notification: &'static str, stream: S) -> MethodResult
where
    T: serde::Serialize + 'static,
    S: futures_util::Stream<Item = T> + Send + 'static,
{
    let connection = connection(cx)?;
    let feeding = connection.clone();
    let id = connection.subscriptions().accept(notification, move |id| {
        Box::pin(crate::peer::feed(feeding, notification, id, stream))
    })?;
    Ok(id.to_string())
}

/// A subscription handler's stream, or its refusal (converted by [`HandlerError`](super::handler::HandlerError)).
pub fn subscribe_result<T, S>(
    cx: &Context,
    notification: &'static str,
    result: Result<S, RpcError>,
) -> MethodResult
where
    T: serde::Serialize + 'static,
    S: futures_util::Stream<Item = T> + Send + 'static,
{
    subscribe(cx, notification, result?)
}
