//! The methods of the conformance server: those the JSON-RPC 2.0 specification's examples
//! call, plus a few that exercise errors, panics, options and transports. The integration tests
//! serve these same functions.

use std::time::Duration;

use rpc_runtime::{Router, RpcError, methods, rpc_method, rpc_notification};
use serde_json::{Value, json};

pub fn router() -> Router {
    methods![
        subtract,
        sum,
        get_data,
        update,
        notify_hello,
        echo,
        greet,
        fail_custom,
        panic,
        sleep,
        ws_only,
        http_only,
    ]
}

#[rpc_method]
pub fn subtract(minuend: i64, subtrahend: i64) -> Result<i64, RpcError> {
    minuend
        .checked_sub(subtrahend)
        .ok_or_else(|| RpcError::invalid_params("the difference overflows i64"))
}

#[rpc_method]
pub fn sum(#[rpc(rest)] values: Vec<i64>) -> Result<i64, RpcError> {
    values
        .iter()
        .try_fold(0i64, |total, value| total.checked_add(*value))
        .ok_or_else(|| RpcError::invalid_params("the sum overflows i64"))
}

#[rpc_method]
pub fn get_data() -> (&'static str, i64) {
    ("hello", 5)
}

#[rpc_notification]
pub fn update(#[rpc(rest)] values: Vec<i64>) {
    tracing::info!(?values, "update");
}

#[rpc_notification]
pub fn notify_hello(#[rpc(rest)] values: Vec<i64>) {
    tracing::info!(?values, "hello");
}

#[rpc_method]
pub fn echo(value: Value) -> Value {
    value
}

#[rpc_method]
pub fn greet(name: String, greeting: Option<String>) -> String {
    format!("{}, {name}!", greeting.as_deref().unwrap_or("Hello"))
}

#[rpc_method]
pub fn fail_custom() -> Result<(), RpcError> {
    Err(RpcError::new(-32001, "custom failure").with_data(json!({ "reason": "testing" })))
}

#[rpc_method]
pub fn panic() {
    panic!("the `panic` method always panics");
}

#[rpc_method]
pub async fn sleep(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[rpc_method(http = false)]
pub fn ws_only() -> &'static str {
    "ws"
}

#[rpc_method(websocket = false)]
pub fn http_only() -> &'static str {
    "http"
}
