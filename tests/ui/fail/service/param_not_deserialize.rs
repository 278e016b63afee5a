// A service param whose type cannot be deserialized, reported at the type.
use rpc_runtime::rpc_service;

#[derive(schemars::JsonSchema)]
struct Point {
    x: i64,
}

#[rpc_service]
trait Geometry {
    fn norm(&self, point: Point) -> i64;
}

fn main() {}
