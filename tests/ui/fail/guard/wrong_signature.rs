// Guards of shapes no guard has: the context by value in a plain function (a guard borrows
// it), and an answer that is neither `bool` nor `Result<(), RpcError>`.
use rpc_runtime::{Context, rpc_method};

fn is_admin(_cx: Context) -> bool {
    true
}

fn level(_cx: &Context) -> u8 {
    3
}

#[rpc_method(guard = is_admin)]
fn secret() -> u64 {
    42
}

#[rpc_method(guard = level)]
fn deeper() -> u64 {
    43
}

fn main() {}
