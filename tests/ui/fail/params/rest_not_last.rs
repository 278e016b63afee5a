// A variadic param that is followed by another param.
use rpc_runtime::rpc_method;

#[rpc_method]
fn scale(#[rpc(rest)] values: Vec<i64>, factor: i64) -> Vec<i64> {
    values.iter().map(|v| v * factor).collect()
}

fn main() {}
