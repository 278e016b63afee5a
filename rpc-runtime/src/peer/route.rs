//! Where a connection's messages go once dispatch has read them: the peer's answers to this
//! side's calls back to their callers, notifications no method takes to whoever listens, and
//! this side's replies into the outbox, starting or freeing the subscriptions they made.

use serde_json::value::RawValue;

use crate::Connection;
use crate::dispatch::{Reply, Unclaimed};
use crate::protocol::{Message, Request};

impl Unclaimed for Connection {
    fn answer(&self, text: &str, id: &RawValue, outcome: Result<&RawValue, &RawValue>) {
        Connection::answer(self, text, id, outcome);
    }

    fn answer_batch(&self, text: &str, members: &[&RawValue]) {
        let ids = members
            .iter()
            .filter_map(|member| match Message::parse(member.get()) {
                Ok(Message::Response { id, .. }) => Some(id),
                _ => None,
            });
        Connection::answer_batch(self, text, ids);
    }

    fn notification(&self, notification: &Request<'_>) -> bool {
        let Some(listeners) = self.listeners_if_any() else {
            return false;
        };
        listeners.deliver(notification);
        true
    }
}

impl Connection {
    /// Queues `reply`'s text, then starts what it accepted: after the text, so that no item
    /// overtakes the id it belongs to.
    pub(crate) fn queue(&self, reply: Reply) {
        self.free(&reply.abandoned);
        if let Some(text) = reply.text {
            let _ = self.outbox().reply(text.into());
        }
        self.subscriptions().start(&reply.accepted);
    }

    /// `reply`'s text, for a caller that hands it over before anything reads the outbox (the
    /// test client); starts what it accepted.
    pub(crate) fn hand_over(&self, reply: Reply) -> Option<String> {
        self.free(&reply.abandoned);
        self.subscriptions().start(&reply.accepted);
        reply.text
    }

    fn free(&self, abandoned: &[u64]) {
        for &subscription in abandoned {
            self.subscriptions().finished(subscription);
        }
    }
}
