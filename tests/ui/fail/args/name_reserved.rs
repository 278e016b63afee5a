// Names beginning with `rpc.` belong to the protocol.
use rpc_runtime::rpc_method;

#[rpc_method("rpc.add")]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
