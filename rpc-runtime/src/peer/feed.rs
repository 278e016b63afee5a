//! Feeding a typed subscription: its stream's items, as notifications, into the connection.

use std::pin::pin;

use futures_util::{Stream, StreamExt};
use serde::Serialize;

use super::Connection;
use crate::protocol::SubscriptionNotices;

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
    let notices = SubscriptionNotices::new(notification, id);
    let mut stream = pin!(stream);
    // Not `while let`, whose scrutinee would live (and need to be `Send`) across the send.
    loop {
        let Some(item) = stream.next().await else {
            break;
        };
        let message = match notices.item(item) {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(%err, "a subscription item could not be serialized: ending the subscription");
                break;
            }
        };
        if connection.outbox().send(message.into()).await.is_err() {
            return;
        }
    }
    let _ = connection.outbox().send(notices.ended().into()).await;
    connection.subscriptions().finished(id);
}
