// A service method without `&self`.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Math {
    fn add(a: i64, b: i64) -> i64;
}

fn main() {}
