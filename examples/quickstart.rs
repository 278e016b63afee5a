//! A small server on 127.0.0.1:8080. In another terminal:
//!
//! ```text
//! curl -s -H 'Content-Type: application/json' \
//!   -d '{"jsonrpc":"2.0","method":"math.subtract","params":{"minuend":42,"subtrahend":23},"id":1}' \
//!   http://127.0.0.1:8080/
//! ```

use rpc_runtime::{Context, RpcError, Server, methods, rpc_method};

#[rpc_method("math.subtract")]
async fn subtract(minuend: i64, subtrahend: i64) -> Result<i64, RpcError> {
    minuend
        .checked_sub(subtrahend)
        .ok_or_else(|| RpcError::invalid_params("the difference overflows i64"))
}

#[rpc_method("math.sum")]
fn sum(#[rpc(rest)] values: Vec<i64>) -> i64 {
    values.iter().sum()
}

#[rpc_method]
fn hello(name: Option<String>, cx: Context) -> String {
    let peer = cx
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.to_string());
    format!(
        "hello, {} (from {peer})",
        name.as_deref().unwrap_or("world")
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().init();
    let server = Server::bind("127.0.0.1:8080", methods![subtract, sum, hello]).await?;
    println!("listening on {}", server.local_addr());
    server
        .serve_with_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}
