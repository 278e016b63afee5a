// A generic function, whose param types are not known.
use rpc_runtime::rpc_method;

#[rpc_method]
fn echo<T: serde::Serialize>(value: T) -> T {
    value
}

fn main() {}
