// A guard that takes the context by value and answers a Result, where `fn(&Context) -> bool` is
// expected.
use rpc_runtime::{Context, RpcError, rpc_method};

fn logged_in(_cx: Context) -> Result<(), RpcError> {
    Ok(())
}

#[rpc_method(guard = logged_in)]
fn secret() -> u64 {
    42
}

fn main() {}
