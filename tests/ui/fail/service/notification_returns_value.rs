// A service notification that returns a value.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Log {
    #[rpc_notification]
    fn line(&self, text: String) -> usize;
}

fn main() {}
