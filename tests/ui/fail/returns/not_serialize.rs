// A return type that cannot be serialized.
use rpc_runtime::rpc_method;

#[derive(schemars::JsonSchema)]
struct Point {
    x: i64,
}

#[rpc_method]
fn origin() -> Point {
    Point { x: 0 }
}

fn main() {}
