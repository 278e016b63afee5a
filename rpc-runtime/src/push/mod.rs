//! Pushing from the server: to one connection, to groups, to topics' subscribers.

mod broker;
mod builder;
mod builtins;
mod context;
mod error;
mod feed;
mod history;
mod hub;
mod inbound;
mod lifecycle;
mod presence;
mod refusal;
mod registry;
mod topic;

pub use broker::BrokerStatus;
pub use builder::HubBuilder;
pub use error::PushError;
pub use feed::{Change, Record};
pub use history::{History, Recovery, StreamPosition};
pub use hub::Hub;
pub use presence::Presence;
pub use refusal::Refusal;
pub use topic::Topic;

#[cfg(feature = "redis")]
pub use broker::redis::{BrokerError, RedisBroker, RedisBrokerBuilder};

pub(crate) use builtins::methods as builtin_methods;
