// A flag written without its value.
use rpc_runtime::rpc_method;

#[rpc_method(blocking)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
