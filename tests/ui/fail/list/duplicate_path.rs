// One function listed twice.
use rpc_runtime::{methods, rpc_method};

#[rpc_method]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {
    let _router = methods![add, add];
}
