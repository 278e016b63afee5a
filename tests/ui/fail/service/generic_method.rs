// A generic service method.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Echo {
    fn echo<T: serde::Serialize>(&self, value: T) -> T;
}

fn main() {}
