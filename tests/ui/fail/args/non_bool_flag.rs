// A transport flag given something other than `true` or `false`.
use rpc_runtime::rpc_method;

#[rpc_method(http = "no")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
