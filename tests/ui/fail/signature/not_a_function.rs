// The attribute on something other than a function.
use rpc_runtime::rpc_method;

#[rpc_method]
struct Add;

fn main() {}
