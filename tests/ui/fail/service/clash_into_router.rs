// A method named like the one the macro adds to the trait.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Admin {
    fn into_router(&self) -> String;
}

fn main() {}
