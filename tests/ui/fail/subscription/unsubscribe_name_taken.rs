// The unsubscribe method a subscription registers takes its name in `methods![]` too.
use rpc_runtime::{Stream, methods, rpc_method, rpc_subscription};

#[rpc_subscription]
fn subscribe_ticks() -> impl Stream<Item = u64> + Send + 'static {
    futures_util::stream::iter(0..3)
}

#[rpc_method]
fn unsubscribe_ticks() {}

fn main() {
    let _ = methods![subscribe_ticks, unsubscribe_ticks];
}
