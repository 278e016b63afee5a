// A service result the typed client cannot deserialize, reported at the type.
use rpc_runtime::rpc_service;

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Point {
    x: i64,
}

#[rpc_service]
trait Geometry {
    fn origin(&self) -> Point;
}

fn main() {}
