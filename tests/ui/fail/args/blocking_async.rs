// `blocking = true` on an async function, which already runs on the runtime's tasks.
use rpc_runtime::rpc_method;

#[rpc_method(blocking = true)]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
