// A method switched off for both transports could never be called.
use rpc_runtime::rpc_method;

#[rpc_method(http = false, websocket = false)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
