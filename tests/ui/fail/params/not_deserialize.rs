// A param whose type cannot be deserialized.
use rpc_runtime::rpc_method;

#[derive(schemars::JsonSchema)]
struct Point {
    x: i64,
}

#[rpc_method]
fn norm(point: Point) -> i64 {
    point.x.abs()
}

fn main() {}
