//! What answering a message produces, and what dispatch hands back to the connection for the
//! messages it does not answer itself.

use serde_json::value::RawValue;

use crate::protocol::Request;

/// What a message is answered with: the text to send back, if any, and the subscriptions the
/// answer made. Dispatch only reports them; the connection that owns them starts or frees them.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    /// `None` when nothing is to be sent back: the message held only notifications, or answers
    /// to this side's own calls.
    pub(crate) text: Option<String>,
    /// Subscriptions whose ids `text` announces. They start only once the text is queued, so
    /// that no item overtakes the id it belongs to.
    pub(crate) accepted: Vec<u64>,
    /// Subscriptions made whose ids nobody will learn (made by a notification, or announced in
    /// an answer dropped for its size): nothing can ever end them but their owner, so it frees
    /// them at once.
    pub(crate) abandoned: Vec<u64>,
}

impl Reply {
    pub(super) fn text(text: String) -> Self {
        Reply {
            text: Some(text),
            ..Reply::default()
        }
    }

    /// Drops the text unsent: what it announced is abandoned.
    pub(super) fn discard(&mut self) {
        self.text = None;
        self.abandoned.append(&mut self.accepted);
    }
}

/// Where the messages that are not requests to this side go, on a connection where this side
/// calls the peer and listens to it too (a WebSocket); over HTTP there is no such place.
pub(crate) trait Unclaimed: Sync {
    /// The peer's answer to one of this side's calls; `text` is the whole message.
    fn answer(&self, text: &str, id: &RawValue, outcome: Result<&RawValue, &RawValue>);

    /// The peer's answer to one of this side's batches: `members` are its responses.
    fn answer_batch(&self, text: &str, members: &[&RawValue]);

    /// A notification no method takes. `false` if nothing listens here, so that it is answered
    /// as a request for a method that does not exist would be.
    fn notification(&self, notification: &Request<'_>) -> bool;
}
