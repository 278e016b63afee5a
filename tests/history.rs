//! History and recovery in one process: a subscriber that comes back from the position it last
//! saw gets every publication after it, once and in order, or is told that it cannot; real
//! WebSocket clients (tokio-tungstenite) on a real server.

mod common;

use std::time::Duration;

use common::{TestServer, Ws, spec, timed};
use rpc_runtime::{History, PushError, Server, StreamPosition, Topic};
use serde_json::{Value, json};

/// The conformance server with a topic `log` that keeps `history`, and groups that keep the
/// same.
async fn server(history: History) -> TestServer {
    let hub = spec::hub()
        .topic(Topic::new("log").history(history))
        .group_history(history)
        .build();
    TestServer::start_router(Server::builder().hub(hub), spec::router()).await
}

/// Sends a call and returns its answer, with the notifications that came before it.
async fn call(ws: &mut Ws, method: &str, params: Value) -> (Value, Vec<Value>) {
    let request = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
    ws.send_text(&request.to_string()).await;
    let mut before = Vec::new();
    loop {
        let message = timed("an answer", ws.recv_json()).await;
        if message.get("id").is_some() {
            return (message, before);
        }
        before.push(message);
    }
}

/// Subscribes to `log` keeping the position, from `since` (`{"offset": N, "epoch": E}`) if
/// given: the topic's part of the answer, and what came before it (what was missed).
async fn follow(ws: &mut Ws, since: Option<Value>) -> (Value, Vec<Value>) {
    let params = match since {
        Some(since) => json!({"topic": "log", "since": {"log": since}}),
        None => json!({"topic": "log", "positions": true}),
    };
    let (answer, missed) = call(ws, "rpc.subscribe", params).await;
    (answer["result"]["log"].clone(), missed)
}

async fn publish(server: &TestServer, n: u64) {
    server.hub().publish("log", json!([n])).unwrap();
}

/// An epoch and an offset, as `since` takes them.
fn at(position: &Value, offset: u64) -> Value {
    json!({"offset": offset, "epoch": position["epoch"]})
}

#[tokio::test]
async fn a_subscriber_coming_back_gets_what_it_missed_once_and_in_order() {
    let server = server(History::new()).await;
    let mut ann = server.ws().await;
    let (start, _) = follow(&mut ann, None).await;
    assert_eq!(start["offset"], 0);
    assert!(start.get("recovered").is_none(), "nothing was asked");
    for n in 1..=3 {
        publish(&server, n).await;
    }
    for n in 1..=3 {
        let note = timed("a live publication", ann.recv_json()).await;
        assert_eq!(
            note,
            json!({"jsonrpc": "2.0", "method": "log", "params": [n], "offset": n})
        );
    }
    drop(ann);

    // Away: two more.
    for n in 4..=5 {
        publish(&server, n).await;
    }
    let mut back = server.ws().await;
    let (position, missed) = follow(&mut back, Some(at(&start, 3))).await;
    assert_eq!(position["recovered"], true);
    assert_eq!(position["offset"], 5);
    let offsets: Vec<&Value> = missed.iter().map(|note| &note["offset"]).collect();
    assert_eq!(offsets, [4, 5], "the missed ones, before the answer");
    publish(&server, 6).await;
    let live = timed("the next live one", back.recv_json()).await;
    assert_eq!(live["offset"], 6);
    assert_eq!(live["params"], json!([6]));
}

#[tokio::test]
async fn what_is_no_longer_kept_is_reported_not_guessed() {
    let server = server(History::new().size(2)).await;
    let mut ann = server.ws().await;
    let (start, _) = follow(&mut ann, None).await;
    for n in 1..=5 {
        publish(&server, n).await;
    }
    // Offset 2 was seen; 3 is gone (only 4 and 5 are kept).
    let mut back = server.ws().await;
    let (position, missed) = follow(&mut back, Some(at(&start, 2))).await;
    assert_eq!(position["recovered"], false);
    assert!(
        missed.is_empty(),
        "nothing is sent when something is missing: {missed:?}"
    );
    assert_eq!(position["offset"], 5);

    // Another epoch: a stream whose history was lost.
    let mut other = server.ws().await;
    let since = json!({"offset": 5, "epoch": "not-this-one"});
    let (position, missed) = follow(&mut other, Some(since)).await;
    assert_eq!(position["recovered"], false);
    assert!(missed.is_empty());
}

#[tokio::test]
async fn publications_older_than_the_ttl_are_not_recovered() {
    let server = server(History::new().ttl(Duration::from_millis(50))).await;
    let mut ann = server.ws().await;
    let (start, _) = follow(&mut ann, None).await;
    publish(&server, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut back = server.ws().await;
    let (position, missed) = follow(&mut back, Some(at(&start, 0))).await;
    assert_eq!(position["recovered"], false);
    assert!(missed.is_empty());
}

/// Clients that do not ask see today's wire shape on a topic with history, and today's answer.
#[tokio::test]
async fn subscribers_that_do_not_ask_see_no_offsets() {
    let server = server(History::new()).await;
    let mut plain = server.ws().await;
    let (answer, _) = call(&mut plain, "rpc.subscribe", json!(["log", "news"])).await;
    assert_eq!(answer["result"], json!(["log", "news"]));
    let mut keeping = server.ws().await;
    let (answer, _) = call(
        &mut keeping,
        "rpc.subscribe",
        json!({"topics": ["log", "news"], "positions": true}),
    )
    .await;
    assert_eq!(
        answer["result"]["news"],
        Value::Null,
        "news keeps no history"
    );
    publish(&server, 1).await;
    assert_eq!(
        timed("the plain copy", plain.recv_json()).await,
        json!({"jsonrpc": "2.0", "method": "log", "params": [1]})
    );
    assert_eq!(
        timed("the numbered copy", keeping.recv_json()).await["offset"],
        1
    );
    server.hub().publish("news", "x").unwrap();
    let news = timed("news", keeping.recv_json()).await;
    assert!(news.get("offset").is_none(), "{news}");
}

/// A group's notifications are numbered too, presence events included, for members that join
/// with a position.
#[tokio::test]
async fn a_member_coming_back_to_a_group_gets_what_it_missed() {
    let server = server(History::new()).await;
    let mut ann = server.ws().await;
    let (answer, _) = call(&mut ann, "join_from", json!(["room", null])).await;
    let start: StreamPosition = serde_json::from_value(answer["result"].clone()).unwrap();
    server.hub().notify_group("room", "said", ["one"]).unwrap();
    let said = timed("said", ann.recv_json()).await;
    assert_eq!(said["offset"], 1);
    drop(ann);
    server.hub().notify_group("room", "said", ["two"]).unwrap();

    let mut back = server.ws().await;
    let since = StreamPosition {
        offset: 1,
        epoch: start.epoch,
    };
    let (answer, missed) = call(&mut back, "join_from", json!(["room", since])).await;
    assert_eq!(answer["result"]["recovered"], true);
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0]["params"], json!(["two"]));
    assert_eq!(missed[0]["offset"], 2);
}

#[tokio::test]
async fn asking_a_position_of_a_hub_without_history_is_an_error() {
    let hub = spec::hub().build();
    let server = TestServer::start_router(Server::builder().hub(hub), spec::router()).await;
    let mut ws = server.ws().await;
    let ws_id = call(&mut ws, "connection_id", json!([])).await.0["result"].clone();
    let id = serde_json::from_value(ws_id).unwrap();
    let err = server.hub().join_from("room", id, None).await.unwrap_err();
    assert_eq!(err, PushError::NoHistory("room".into()));
}
