// A variadic param whose type is not a `Vec`.
use rpc_runtime::rpc_method;

#[rpc_method]
fn sum(#[rpc(rest)] values: [i64; 3]) -> i64 {
    values.iter().sum()
}

fn main() {}
