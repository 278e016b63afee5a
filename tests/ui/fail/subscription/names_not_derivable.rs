// A name that does not start with `subscribe_` says its other names; here one is missing.
use rpc_runtime::{Stream, rpc_subscription};

#[rpc_subscription("ticks.watch", unsubscribe = "ticks.unwatch")]
fn watch() -> impl Stream<Item = u64> + Send + 'static {
    futures_util::stream::iter(0..3)
}

fn main() {}
