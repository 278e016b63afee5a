//! The methods of the conformance server: those the JSON-RPC 2.0 specification's examples
//! call, plus a few that exercise errors, panics, options, transports and push. The integration
//! tests serve these same functions.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;
use rpc_runtime::client::{ClientError, RpcClient};
use rpc_runtime::{
    BrokerStatus, Connection, ConnectionId, Context, History, Hub, HubBuilder, Presence, PushError,
    Recovery, Router, RpcError, Shared, Stream, StreamPosition, Topic, methods, rpc_method,
    rpc_notification, rpc_subscription,
};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::{Value, json};
use tokio::sync::broadcast;

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
        join_from,
        leave,
        notify_group,
        broadcast_ticks,
        subscribe_ticks,
        callback,
        connection_id,
        notify_connection,
        groups,
        members,
        broker_status,
    ]
}

/// `hub` with history: a topic `log` and every group keep the last 1,000 pushes for 5 minutes.
pub fn with_history(hub: HubBuilder) -> HubBuilder {
    let history = History::new().size(1000);
    hub.topic(Topic::new("log").history(history))
        .group_history(history)
}

/// The topics `news`, `status` and `ticks`, with the built-ins also under aiohttp-json-rpc's
/// names; unbuilt, so that a broker may be added.
pub fn hub() -> HubBuilder {
    Hub::builder()
        .topic(Topic::new("news"))
        .topic(Topic::new("status"))
        .topic(Topic::new("ticks"))
        .aiohttp_names()
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
pub async fn join(cx: Context, conn: Connection, group: String) -> Result<bool, RpcError> {
    cx.hub().join(&group, conn.id()).await.map_err(push_failed)
}

/// Joins `group` keeping the connection's position in the group's stream, from `since` (the
/// position it last saw) if given; for a hub whose groups keep history (`with_history`).
#[rpc_method]
pub async fn join_from(
    cx: Context,
    conn: Connection,
    group: String,
    since: Option<StreamPosition>,
) -> Result<Recovery, RpcError> {
    cx.hub()
        .join_from(&group, conn.id(), since)
        .await
        .map_err(push_failed)
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

/// The tick feed `broadcast_ticks` sends to `subscribe_ticks` subscriptions: server state.
/// Each item is `Shared`, so that it is serialized once for all of them.
pub struct Ticks(broadcast::Sender<Shared<TickItem>>);

impl Default for Ticks {
    fn default() -> Self {
        // As many items as a subscriber may fall behind by before it skips some.
        Ticks(broadcast::channel(4096).0)
    }
}

/// One tick: `{"seq": i, "pad": "xx.."}`.
#[derive(schemars::JsonSchema)]
pub struct TickItem {
    seq: u64,
    pad: Arc<str>,
}

impl Serialize for TickItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tick = serializer.serialize_struct("Tick", 2)?;
        tick.serialize_field("seq", &self.seq)?;
        tick.serialize_field("pad", &*self.pad)?;
        tick.end()
    }
}

/// Publishes `count` items `{"seq": i, "pad": "xx.."}` (`size` x's) to topic `ticks` and to
/// every `subscribe_ticks` subscription; answers how many receivers the items reached.
#[rpc_method]
pub fn broadcast_ticks(cx: Context, count: u64, size: usize) -> Result<usize, RpcError> {
    if size > 1024 * 1024 || count > 1_000_000 {
        return Err(RpcError::invalid_params(
            "at most 1,000,000 items of at most 1 MiB",
        ));
    }
    let pad: Arc<str> = "x".repeat(size).into();
    // One burst for the topic: framed once, and one entry in each subscriber's queue.
    let ticks = (0..count).map(|seq| Tick { seq, pad: &pad });
    let mut receivers = cx.hub().publish_many("ticks", ticks).map_err(push_failed)?;
    if let Some(subscriptions) = cx.state::<Ticks>().map(|ticks| &ticks.0) {
        let mut reached = 0;
        for seq in 0..count {
            let item = Shared::new(TickItem {
                seq,
                pad: pad.clone(),
            });
            // No subscriber is no error.
            reached = subscriptions.send(item).unwrap_or(0);
        }
        receivers += reached;
    }
    Ok(receivers)
}

/// A typed subscription to what `broadcast_ticks` sends: `unsubscribe_ticks` ends it, items
/// arrive as `ticks` notifications. A subscriber more than 4,096 items behind skips ahead.
#[rpc_subscription]
pub fn subscribe_ticks(
    cx: Context,
) -> Result<impl Stream<Item = Shared<TickItem>> + Send + 'static, RpcError> {
    let ticks = cx
        .state::<Ticks>()
        .ok_or_else(|| RpcError::internal().with_data("this server has no tick feed"))?;
    Ok(stream::unfold(
        ticks.0.subscribe(),
        |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(item) => return Some((item, receiver)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    ))
}

/// Calls `method` with `params` on the calling client and answers with its result; the
/// client's error comes back as it was sent.
#[rpc_method]
pub async fn callback(
    conn: Connection,
    method: String,
    params: Option<Value>,
) -> Result<Value, RpcError> {
    conn.call(&method, params).await.map_err(|err| match err {
        ClientError::Rpc(err) => err,
        other => RpcError::internal().with_data(other.to_string()),
    })
}

/// The calling connection's id, as `notify_connection` takes it.
#[rpc_method]
pub fn connection_id(conn: Connection) -> ConnectionId {
    conn.id()
}

/// Sends the connection `id` a notification, on whichever process it is.
#[rpc_method]
pub fn notify_connection(
    cx: Context,
    id: ConnectionId,
    method: String,
    params: Option<Value>,
) -> Result<(), RpcError> {
    cx.hub().notify(id, &method, params).map_err(push_failed)
}

/// Every group with members on this process.
#[rpc_method]
pub fn groups(cx: Context) -> Vec<String> {
    cx.hub().groups()
}

/// A group's members on every live process (with a broker) or on this one.
#[rpc_method]
pub async fn members(cx: Context, group: String) -> Result<Vec<Presence>, RpcError> {
    cx.hub().presence(&group).await.map_err(push_failed)
}

/// The broker's status; `null` without one.
#[rpc_method]
pub fn broker_status(cx: Context) -> Option<BrokerStatus> {
    cx.hub().broker_status()
}
