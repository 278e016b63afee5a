// Two functions in one `methods![]` list that claim the same method name.
use rpc_runtime::{methods, rpc_method};

#[rpc_method]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[rpc_method("add")]
fn plus(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {
    let _router = methods![add, plus];
}
