//! Dispatch: any bytes, as a WebSocket binary frame would carry them, to a router with methods
//! of every param shape (and the built-in topic methods). The answer must be JSON, or nothing:
//! syntax only, since ids are echoed as written and JSON numbers have no range (`1e666` is
//! one, which `serde_json::Value` would refuse).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rpc_runtime::client::TestClient;
use rpc_runtime::{Hub, RpcError, Topic, methods, rpc_method, rpc_notification};

#[rpc_method]
fn subtract(minuend: i64, subtrahend: i64) -> Result<i64, RpcError> {
    minuend
        .checked_sub(subtrahend)
        .ok_or_else(|| RpcError::invalid_params("overflow"))
}

#[rpc_method]
fn greet(name: String, greeting: Option<String>) -> String {
    format!("{}, {name}", greeting.unwrap_or_default())
}

#[rpc_method]
fn sum(#[rpc(rest)] values: Vec<f64>) -> f64 {
    values.iter().sum()
}

#[rpc_method]
fn echo(value: serde_json::Value) -> serde_json::Value {
    value
}

#[rpc_notification]
fn note(text: String) {
    let _ = text;
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    })
}

fuzz_target!(|bytes: &[u8]| {
    let hub = Hub::builder().topic(Topic::new("news")).build();
    let client = TestClient::builder(methods![subtract, greet, sum, echo, note])
        .hub(hub)
        .build();
    if let Some(answer) = runtime().block_on(client.request_bytes(bytes)) {
        serde_json::from_str::<Box<serde_json::value::RawValue>>(&answer)
            .expect("answers are JSON");
    }
});
