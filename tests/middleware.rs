//! The RPC middleware seam: every call passes through it (single, batch member, notification,
//! unknown method alike) with its method, id, params and context; a middleware may answer in
//! the method's place.

mod common;

use std::sync::{Arc, Mutex};

use common::TestServer;
use rpc_runtime::middleware::{BoxFuture, Call, CallResult, Middleware, Next};
use rpc_runtime::{RpcError, Server, Transport};
use serde_json::json;

/// Records what it sees, and the outcome, under its label.
struct Record {
    label: &'static str,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Middleware for Record {
    fn call<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> BoxFuture<'a, CallResult> {
        Box::pin(async move {
            let transport = if call.context().transport() == Transport::Http {
                "http"
            } else {
                "ws"
            };
            let id = call.id().map_or("-".to_owned(), |id| id.get().to_owned());
            let params = call.params().map_or("-", |params| params.get());
            let line = format!("{} {transport} {} {id} {params}", self.label, call.method());
            let result = next.run(call).await;
            let outcome = match &result {
                Ok(value) => value.clone(),
                Err(err) => err.code().to_string(),
            };
            self.seen
                .lock()
                .unwrap()
                .push(format!("{line} => {outcome}"));
            result
        })
    }
}

/// Refuses `subtract(1, 2)`, as a rate limiter would: answers without calling the method.
struct NoNegatives;

impl Middleware for NoNegatives {
    fn call<'a>(&'a self, call: Call<'a>, next: Next<'a>) -> BoxFuture<'a, CallResult> {
        Box::pin(async move {
            if call.method() == "subtract" && call.params().is_some_and(|p| p.get() == "[1,2]") {
                return Err(RpcError::new(-32050, "rate limited"));
            }
            next.run(call).await
        })
    }
}

#[tokio::test]
async fn every_call_passes_through_the_middleware_in_order() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let builder = Server::builder()
        .middleware(Record {
            label: "outer",
            seen: seen.clone(),
        })
        .middleware(NoNegatives)
        .middleware(Record {
            label: "inner",
            seen: seen.clone(),
        });
    let server = TestServer::start_with(builder, 2).await;
    let http = server.http();
    let answer = http
        .exchange(r#"{"jsonrpc":"2.0","method":"subtract","params":[5,3],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(answer["result"], 2);
    let refused = http
        .exchange(r#"{"jsonrpc":"2.0","method":"subtract","params":[1,2],"id":2}"#)
        .await
        .unwrap();
    assert_eq!(refused["error"]["code"], -32050);
    let mut ws = server.ws().await;
    let batch = json!([
        {"jsonrpc": "2.0", "method": "subtract", "params": [9, 1], "id": "b"},
        {"jsonrpc": "2.0", "method": "update", "params": [1]},
        {"jsonrpc": "2.0", "method": "nope", "id": 3},
    ]);
    let answers = ws.call(&batch.to_string()).await;
    assert_eq!(answers.as_array().map(Vec::len), Some(2), "{answers}");

    let mut seen = seen.lock().unwrap().clone();
    let expected = [
        "inner http subtract 1 [5,3] => 2",
        "outer http subtract 1 [5,3] => 2",
        // Answered by the middle layer: the inner one never saw it.
        "outer http subtract 2 [1,2] => -32050",
        "inner ws subtract \"b\" [9,1] => 8",
        "outer ws subtract \"b\" [9,1] => 8",
        "inner ws update - [1] => null",
        "outer ws update - [1] => null",
        "inner ws nope 3 - => -32601",
        "outer ws nope 3 - => -32601",
    ];
    // Batch members run concurrently: compared in sorted order.
    let mut sorted_expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    sorted_expected.sort();
    seen.sort();
    assert_eq!(seen, sorted_expected);
    drop(ws);
    server.stop().await;
}
