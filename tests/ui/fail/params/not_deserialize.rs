// A param whose type cannot be deserialized.
use rpc_runtime::rpc_method;

struct Point {
    x: i64,
}

#[rpc_method]
fn norm(point: Point) -> i64 {
    point.x.abs()
}

fn main() {}
