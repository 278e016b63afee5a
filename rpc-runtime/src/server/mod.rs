//! The server: one listener answering JSON-RPC over HTTP `POST` and WebSocket on one path.
//!
//! `builder` makes a `Server` (`listener`) that keeps the builder's `config`; every connection
//! holds the `shared` part. `http` serves a connection in the HTTP version `sniff` tells (or
//! ALPN), `endpoint` answers each request (a `POST`, or an upgrade that `ws` takes over),
//! `response` makes the plain ones; `io` bounds writes, `timer` and `stop` keep a connection's
//! deadline and its wait on the server's stop cheap per request, `idle` tells when an HTTP/2
//! connection has had no request for too long, `service` is the endpoint as a tower service,
//! `tls` reads PEM files.

mod builder;
mod config;
mod endpoint;
mod http;
mod idle;
mod io;
mod listener;
mod response;
mod service;
mod shared;
mod sniff;
mod stop;
mod timer;
#[cfg(feature = "tls")]
mod tls;
mod ws;

pub use builder::ServerBuilder;
pub use listener::{Server, ServerHandle};
pub use service::RpcService;
#[cfg(feature = "tls")]
pub use tls::tls_config_from_pem;
