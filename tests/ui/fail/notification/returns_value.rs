// A notification handler that returns a value nobody would receive.
use rpc_runtime::rpc_notification;

#[rpc_notification]
fn update(values: Vec<i64>) -> usize {
    values.len()
}

fn main() {}
