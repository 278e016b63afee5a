// The context taken by reference.
use rpc_runtime::{Context, rpc_method};

#[rpc_method]
fn whoami(cx: &Context) -> u64 {
    cx.connection_id().get()
}

fn main() {}
