//! Messages from Redis on their way to the session task, under a bound.
//!
//! The redis crate reads a subscription as fast as Redis sends and hands each message on
//! without waiting; its own pub/sub stream queues them without limit. Here the queue is
//! bounded instead: a process that falls that far behind drops the subscription and subscribes
//! again (memberships are exchanged anew), which is what Redis itself does to a subscriber
//! whose output buffer passes its limit, only sooner and with the loss counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use redis::aio::AsyncPushSender;
use redis::{Msg, PushInfo, PushKind};
use tokio::sync::mpsc::{self, error::TrySendError};

/// The receiving end: what the session reads.
pub(super) struct Inbox {
    messages: mpsc::Receiver<PushInfo>,
    /// Messages that found the queue full.
    dropped: Arc<AtomicUsize>,
}

/// An inbox of `capacity` messages, and what the redis crate hands them to.
pub(super) fn inbox(capacity: usize) -> (impl AsyncPushSender, Inbox) {
    let (sender, messages) = mpsc::channel(capacity.max(1));
    let dropped = Arc::new(AtomicUsize::new(0));
    let counted = dropped.clone();
    let push = move |info: PushInfo| match sender.try_send(info) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(_)) => {
            counted.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(TrySendError::Closed(_)) => Err(()),
    };
    (push, Inbox { messages, dropped })
}

impl Inbox {
    /// The next published message. `Err` once the subscription is over: the connection closed
    /// (`Err(0)`) or messages had to be dropped, `Err(n)` counting them with those still
    /// queued, which the session, starting over, will not deliver either.
    pub(super) async fn next(&mut self) -> Result<Msg, usize> {
        loop {
            let info = self.messages.recv().await;
            let dropped = self.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                return Err(dropped + usize::from(info.is_some()) + self.messages.len());
            }
            let info = info.ok_or(0usize)?;
            if info.kind == PushKind::Disconnection {
                return Err(0);
            }
            // Anything else is an answer to our own SUBSCRIBE.
            if let Some(message) = Msg::from_push_info(info) {
                return Ok(message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::*;

    fn message(payload: &str) -> PushInfo {
        push(
            PushKind::Message,
            vec![
                Value::BulkString(b"channel".to_vec()),
                Value::BulkString(payload.as_bytes().to_vec()),
            ],
        )
    }

    fn push(kind: PushKind, data: Vec<Value>) -> PushInfo {
        PushInfo { kind, data }
    }

    /// Hands `info` on as the redis crate's reader does, which must never see a failure while
    /// the inbox is open.
    fn send(sender: &impl AsyncPushSender, info: PushInfo) {
        assert!(sender.send(info).is_ok());
    }

    #[tokio::test]
    async fn messages_within_the_bound_arrive_in_order() {
        let (sender, mut inbox) = inbox(3);
        send(&sender, message("one"));
        send(&sender, push(PushKind::Subscribe, vec![]));
        send(&sender, message("two"));
        assert_eq!(inbox.next().await.unwrap().get_payload_bytes(), b"one");
        assert_eq!(inbox.next().await.unwrap().get_payload_bytes(), b"two");
    }

    #[tokio::test]
    async fn past_the_bound_the_subscription_ends_with_everything_unread_counted() {
        let (sender, mut inbox) = inbox(2);
        for payload in ["one", "two", "three", "four"] {
            send(&sender, message(payload));
        }
        assert_eq!(inbox.next().await.unwrap_err(), 4);
    }

    #[tokio::test]
    async fn a_disconnection_or_a_dropped_connection_ends_the_subscription() {
        let (sender, mut inbox) = inbox(2);
        send(&sender, push(PushKind::Disconnection, vec![]));
        assert_eq!(inbox.next().await.unwrap_err(), 0);
        drop(sender);
        assert_eq!(inbox.next().await.unwrap_err(), 0);
    }
}
