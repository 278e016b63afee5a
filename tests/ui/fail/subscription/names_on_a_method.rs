// Unsubscribe and notification names belong to subscriptions only.
use rpc_runtime::rpc_method;

#[rpc_method(unsubscribe = "stop")]
fn start() {}

fn main() {}
