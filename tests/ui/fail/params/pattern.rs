// A param written as a pattern, which has no name for named calls.
use rpc_runtime::rpc_method;

#[rpc_method]
fn add((a, b): (i64, i64)) -> i64 {
    a + b
}

fn main() {}
