//! Server state and request headers: a handler reads a value the server was built with and the
//! caller's headers from its `Context`; clients send headers as strings, over HTTP and in the
//! WebSocket handshake.
//!
//! ```text
//! cargo run --example state_and_headers
//! ```
//!
//! Serves on a free port, calls as two users over both transports, prints the answers, and
//! exits.

use std::sync::atomic::{AtomicU64, Ordering};

use rpc_runtime::client::{HttpClient, RpcClient, WsClient};
use rpc_runtime::{Context, RpcError, Server, methods, rpc_method};

/// Shared by every call: put in with `ServerBuilder::state`, read with `Context::state`.
#[derive(Default)]
struct Visits(AtomicU64);

/// Greets the caller named by the `x-user` header and counts the visit.
#[rpc_method]
fn hello(cx: Context) -> Result<String, RpcError> {
    let user = cx
        .headers()
        .get("x-user")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| RpcError::new(4001, "send an x-user header"))?;
    let visits = cx.state::<Visits>().expect("the server counts visits");
    let visit = visits.0.fetch_add(1, Ordering::Relaxed) + 1;
    Ok(format!(
        "hello {user}, visit {visit}, over {:?}",
        cx.transport()
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .state(Visits::default())
        .bind("127.0.0.1:0", methods![hello])
        .await?;
    let addr = server.local_addr();
    let server = server.spawn();

    let ann = HttpClient::builder()
        .header("x-user", "ann")
        .build(&format!("http://{addr}/"))?;
    println!("{}", ann.call::<String>("hello", ()).await?);

    let bob = WsClient::builder()
        .header("x-user", "bob")
        .connect(format!("ws://{addr}/"))
        .await?;
    println!("{}", bob.call::<String>("hello", ()).await?);

    let nobody = HttpClient::new(&format!("http://{addr}/"))?;
    println!("{}", nobody.call::<String>("hello", ()).await.unwrap_err());
    server.stop().await;
    Ok(())
}
