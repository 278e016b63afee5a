//! Discovery: `rpc.discover` answers an OpenRPC 1.3.2 document built from the methods'
//! annotations (their doc comments, params and result types), and `rpc.methods` the names the
//! caller may call. Both are built once, when the server is, and each caller is shown only what
//! its transport and the methods' guards let it call.

mod document;

use std::sync::Arc;

use document::Document;
pub(crate) use document::Info;

use crate::method::{MethodKind, Outcome};
use crate::params::Params;
use crate::{Context, MethodDescriptor, Router};

/// The discovery methods for `router` (every other method the server serves): `rpc.discover`,
/// `rpc.methods`, and with `aiohttp_names`, `get_methods`.
pub(crate) fn methods(router: &Router, info: &Info, aiohttp_names: bool) -> Router {
    let mut names: Vec<&'static str> = vec!["rpc.methods"];
    if aiohttp_names {
        names.push("get_methods");
    }
    let document = Arc::new(Document::build(router, &names, info));
    let discover = {
        let document = document.clone();
        MethodDescriptor::shared(
            "rpc.discover",
            concat!(module_path!(), "::discover"),
            MethodKind::Call,
            true,
            true,
            move |cx: Context, _: Params<'_>| {
                let document = document.clone();
                Ok(Outcome::Pending(Box::pin(async move {
                    Ok(document.for_caller(&cx).await)
                })))
            },
        )
    };
    let mut discovery = Router::new()
        .register(discover)
        .unwrap_or_else(|err| unreachable!("one name: {err}"));
    for name in names {
        let document = document.clone();
        let list = MethodDescriptor::shared(
            name,
            concat!(module_path!(), "::methods"),
            MethodKind::Call,
            true,
            true,
            move |cx: Context, _: Params<'_>| {
                let document = document.clone();
                Ok(Outcome::Pending(Box::pin(async move {
                    crate::method::encode(&document.names_for(&cx).await)
                })))
            },
        );
        discovery = discovery
            .register(list)
            .unwrap_or_else(|err| unreachable!("distinct names: {err}"));
    }
    discovery
}
