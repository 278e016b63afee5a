// An argument `#[rpc_service]` does not know.
use rpc_runtime::rpc_service;

#[rpc_service(prefix = "math")]
trait Math {
    fn add(&self, a: i64, b: i64) -> i64;
}

fn main() {}
