// A foreign error type with no `From` into `RpcError` (which the orphan rule forbids writing)
// is answered by its `Display` text as a -32000 server error; the user's own types and
// `RpcError` keep their conversion.
use rpc_runtime::{RpcError, methods, rpc_method};

#[rpc_method]
fn parse(text: String) -> Result<i64, std::num::ParseIntError> {
    text.parse()
}

#[derive(Debug)]
enum AppError {
    NotFound,
}

impl From<AppError> for RpcError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound => RpcError::new(4004, "not found"),
        }
    }
}

// Also `Display`: the `From` conversion still wins.
impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not found (Display)")
    }
}

#[rpc_method]
async fn find(id: u64) -> Result<u64, AppError> {
    if id == 0 { Err(AppError::NotFound) } else { Ok(id) }
}

fn main() {
    let _router = methods![parse, find];
}
