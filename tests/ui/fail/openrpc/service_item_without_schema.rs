// A service subscription whose items have no JSON schema for `rpc.discover`, reported at the
// item type.
use rpc_runtime::{Stream, rpc_service};

#[derive(serde::Serialize, serde::Deserialize)]
struct Tick {
    seq: u64,
}

#[rpc_service]
trait Clock {
    #[rpc_subscription]
    fn subscribe_ticks(&self) -> impl Stream<Item = Tick>;
}

fn main() {}
