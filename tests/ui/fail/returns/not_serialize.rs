// A return type that cannot be serialized.
use rpc_runtime::rpc_method;

struct Point {
    x: i64,
}

#[rpc_method]
fn origin() -> Point {
    Point { x: 0 }
}

fn main() {}
