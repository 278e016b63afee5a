// A service method taking `&mut self`, which concurrent calls cannot share.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Counter {
    fn increment(&mut self) -> u64;
}

fn main() {}
