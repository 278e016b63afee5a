//! JSON-RPC wire format: parsing incoming messages, encoding requests and responses. Nothing
//! here knows about methods or transports.

mod outgoing;
mod request;
mod response;

pub(crate) use outgoing::{encode_notification, encode_request};
pub(crate) use request::{Invalid, Message, Version, present};
pub(crate) use response::{encode_error, encode_success};
