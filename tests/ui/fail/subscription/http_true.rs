// A subscription sends items over its connection, which HTTP does not keep.
use rpc_runtime::{Stream, rpc_subscription};

#[rpc_subscription(http = true)]
fn subscribe_ticks() -> impl Stream<Item = u64> + Send + 'static {
    futures_util::stream::iter(0..3)
}

fn main() {}
