//! One trait, both sides: a service defined as a trait is served beside a free function, then
//! called through its generated typed client over WebSocket and over HTTP.
//!
//! ```text
//! cargo run --example typed_client
//! ```

use std::sync::Mutex;

use rpc_runtime::client::{HttpClient, WsClient};
use rpc_runtime::{RpcError, Server, methods, rpc_method, rpc_service};

/// A key-value store, described once.
#[rpc_service(namespace = "kv")]
pub trait Store {
    /// Stores `value` under `key`; returns the previous value.
    async fn put(&self, key: String, value: String) -> Option<String>;

    /// The value under `key`, or error -32004 if there is none.
    fn get(&self, key: String) -> Result<String, RpcError>;

    /// Forgets everything; fire-and-forget.
    #[rpc_notification]
    fn clear(&self);
}

#[derive(Default)]
struct MemoryStore {
    entries: Mutex<std::collections::HashMap<String, String>>,
}

impl Store for MemoryStore {
    async fn put(&self, key: String, value: String) -> Option<String> {
        self.entries.lock().unwrap().insert(key, value)
    }

    fn get(&self, key: String) -> Result<String, RpcError> {
        let entries = self.entries.lock().unwrap();
        entries
            .get(&key)
            .cloned()
            .ok_or_else(|| RpcError::new(-32004, format!("no value for {key:?}")))
    }

    fn clear(&self) {
        self.entries.lock().unwrap().clear();
    }
}

#[rpc_method]
fn ping() -> &'static str {
    "pong"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = MemoryStore::default().into_router().merge(methods![ping])?;
    let server = Server::bind("127.0.0.1:0", router).await?;
    let addr = server.local_addr();
    let handle = server.spawn();

    let ws = StoreClient::new(WsClient::connect(format!("ws://{addr}/")).await?);
    let previous = ws.put("greeting".into(), "hello".into()).await?;
    println!("ws:   put greeting -> previous {previous:?}");
    println!(
        "ws:   get greeting -> {:?}",
        ws.get("greeting".into()).await?
    );

    let http = StoreClient::new(HttpClient::new(&format!("http://{addr}/"))?);
    println!(
        "http: get greeting -> {:?}",
        http.get("greeting".into()).await?
    );
    http.clear().await?;
    match http.get("greeting".into()).await {
        Err(err) => println!("http: get after clear -> {err}"),
        Ok(value) => println!("http: get after clear -> unexpectedly {value:?}"),
    }

    handle.stop().await;
    Ok(())
}
