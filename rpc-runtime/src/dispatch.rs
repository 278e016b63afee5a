//! Turning one incoming message into its response, whatever transport carried it.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_util::FutureExt;
use futures_util::future::join_all;
use serde_json::value::RawValue;

use crate::method::{MethodKind, MethodResult, Outcome};
use crate::params::Params;
use crate::protocol::{Invalid, Request, Version, encode_error, encode_success};
use crate::{Context, MethodDescriptor, Router, RpcError};

impl Router {
    /// Answers one JSON-RPC message (a request, a notification or a batch) as the server would
    /// on `cx`'s transport. `None` means nothing is to be sent back: the message held only
    /// notifications.
    pub(crate) async fn handle(&self, message: &str, cx: &Context) -> Option<String> {
        match message.trim_start().as_bytes().first() {
            Some(b'[') => self.handle_batch(message, cx).await,
            _ => self.handle_single(message, cx).await,
        }
    }

    /// Like [`handle`](Self::handle), for a message that may not be UTF-8 (a WebSocket binary
    /// frame); bytes that are not get -32700.
    pub(crate) async fn handle_bytes(&self, message: &[u8], cx: &Context) -> Option<String> {
        match std::str::from_utf8(message) {
            Ok(text) => self.handle(text, cx).await,
            Err(_) => Some(encode_error(Version::V2, None, &RpcError::parse_error())),
        }
    }

    async fn handle_batch(&self, message: &str, cx: &Context) -> Option<String> {
        let entries: Vec<&RawValue> = match serde_json::from_str(message) {
            Ok(entries) => entries,
            Err(_) => return Some(encode_error(Version::V2, None, &RpcError::parse_error())),
        };
        if entries.is_empty() {
            return Some(encode_error(
                Version::V2,
                None,
                &RpcError::invalid_request(),
            ));
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
        let mut out = String::from("[");
        for response in responses.iter().flatten().flatten() {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(response);
        }
        if out.len() == 1 {
            return None;
        }
        out.push(']');
        Some(out)
    }

    async fn handle_single(&self, message: &str, cx: &Context) -> Option<String> {
        let request = match Request::parse(message) {
            Ok(request) => request,
            Err(Invalid::Parse) => {
                return Some(encode_error(Version::V2, None, &RpcError::parse_error()));
            }
            Err(Invalid::Request { version, id }) => {
                return Some(encode_error(version, id, &RpcError::invalid_request()));
            }
        };
        let method = self
            .get(&request.method)
            .filter(|method| method.serves(cx.transport()));
        if !request.has_structured_params() && !method.is_some_and(|m| m.scalar_params) {
            return Some(encode_error(
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
        let Some(id) = request.id else {
            if let Err(err) = result {
                tracing::debug!(method = %request.method, %err, "notification failed");
            }
            return None;
        };
        Some(match result {
            Ok(value) => encode_success(request.version, id, value),
            Err(err) => encode_error(request.version, Some(id), &err),
        })
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
