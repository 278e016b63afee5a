// A function without the attribute. rustc reports it while resolving names, before any
// trait a macro could attach a message to: `expected type, found function`. The `methods!`
// documentation and the README say what it means.
use rpc_runtime::methods;

fn ping() -> &'static str {
    "pong"
}

fn main() {
    let _router = methods![ping];
}
