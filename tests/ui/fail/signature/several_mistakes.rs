// Several mistakes in one item are all reported in one compile.
use rpc_runtime::rpc_method;

#[rpc_method(htp = false, websocket = "no")]
fn add<T>(name: &str, (a, b): (i64, i64)) -> i64 {
    a + b + name.len() as i64
}

fn main() {}
