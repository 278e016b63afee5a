//! What the macros' generated code names, and nothing else. Not a public API: it changes
//! without notice.
//!
//! One module per generator in `rpc-macros/src/expand/`, as serde's `__private::{de, ser}`:
//! `method` for the descriptor every annotated function and service method gets, `handler`
//! for the glue inside a handler, `subscription` for a subscription's, `client` for a typed
//! client, `list` for `methods![]` and a service's router.

pub mod client;
pub mod handler;
pub mod list;
pub mod method;
pub mod subscription;

/// For the fuzz targets (`fuzz/`, built with `--cfg fuzzing`): reads `text` as each side reads an incoming message, the server's
/// request parser and the client's answer parser; whatever it is, neither may panic.
#[cfg(fuzzing)]
pub fn parse_incoming(text: &str) {
    let _ = crate::protocol::Message::parse(text);
    #[cfg(feature = "client")]
    let _ = crate::client::wire::single_outcome(text, 1);
}
