//! The descriptor `#[rpc_method]` (and `#[rpc_service]`, per method) emits: expand/method.rs
//! and expand/service.rs.

pub use crate::method::{Docs, MethodKind, Outcome, ParamDoc};
pub use crate::params::Params;
pub use crate::schema::schema;
pub use crate::{Context, MethodDescriptor, RpcError};

/// Implemented by the struct `#[rpc_method]` emits beside each function, so that `methods![f]`
/// can reach the method through the function's name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an RPC method",
    label = "not annotated with `#[rpc_method]` or `#[rpc_notification]`",
    note = "`methods![...]` takes paths to functions annotated with `#[rpc_method]` or `#[rpc_notification]`"
)]
pub trait MethodDef {
    /// The JSON-RPC name, for the compile-time duplicate check.
    const NAME: &'static str;
    /// A subscription's unsubscribe method name, checked alike; empty for other methods.
    const UNSUBSCRIBE: &'static str = "";
    /// Builds the descriptor the router holds.
    fn descriptor() -> MethodDescriptor;
}
