// A closure, or a string, where the guard function's path belongs; and two guards.
use rpc_runtime::{Context, rpc_method, rpc_service};

fn admin(_cx: &Context) -> bool {
    false
}

#[rpc_method(guard = |cx| cx.connection().is_some())]
fn secret() -> u64 {
    42
}

#[rpc_method(guard = "admin")]
fn also_secret() -> u64 {
    42
}

#[rpc_service]
trait Vault {
    #[rpc_method(guard = admin, guard = admin)]
    fn open(&self) -> bool;
}

fn main() {}
