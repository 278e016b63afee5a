// Two params that would share one name in named calls.
use rpc_runtime::rpc_method;

#[rpc_method]
fn add(a: i64, #[rpc(name = "a")] b: i64) -> i64 {
    a + b
}

fn main() {}
