//! The JSON-RPC endpoint mounted in an axum app, beside a plain route, on one port, wrapped in
//! tower-http's CORS and timeout layers. HTTP `POST /rpc` and WebSocket `/rpc` both work.
//!
//! ```text
//! cargo run -p integrations --example axum
//! curl -s localhost:3000/health
//! curl -s localhost:3000/rpc -H 'content-type: application/json' \
//!      -d '{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}'
//! ```

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use rpc_runtime::{Server, methods, rpc_method};
use tower_http::cors::CorsLayer;
use tower_http::timeout::TimeoutLayer;

#[rpc_method]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// The app: `/health` for the load balancer, `/rpc` for JSON-RPC.
pub fn app() -> Router {
    let rpc = Server::builder()
        .path("/rpc")
        .into_service(methods![add])
        .expect("no method name is taken twice");
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service("/rpc", rpc)
        .layer(CorsLayer::permissive())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "serving on http://{}/rpc until Ctrl-C",
        listener.local_addr()?
    );
    axum::serve(listener, app())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
