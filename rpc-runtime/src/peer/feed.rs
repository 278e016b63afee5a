//! Feeding a typed subscription: its stream's items, as notifications, into the connection.

use std::fmt::Write as _;
use std::pin::pin;

use futures_util::{Stream, StreamExt};
use serde::Serialize;

use super::Connection;
use crate::codes;
use crate::protocol::encode_request;

/// Sends `stream`'s items as subscription `id`'s notifications, waiting while the connection's
/// queue is full (a subscriber that does not read holds its stream back, not the server); when
/// the stream ends, says so with a final notification and frees the subscription.
pub(crate) async fn feed<T, S>(
    connection: Connection,
    notification: &'static str,
    id: u64,
    stream: S,
) where
    T: Serialize,
    S: Stream<Item = T>,
{
    // {"jsonrpc":"2.0","method":"ticks","params":{"subscription":7,"result":
    let mut prefix = String::new();
    encode_request(&mut prefix, notification, Some("{"), None);
    // Open, for the params' members to follow.
    prefix.pop();
    let _ = write!(prefix, r#""subscription":{id},"#);
    let mut stream = pin!(stream);
    // Not `while let`, whose scrutinee would live (and need to be `Send`) across the send.
    loop {
        let Some(item) = stream.next().await else {
            break;
        };
        let Some(message) = item_message(&prefix, item) else {
            break;
        };
        if connection.outbox().send(message.into()).await.is_err() {
            return;
        }
    }
    let mut ended = prefix;
    let _ = write!(
        ended,
        r#""error":{{"code":{},"message":"subscription ended"}}}}}}"#,
        codes::SUBSCRIPTION_ENDED
    );
    let _ = connection.outbox().send(ended.into()).await;
    connection.subscriptions().finished(id);
}

/// One item's notification, or `None` if the item does not serialize. Takes the item, so that
/// it is not held across the send.
fn item_message<T: Serialize>(prefix: &str, item: T) -> Option<String> {
    let mut message = String::with_capacity(prefix.len() + 128);
    message.push_str(prefix);
    message.push_str(r#""result":"#);
    match crate::encode::to_json_after(message, &item) {
        Ok(mut message) => {
            message.push_str("}}");
            Some(message)
        }
        Err(err) => {
            tracing::error!(%err, "a subscription item could not be serialized: ending the subscription");
            None
        }
    }
}
