//! A typed subscription's notifications, both directions: the items and the final "ended"
//! notification a serving side writes, and the `{"subscription", "result"}` params a
//! subscribing side reads them back from.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::encode_request;
use crate::codes;

/// Writes subscription `id`'s notifications under `method`. The shared start is encoded once.
pub(crate) struct SubscriptionNotices {
    // Output: {"jsonrpc":"2.0","method":"ticks","params":{"subscription":7,
    prefix: String,
}

impl SubscriptionNotices {
    pub(crate) fn new(method: &str, id: u64) -> Self {
        let mut prefix = String::new();
        encode_request(&mut prefix, method, Some("{"), None);
        // Open, for the params' members to follow.
        prefix.pop();
        let _ = write!(prefix, r#""subscription":{id},"#);
        SubscriptionNotices { prefix }
    }

    // Output: {"jsonrpc":"2.0","method":"ticks","params":{"subscription":7,"result":ITEM}}
    /// One item's notification, written into `buffer` (cleared first), whose allocation it
    /// reuses. Takes the item, so that the caller does not hold it across the send that
    /// follows.
    pub(crate) fn item<T: Serialize>(
        &self,
        mut buffer: String,
        item: T,
    ) -> serde_json::Result<String> {
        buffer.clear();
        let mut message = buffer;
        message.push_str(&self.prefix);
        message.push_str(r#""result":"#);
        let mut message = crate::json::to_json_after(message, &item)?;
        message.push_str("}}");
        Ok(message)
    }

    // Output: {..,"params":{"subscription":7,"error":{"code":-32006,"message":"subscription ended"}}}
    /// The last notification: the stream has ended.
    pub(crate) fn ended(self) -> String {
        let mut ended = self.prefix;
        let _ = write!(
            ended,
            r#""error":{{"code":{},"message":"subscription ended"}}}}}}"#,
            codes::SUBSCRIPTION_ENDED
        );
        ended
    }
}

/// The params of a subscription's notification, as the subscribing side reads them.
#[derive(Deserialize)]
pub(crate) struct SubscriptionItem<'a> {
    /// The subscription's id, raw, as the subscribe call answered it.
    #[serde(borrow)]
    pub subscription: &'a RawValue,
    /// The item; `None` when the serving side ended the subscription.
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
}

impl<'a> SubscriptionItem<'a> {
    /// The params as a subscription's item, if they are one.
    pub(crate) fn parse(params: &'a RawValue) -> Option<Self> {
        if !params.get().starts_with('{') {
            return None;
        }
        serde_json::from_str(params.get()).ok()
    }
}

// Output: {"jsonrpc":"2.0","method":"unsubscribe_ticks","params":[7],"id":3}
/// The call that ends subscription `subscription` (a raw id) through `method`.
pub(crate) fn encode_unsubscribe(method: &str, subscription: &RawValue, id: u64) -> String {
    let mut request = String::new();
    let params = format!("[{}]", subscription.get());
    encode_request(&mut request, method, Some(&params), Some(id));
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_back_as_items() {
        let notices = SubscriptionNotices::new("ticks", 7);
        let item = notices.item(String::new(), [1, 2]).unwrap();
        assert_eq!(
            item,
            r#"{"jsonrpc":"2.0","method":"ticks","params":{"subscription":7,"result":[1,2]}}"#
        );
        let ended = notices.ended();
        for (message, result) in [(item.as_str(), Some("[1,2]")), (ended.as_str(), None)] {
            let message: serde_json::Value = serde_json::from_str(message).unwrap();
            let params = serde_json::value::to_raw_value(&message["params"]).unwrap();
            let read = SubscriptionItem::parse(&params).unwrap();
            assert_eq!(read.subscription.get(), "7");
            assert_eq!(read.result.map(RawValue::get), result);
        }
    }
}
