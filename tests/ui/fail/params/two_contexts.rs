// More than one context param.
use rpc_runtime::{Context, rpc_method};

#[rpc_method]
fn whoami(cx: Context, again: Context) -> u64 {
    cx.connection_id().get() + again.connection_id().get()
}

fn main() {}
