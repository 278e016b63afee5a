// An `impl Trait` param, which makes the function generic.
use rpc_runtime::rpc_method;

#[rpc_method]
fn show(value: impl std::fmt::Display) -> String {
    value.to_string()
}

fn main() {}
