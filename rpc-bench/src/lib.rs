//! Benchmarks of rpc-runtime beside jsonrpsee and the bare transport stack: the three servers
//! the load harness drives, and what the criterion benches call in process.

// Unpublished: its public items serve its own binary and benches, not readers of docs.
#![allow(missing_docs)]

// The conformance example's methods, served as `cargo run -p integrations --example spec_server` serves them.
#[path = "../../examples/integrations/spec_server/methods.rs"]
#[allow(dead_code)] // the servers take the part they serve
mod spec;

pub mod attack;
pub mod cluster;
pub mod compile;
pub mod load;
pub mod servers;
