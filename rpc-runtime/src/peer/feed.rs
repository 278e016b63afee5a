//! Feeding a typed subscription: its stream's items, as notifications, into the connection.

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use futures_util::{Stream, StreamExt};
use serde::Serialize;

use super::{BurstBuilder, Connection};
use crate::protocol::SubscriptionNotices;

/// The most items, and about the most bytes, sent to the connection as one burst: what a
/// stream already has ready is framed together, up to these.
const BURST_ITEMS: usize = 64;
const BURST_BYTES: usize = 64 * 1024;

/// Sends `stream`'s items as subscription `id`'s notifications, waiting while the connection's
/// queue is full (a subscriber that does not read holds its stream back, not the server); when
/// the stream ends, says so with a final notification and frees the subscription. The items a
/// stream has ready at once go as one burst: one queue entry and one write for all of them.
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
    let mut ended = false;
    // Each item is written here, then framed into its burst: no allocation per item.
    let mut buffer = String::new();
    while !ended {
        // No item is held across an await, so that the future is `Send` whatever the items are.
        let mut encoded = match stream.next().await {
            Some(item) => notices.item(std::mem::take(&mut buffer), item),
            None => break,
        };
        let mut burst = BurstBuilder::default();
        loop {
            match encoded {
                Ok(message) => {
                    burst.push(&message);
                    buffer = message;
                }
                Err(err) => {
                    tracing::error!(%err, "a subscription item could not be serialized: ending the subscription");
                    ended = true;
                    break;
                }
            }
            if burst.count() == BURST_ITEMS || burst.len() >= BURST_BYTES {
                break;
            }
            // What the stream has ready now, without waiting.
            encoded = match poll_fn(|cx| Poll::Ready(stream.as_mut().poll_next(cx))).await {
                Poll::Ready(Some(item)) => notices.item(std::mem::take(&mut buffer), item),
                Poll::Ready(None) => {
                    ended = true;
                    break;
                }
                Poll::Pending => break,
            };
        }
        let sent = match burst.count() {
            0 => Ok(()),
            _ => {
                connection
                    .outbox()
                    .send_burst(Arc::new(burst.build()))
                    .await
            }
        };
        if sent.is_err() {
            return;
        }
    }
    let _ = connection.outbox().send(notices.ended().into()).await;
    connection.subscriptions().finished(id);
}
