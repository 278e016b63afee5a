// Two methods of one service that claim the same JSON-RPC name.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Math {
    fn add(&self, a: i64, b: i64) -> i64;
    #[rpc_method("add")]
    fn plus(&self, a: i64, b: i64) -> i64;
}

fn main() {}
