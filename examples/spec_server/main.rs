//! The conformance server: the methods the JSON-RPC 2.0 specification's examples call, over
//! HTTP and WebSocket at `/`, and the push methods (topics `news`, `status`, `ticks`; the
//! `subscribe_ticks` subscription; `callback`, which calls the client back) over WebSocket.
//!
//! ```text
//! cargo run --example spec_server -- 127.0.0.1:8080
//! ```
//!
//! Prints `listening on ADDR` once bound (port 0 picks a free port) and serves until Ctrl-C.

mod methods;

use rpc_runtime::Server;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server = Server::builder()
        .hub(methods::hub())
        .state(methods::Ticks::default())
        .bind(addr, methods::router())
        .await?;
    println!("listening on {}", server.local_addr());
    server
        .serve_with_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}
