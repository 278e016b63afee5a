//! The methods of the conformance server: those the JSON-RPC 2.0 specification's examples
//! call, plus a few that exercise errors, panics, options, transports and push. The integration
//! tests serve these same functions.

use std::time::Duration;

use rpc_runtime::{
    Connection, Context, Hub, PushError, Router, RpcError, Topic, methods, rpc_method,
    rpc_notification,
};
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
        publish,
        notify_me,
        join,
        leave,
        notify_group,
        broadcast_ticks,
    ]
}

/// The topics `news`, `status` and `ticks`, with the built-ins also under aiohttp-json-rpc's
/// names.
pub fn hub() -> Hub {
    Hub::builder()
        .topic(Topic::new("news"))
        .topic(Topic::new("status"))
        .topic(Topic::new("ticks"))
        .aiohttp_names()
        .build()
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

fn push_failed(err: PushError) -> RpcError {
    RpcError::invalid_params(err.to_string())
}

/// Publishes `data` to `topic`; answers how many connections it reached.
#[rpc_method]
pub fn publish(
    cx: Context,
    topic: String,
    data: Value,
    retain: Option<bool>,
) -> Result<usize, RpcError> {
    let published = if retain.unwrap_or(false) {
        cx.hub().publish_retained(&topic, data)
    } else {
        cx.hub().publish(&topic, data)
    };
    published.map_err(push_failed)
}

/// Sends the calling connection alone a notification.
#[rpc_method]
pub fn notify_me(conn: Connection, method: String, params: Option<Value>) -> Result<(), RpcError> {
    conn.notify(&method, params).map_err(push_failed)
}

/// Joins `group`; `false` if the connection was a member already.
#[rpc_method]
pub fn join(cx: Context, conn: Connection, group: String) -> Result<bool, RpcError> {
    cx.hub().join(&group, conn.id()).map_err(push_failed)
}

/// Leaves `group`; `false` if the connection was not a member.
#[rpc_method]
pub fn leave(cx: Context, conn: Connection, group: String) -> bool {
    cx.hub().leave(&group, conn.id())
}

/// Notifies every member of `group`; answers how many connections it reached.
#[rpc_method]
pub fn notify_group(
    cx: Context,
    group: String,
    method: String,
    params: Option<Value>,
) -> Result<usize, RpcError> {
    cx.hub()
        .notify_group(&group, &method, params)
        .map_err(push_failed)
}

#[derive(serde::Serialize)]
struct Tick<'a> {
    seq: u64,
    pad: &'a str,
}

/// Publishes `count` items `{"seq": i, "pad": "xx.."}` (`size` x's) to topic `ticks`; answers
/// how many connections the items reached.
#[rpc_method]
pub fn broadcast_ticks(cx: Context, count: u64, size: usize) -> Result<usize, RpcError> {
    if size > 1024 * 1024 || count > 1_000_000 {
        return Err(RpcError::invalid_params(
            "at most 1,000,000 items of at most 1 MiB",
        ));
    }
    let pad = "x".repeat(size);
    let mut receivers = 0;
    for seq in 0..count {
        receivers = cx
            .hub()
            .publish("ticks", Tick { seq, pad: &pad })
            .map_err(push_failed)?;
    }
    Ok(receivers)
}
