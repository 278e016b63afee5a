// A subscription's items are sent as JSON, so they must be `Serialize`.
use rpc_runtime::{Stream, rpc_subscription};

#[derive(schemars::JsonSchema)]
struct Secret;

#[rpc_subscription]
fn subscribe_secrets() -> impl Stream<Item = Secret> + Send + 'static {
    futures_util::stream::iter([Secret])
}

fn main() {}
