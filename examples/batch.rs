//! Batches from the client: several calls and notifications in one message, each answer typed
//! on its own, over HTTP and WebSocket alike.
//!
//! ```text
//! cargo run --example batch
//! ```
//!
//! Serves on a free port, sends one batch over each transport, prints the answers, and exits.

use rpc_runtime::client::{Batch, HttpClient, RpcClient, WsClient};
use rpc_runtime::{RpcError, Server, methods, rpc_method, rpc_notification};

#[rpc_method]
fn subtract(minuend: i64, subtrahend: i64) -> i64 {
    minuend - subtrahend
}

#[rpc_method]
fn greet(name: String) -> String {
    format!("hello, {name}")
}

#[rpc_method]
fn divide(a: i64, b: i64) -> Result<i64, RpcError> {
    a.checked_div(b)
        .ok_or_else(|| RpcError::invalid_params("division by zero"))
}

#[rpc_notification]
fn log(line: String) {
    println!("server log: {line}");
}

/// One batch: three calls (one fails on its own) and a notification.
async fn send(client: &impl RpcClient, via: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut batch = Batch::new();
    let difference = batch.call::<i64>("subtract", (42, 23))?;
    let greeting = batch.call::<String>("greet", [via])?;
    let quotient = batch.call::<i64>("divide", (1, 0))?;
    batch.notify("log", [format!("a batch over {via}")])?;
    let answers = client.batch(batch).await?;
    println!("{via}: subtract -> {}", answers.get(&difference)?);
    println!("{via}: greet -> {}", answers.get(&greeting)?);
    println!("{via}: divide -> {}", answers.get(&quotient).unwrap_err());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::bind("127.0.0.1:0", methods![subtract, greet, divide, log]).await?;
    let addr = server.local_addr();
    let server = server.spawn();
    send(&HttpClient::new(&format!("http://{addr}/"))?, "http").await?;
    send(
        &WsClient::connect(format!("ws://{addr}/")).await?,
        "websocket",
    )
    .await?;
    server.stop().await;
    Ok(())
}
