//! The endpoint as a tower service: mounted in axum beside another route on one port, behind
//! tower-http layers, answering HTTP and WebSocket (the `axum` example's app, served for real).

#[allow(dead_code)] // its `main`
#[path = "../examples/integrations/axum.rs"]
mod example;

mod common;

use common::{Http, Ws, timed};
use rpc_runtime::client::{RpcClient, WsClient};
use serde_json::json;

#[tokio::test]
async fn axum_serves_the_endpoint_beside_its_own_routes_through_tower_layers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(async move { axum::serve(listener, example::app()).await });

    let rpc = Http::new(format!("http://{addr}/rpc"));
    let call = json!({"jsonrpc": "2.0", "method": "add", "params": [40, 2], "id": 1}).to_string();
    let reply = rpc.post(&call).await;
    assert_eq!(reply.json()["result"], 42, "{}", reply.body);
    // The CORS layer wrapped the answer.
    assert_eq!(reply.headers["access-control-allow-origin"], "*");

    let health = Http::new(format!("http://{addr}/health"));
    let request = http::Request::get(&health.url)
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert_eq!(health.send(request).await.body, "ok");

    // WebSocket upgrades pass through axum to the same methods.
    let client = timed("connect", WsClient::connect(format!("ws://{addr}/rpc")))
        .await
        .unwrap();
    assert_eq!(client.call::<i64>("add", (1, 2)).await.unwrap(), 3);
    let mut raw = Ws::connect(&format!("ws://{addr}/rpc")).await;
    assert_eq!(raw.call(&call).await["result"], 42);
    serving.abort();
}
