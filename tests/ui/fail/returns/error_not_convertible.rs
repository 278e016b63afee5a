// An error type with neither a `From` conversion into `RpcError` nor `Display`.
use rpc_runtime::rpc_method;

#[derive(Debug)]
struct Overflow;

#[rpc_method]
fn add(a: i64, b: i64) -> Result<i64, Overflow> {
    a.checked_add(b).ok_or(Overflow)
}

fn main() {}
