//! A WebSocket echo through the server's own handshake and connection code, for the Autobahn
//! conformance cases (`tests/python/ws_conformance.py` drives it with kosoku). Not an example to copy:
//! it answers no JSON-RPC.
//!
//! ```text
//! cargo run --example ws_echo -- 127.0.0.1:9001
//! ```

use rpc_runtime::{Router, Server};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let server = Server::builder()
        .websocket_echo()
        // Autobahn's largest messages are 16 MiB.
        .max_request_size(64 * 1024 * 1024)
        .bind(addr, Router::new())
        .await?;
    println!("listening on {}", server.local_addr());
    server
        .serve_with_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}
