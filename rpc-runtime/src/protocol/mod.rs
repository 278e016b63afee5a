//! The JSON-RPC wire format, both directions, for both sides: what a peer reads (`incoming`:
//! requests, notifications and responses, parsed borrowed) and what it writes (`request`:
//! calls and notifications; `response`: results and errors), batches either way (`batch`) and a
//! typed subscription's notifications either way (`subscription`). Nothing here knows about
//! methods or transports.

mod batch;
mod incoming;
mod request;
mod response;
mod subscription;

pub(crate) use batch::{BatchWriter, Unread, members as batch_members};
pub(crate) use incoming::{Incoming, Invalid, Message, Request, Version};
pub(crate) use request::{encode_notification, encode_request, with_offset};
pub(crate) use response::{encode_error, encode_success};
pub(crate) use subscription::{SubscriptionItem, SubscriptionNotices, encode_unsubscribe};
