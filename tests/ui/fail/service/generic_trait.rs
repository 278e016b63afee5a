// A generic service trait.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Store<T> {
    fn get(&self, key: String) -> Option<String>;
}

fn main() {}
