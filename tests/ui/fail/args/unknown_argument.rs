// An argument the attribute does not know, misspelt.
use rpc_runtime::rpc_method;

#[rpc_method("add", htp = false)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
