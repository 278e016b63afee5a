// A method named like the generated client's constructor.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Accounts {
    fn new(&self, owner: String) -> u64;
}

fn main() {}
