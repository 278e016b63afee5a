//! Code generation. Generators assume a model that passed `check` and report nothing.

mod client;
mod docs;
mod handler;
mod list;
mod method;
mod service;

pub(crate) use list::expand_list;
pub(crate) use method::expand_method;
pub(crate) use service::expand_service;
