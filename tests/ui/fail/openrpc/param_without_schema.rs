// A param whose type has no JSON schema for `rpc.discover`, reported at the type.
use rpc_runtime::rpc_method;

#[derive(serde::Deserialize)]
struct Point {
    x: i64,
}

#[rpc_method]
fn norm(point: Point) -> i64 {
    point.x.abs()
}

fn main() {}
