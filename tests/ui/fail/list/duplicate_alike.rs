// Two functions named alike in different modules: the message tells them apart.
use rpc_runtime::{methods, rpc_method};

mod v1 {
    #[rpc_runtime::rpc_method]
    pub fn ping() -> &'static str {
        "pong"
    }
}

#[rpc_method]
fn ping() -> &'static str {
    "pong"
}

fn main() {
    let _router = methods![ping, v1::ping];
}
