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

/// What the session reads from the subscriptions.
#[derive(Debug)]
pub(super) enum Incoming {
    Message(Msg),
    /// A sharded channel is no longer subscribed to (a cluster's `SUNSUBSCRIBE`): the
    /// confirmation of the session's own, or Redis's word that the channel's slot has moved
    /// to another master.
    Unsubscribed(Vec<u8>),
}

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
    /// The next published message, or sharded unsubscribe. `Err` once the subscriptions are
    /// over: a connection closed (`Err(0)`) or messages had to be dropped, `Err(n)` counting
    /// them with those still queued, which the session, starting over, will not deliver
    /// either.
    pub(super) async fn next(&mut self) -> Result<Incoming, usize> {
        loop {
            let info = self.messages.recv().await;
            let dropped = self.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                return Err(dropped + usize::from(info.is_some()) + self.messages.len());
            }
            let info = info.ok_or(0usize)?;
            match info.kind {
                PushKind::Disconnection => return Err(0),
                PushKind::SUnsubscribe => {
                    if let Some(redis::Value::BulkString(channel)) = info.data.into_iter().next() {
                        return Ok(Incoming::Unsubscribed(channel));
                    }
                }
                // Anything else is an answer to the session's own (S)SUBSCRIBE or UNSUBSCRIBE.
                _ => {
                    if let Some(message) = Msg::from_push_info(info) {
                        return Ok(Incoming::Message(message));
                    }
                }
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
        for payload in ["one", "two"] {
            let Ok(Incoming::Message(message)) = inbox.next().await else {
                panic!("not a message");
            };
            assert_eq!(message.get_payload_bytes(), payload.as_bytes());
        }
    }

    #[tokio::test]
    async fn a_sharded_unsubscribe_is_handed_on_with_its_channel() {
        let (sender, mut inbox) = inbox(3);
        let channel = Value::BulkString(b"{rpc:g:room}".to_vec());
        send(&sender, push(PushKind::Unsubscribe, vec![channel.clone()]));
        send(
            &sender,
            push(PushKind::SUnsubscribe, vec![channel, Value::Int(0)]),
        );
        let Ok(Incoming::Unsubscribed(channel)) = inbox.next().await else {
            panic!("not handed on");
        };
        assert_eq!(channel, b"{rpc:g:room}");
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
