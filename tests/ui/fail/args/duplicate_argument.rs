// The same argument given twice.
use rpc_runtime::rpc_method;

#[rpc_method(http = false, http = true)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
