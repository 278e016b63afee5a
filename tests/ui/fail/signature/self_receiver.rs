// A method with a `self` receiver.
use rpc_runtime::rpc_method;

struct Calculator;

impl Calculator {
    #[rpc_method]
    fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn main() {}
