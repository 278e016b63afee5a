// The method name written as a path instead of a string literal.
use rpc_runtime::rpc_method;

#[rpc_method(math.add)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
