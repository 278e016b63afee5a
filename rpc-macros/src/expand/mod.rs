//! Code generation. Generators assume a model that passed `check` and report nothing.

mod list;
mod method;

pub(crate) use list::expand_list;
pub(crate) use method::expand_method;
