// An argument `#[rpc(...)]` on a param does not know.
use rpc_runtime::rpc_method;

#[rpc_method]
fn sum(#[rpc(variadic)] values: Vec<i64>) -> i64 {
    values.iter().sum()
}

fn main() {}
