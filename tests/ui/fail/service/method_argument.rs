// A method attribute inside a service, with a misspelt argument: checked as on a function.
use rpc_runtime::rpc_service;

#[rpc_service]
trait Math {
    #[rpc_method(websockets = false)]
    fn add(&self, a: i64, b: i64) -> i64;
}

fn main() {}
