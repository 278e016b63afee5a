//! Every example of section 7 of the JSON-RPC 2.0 specification, over HTTP and over WebSocket,
//! with the exact responses the specification shows (batch order aside).

mod common;

use common::{TestServer, normalized, on_both};
use serde_json::{Value, json};

/// (request, the specification's response; `None` where it says nothing is returned)
fn examples() -> Vec<(&'static str, Option<Value>)> {
    vec![
        // rpc call with positional parameters
        (
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
            Some(json!({"jsonrpc": "2.0", "result": 19, "id": 1})),
        ),
        (
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
            Some(json!({"jsonrpc": "2.0", "result": -19, "id": 2})),
        ),
        // rpc call with named parameters
        (
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
            Some(json!({"jsonrpc": "2.0", "result": 19, "id": 3})),
        ),
        (
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
            Some(json!({"jsonrpc": "2.0", "result": 19, "id": 4})),
        ),
        // a Notification
        (
            r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
            None,
        ),
        (r#"{"jsonrpc": "2.0", "method": "foobar"}"#, None),
        // rpc call of non-existent method
        (
            r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
            Some(
                json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}),
            ),
        ),
        // rpc call with invalid JSON
        (
            r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
            Some(
                json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}),
            ),
        ),
        // rpc call with invalid Request object
        (
            r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
            Some(
                json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}),
            ),
        ),
        // rpc call Batch, invalid JSON
        (
            r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#,
            Some(
                json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}),
            ),
        ),
        // rpc call with an empty Array
        (
            "[]",
            Some(
                json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}),
            ),
        ),
        // rpc call with an invalid Batch (but not empty)
        (
            "[1]",
            Some(
                json!([{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]),
            ),
        ),
        // rpc call with invalid Batch
        (
            "[1,2,3]",
            Some(json!([
                {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
                {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
                {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
            ])),
        ),
        // rpc call Batch
        (
            r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]"#,
            Some(json!([
                {"jsonrpc": "2.0", "result": 7, "id": "1"},
                {"jsonrpc": "2.0", "result": 19, "id": "2"},
                {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
                {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
                {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
            ])),
        ),
        // rpc call Batch (all notifications)
        (
            r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#,
            None,
        ),
    ]
}

#[tokio::test]
async fn every_specification_example_over_both_transports() {
    let server = TestServer::start().await;
    on_both(&server, |mut peer| async move {
        for (request, expected) in examples() {
            let answer = peer.exchange(request, expected.is_some()).await;
            assert_eq!(
                normalized(answer),
                normalized(expected),
                "over {} for {request}",
                peer.name()
            );
        }
    })
    .await;
    server.stop().await;
}
