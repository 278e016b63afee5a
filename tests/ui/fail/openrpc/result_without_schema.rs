// A result whose type has no JSON schema for `rpc.discover`, reported at the type.
use rpc_runtime::rpc_method;

#[derive(serde::Serialize)]
struct Point {
    x: i64,
}

#[rpc_method]
fn origin() -> Point {
    Point { x: 0 }
}

fn main() {}
