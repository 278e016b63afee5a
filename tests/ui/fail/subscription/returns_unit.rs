// A subscription returns the stream of its items.
use rpc_runtime::rpc_subscription;

#[rpc_subscription]
fn subscribe_nothing() {}

fn main() {}
