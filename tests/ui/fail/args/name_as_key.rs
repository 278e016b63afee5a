// The method name written as `name = ...`, as other frameworks spell it.
use rpc_runtime::rpc_method;

#[rpc_method(name = "math.add")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
