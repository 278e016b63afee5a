// A borrowed `&str` param, which cannot outlive the request it is read from.
use rpc_runtime::rpc_method;

#[rpc_method]
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}

fn main() {}
