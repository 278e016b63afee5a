// A service's typed client needs the item type, which a named stream type hides.
use rpc_runtime::rpc_service;

type Ticks = std::pin::Pin<Box<dyn futures_util::Stream<Item = u64> + Send>>;

#[rpc_service]
trait Feed {
    #[rpc_subscription]
    fn subscribe_ticks(&self) -> Ticks;
}

fn main() {}
