// The service attribute on something other than a trait.
use rpc_runtime::rpc_service;

#[rpc_service]
struct Math;

fn main() {}
