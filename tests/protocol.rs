//! The protocol rules beyond the specification's examples, over both transports: JSON-RPC 1.0,
//! ids, params, transport flags, panics, nesting, concurrency and the handler context.

mod common;

use common::{HEADER, Peer, TestServer, on_both, timed};
use rpc_runtime::{RouterError, Server, methods, rpc_method};
use serde_json::{Value, json};

fn error_code(answer: &Value) -> i64 {
    answer["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {answer}"))
}

fn error_message(answer: &Value) -> &str {
    answer["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {answer}"))
}

#[tokio::test]
async fn answers_json_rpc_1_0_in_1_0_shape() {
    let server = TestServer::start().await;
    on_both(&server, |mut peer| async move {
        let answer = peer.call(r#"{"method": "subtract", "params": [42, 23], "id": 1}"#).await;
        assert_eq!(answer, json!({"result": 19, "error": null, "id": 1}));

        let answer = peer.call(r#"{"method": "foobar", "params": [], "id": "a"}"#).await;
        assert_eq!(
            answer,
            json!({"result": null, "error": {"code": -32601, "message": "Method not found"}, "id": "a"})
        );
        // In 1.0 a null id marks a notification.
        assert_eq!(peer.exchange(r#"{"method": "update", "params": [1], "id": null}"#, false).await, None);
        // A 2.0 request with a null id is a call, answered with a null id.
        let answer = peer.call(r#"{"jsonrpc": "2.0", "method": "get_data", "id": null}"#).await;
        assert_eq!(answer, json!({"jsonrpc": "2.0", "result": ["hello", 5], "id": null}));
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn echoes_ids_byte_for_byte_and_rejects_other_id_types() {
    let server = TestServer::start().await;
    let http = server.http();
    for id in ["12345678901234567890", "-7", "1.5e3", r#""x\"y""#, r#""""#] {
        let request = format!(r#"{{"jsonrpc":"2.0","method":"get_data","id":{id}}}"#);
        let reply = http.post(&request).await;
        assert_eq!(
            reply.body,
            format!(r#"{{"jsonrpc":"2.0","result":["hello",5],"id":{id}}}"#)
        );
        let mut ws = server.ws().await;
        ws.send_text(&request).await;
        match ws.recv().await {
            Some(tokio_tungstenite::tungstenite::Message::Text(text)) => {
                assert_eq!(text.as_str(), reply.body)
            }
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
    on_both(&server, |mut peer| async move {
        for id in ["{}", "[1]", "true"] {
            let request = format!(r#"{{"jsonrpc":"2.0","method":"get_data","id":{id}}}"#);
            let answer = peer.call(&request).await;
            assert_eq!(error_code(&answer), -32600, "id {id}");
            assert_eq!(answer["id"], Value::Null, "id {id}");
        }
        // A readable id is echoed even when the request is otherwise invalid.
        let answer = peer
            .call(r#"{"jsonrpc":"2.0","method":"echo","params":"x","id":7}"#)
            .await;
        assert_eq!((error_code(&answer), &answer["id"]), (-32600, &json!(7)));
        let answer = peer
            .call(r#"{"jsonrpc":"2.0","method":"echo","params":1,"id":8}"#)
            .await;
        assert_eq!((error_code(&answer), &answer["id"]), (-32600, &json!(8)));
        let answer = peer
            .call(r#"{"jsonrpc":"1.0","method":"echo","params":[1],"id":9}"#)
            .await;
        assert_eq!((error_code(&answer), &answer["id"]), (-32600, &json!(9)));
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn unpacks_params_from_one_signature() {
    let server = TestServer::start().await;
    on_both(&server, |mut peer| async move {
        let cases = [
            (r#"{"jsonrpc":"2.0","method":"greet","params":["Ann"],"id":1}"#, json!("Hello, Ann!")),
            (r#"{"jsonrpc":"2.0","method":"greet","params":["Ann", null],"id":1}"#, json!("Hello, Ann!")),
            (r#"{"jsonrpc":"2.0","method":"greet","params":["Ann", "Hi"],"id":1}"#, json!("Hi, Ann!")),
            (r#"{"jsonrpc":"2.0","method":"greet","params":{"name":"Ann"},"id":1}"#, json!("Hello, Ann!")),
            (
                r#"{"jsonrpc":"2.0","method":"greet","params":{"greeting":"Yo","name":"Ann"},"id":1}"#,
                json!("Yo, Ann!"),
            ),
            (r#"{"jsonrpc":"2.0","method":"sum","params":[],"id":1}"#, json!(0)),
            (r#"{"jsonrpc":"2.0","method":"sum","id":1}"#, json!(0)),
            (r#"{"jsonrpc":"2.0","method":"sum","params":{"values":[1,2]},"id":1}"#, json!(3)),
            (r#"{"jsonrpc":"2.0","method":"echo","params":[{"a":[1,{"b":null}]}],"id":1}"#, json!({"a":[1,{"b":null}]})),
            (
                r#"{"jsonrpc":"2.0","method":"person.greet","params":{"first_name":"Ann","titles":["Dr"]},"id":1}"#,
                json!("Dr Ann"),
            ),
            (r#"{"jsonrpc":"2.0","method":"person.greet","params":["Ann","Prof","Dr"],"id":1}"#, json!("Prof Dr Ann")),
            (r#"{"jsonrpc":"2.0","method":"blocking_add","params":[2,3],"id":1}"#, json!(5)),
        ];
        for (request, result) in cases {
            let answer = peer.call(request).await;
            assert_eq!(answer["result"], result, "over {}: {request} -> {answer}", peer.name());
        }
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn rejects_bad_params_naming_the_param_and_the_problem() {
    let server = TestServer::start().await;
    on_both(&server, |mut peer| async move {
        let cases = [
            (r#"{"jsonrpc":"2.0","method":"subtract","params":[42],"id":1}"#, "missing param `subtrahend`"),
            (
                r#"{"jsonrpc":"2.0","method":"subtract","params":[1,2,3],"id":1}"#,
                "too many params: expected at most 2, got 3",
            ),
            (
                r#"{"jsonrpc":"2.0","method":"subtract","params":[1,"2"],"id":1}"#,
                r#"invalid param `subtrahend`: invalid type: string "2", expected i64"#,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1,"subtrahend":2,"extra":3},"id":1}"#,
                "unknown param `extra`",
            ),
            (
                r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1},"id":1}"#,
                "missing param `subtrahend`",
            ),
            (r#"{"jsonrpc":"2.0","method":"greet","params":[],"id":1}"#, "missing param `name`"),
            (
                r#"{"jsonrpc":"2.0","method":"sum","params":[1,true],"id":1}"#,
                "invalid param `values[1]`: invalid type: boolean `true`, expected i64",
            ),
            (
                r#"{"jsonrpc":"2.0","method":"person.greet","params":{"name":"Ann"},"id":1}"#,
                "unknown param `name`",
            ),
            (r#"{"jsonrpc":"2.0","method":"get_data","params":[1],"id":1}"#, "too many params: expected at most 0, got 1"),
            (
                r#"{"jsonrpc":"2.0","method":"blocking_add","params":[4294967295,1],"id":1}"#,
                "overflow",
            ),
        ];
        for (request, message) in cases {
            let answer = peer.call(request).await;
            assert_eq!(error_code(&answer), -32602, "{request} -> {answer}");
            assert_eq!(error_message(&answer), message, "{request}");
        }
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn returns_user_errors_with_code_message_and_data() {
    let server = TestServer::start().await;
    on_both(&server, |mut peer| async move {
        let answer = peer.call(r#"{"jsonrpc":"2.0","method":"fail_custom","id":1}"#).await;
        assert_eq!(
            answer,
            json!({"jsonrpc":"2.0","error":{"code":-32001,"message":"custom failure","data":{"reason":"testing"}},"id":1})
        );
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_method_off_a_transport_is_not_found_there_and_says_where_it_is_served() {
    let server = TestServer::start().await;
    on_both(&server, |mut peer| async move {
        let ws_only = peer
            .call(r#"{"jsonrpc":"2.0","method":"ws_only","id":1}"#)
            .await;
        let http_only = peer
            .call(r#"{"jsonrpc":"2.0","method":"http_only","id":2}"#)
            .await;
        let (served, off, elsewhere) = match peer {
            Peer::Http(_) => (
                (http_only, "http"),
                ws_only,
                "`ws_only` is served over WebSocket",
            ),
            Peer::Ws(_) => (
                (ws_only, "ws"),
                http_only,
                "`http_only` is served over HTTP",
            ),
        };
        assert_eq!(served.0["result"], served.1);
        assert_eq!(error_code(&off), -32601);
        let data = off["error"]["data"].as_str().unwrap_or_default();
        assert!(data.starts_with(elsewhere), "{off}");
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn answers_a_call_to_a_notification_handler_with_method_not_found() {
    let server = TestServer::start().await;
    on_both(&server, |mut peer| async move {
        let answer = peer
            .call(r#"{"jsonrpc":"2.0","method":"update","params":[1],"id":1}"#)
            .await;
        assert_eq!(error_code(&answer), -32601);
        assert!(
            answer["error"]["data"]
                .as_str()
                .unwrap()
                .contains("without an id"),
            "{answer}"
        );
        // A notification to a call method runs it and answers nothing.
        assert_eq!(
            peer.exchange(
                r#"{"jsonrpc":"2.0","method":"subtract","params":[1,2]}"#,
                false
            )
            .await,
            None
        );
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn turns_handler_panics_into_internal_errors_and_keeps_serving() {
    let server = TestServer::start().await;
    on_both(&server, |mut peer| async move {
        for method in ["panic", "async_panic", "blocking_panic"] {
            let request = format!(r#"{{"jsonrpc":"2.0","method":"{method}","id":1}}"#);
            let answer = peer.call(&request).await;
            assert_eq!(
                answer,
                json!({"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}),
                "{method}"
            );
            peer.assert_still_serving().await;
        }
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn answers_json_nested_too_deep_with_an_error() {
    let server = TestServer::start().await;
    let depth = 100_000;
    let deep_array = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let in_params =
        format!(r#"{{"jsonrpc":"2.0","method":"echo","params":[{deep_array}],"id":1}}"#);
    on_both(&server, |mut peer| {
        let (deep_array, deep_object, in_params) =
            (deep_array.clone(), deep_object.clone(), in_params.clone());
        async move {
            // A batch whose one member is not a request object.
            let answer = peer.call(&deep_array).await;
            assert_eq!(error_code(&answer[0]), -32600, "{answer}");
            // An object without a method.
            let answer = peer.call(&deep_object).await;
            assert_eq!(error_code(&answer), -32600, "{answer}");
            // Params are where the nesting is actually parsed, and hit the parser's limit.
            let answer = peer.call(&in_params).await;
            assert_eq!(error_code(&answer), -32602, "{answer}");
            assert!(
                error_message(&answer).contains("recursion limit"),
                "{answer}"
            );
            peer.assert_still_serving().await;
        }
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn runs_batch_members_concurrently() {
    // Each `barrier` call waits until three have arrived: run one after another, they would
    // never finish.
    let server = TestServer::start_with(Server::builder(), 3).await;
    let batch = r#"[{"jsonrpc":"2.0","method":"barrier","id":1},
                    {"jsonrpc":"2.0","method":"barrier","id":2},
                    {"jsonrpc":"2.0","method":"barrier","id":3}]"#;
    on_both(&server, |mut peer| async move {
        let answer = peer.call(batch).await;
        let results = answer.as_array().expect("batch answer");
        assert_eq!(results.len(), 3);
        let leaders = results
            .iter()
            .filter(|r| r["result"] == json!(true))
            .count();
        assert_eq!(leaders, 1, "{answer}");
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn runs_calls_on_one_websocket_concurrently_and_answers_each_when_ready() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    // Two barrier calls can only finish together.
    ws.send_text(r#"{"jsonrpc":"2.0","method":"barrier","id":1}"#)
        .await;
    ws.send_text(r#"{"jsonrpc":"2.0","method":"barrier","id":2}"#)
        .await;
    let mut ids = vec![
        ws.recv_json().await["id"].clone(),
        ws.recv_json().await["id"].clone(),
    ];
    ids.sort_by_key(|id| id.as_i64());
    assert_eq!(ids, [json!(1), json!(2)]);

    // A call held at the gate does not hold up the answers sent after it.
    ws.send_text(r#"{"jsonrpc":"2.0","method":"gate_wait","id":"held"}"#)
        .await;
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"echo","params":["quick"],"id":"quick"}"#)
        .await;
    assert_eq!(answer["id"], "quick");
    ws.send_text(r#"{"jsonrpc":"2.0","method":"gate_open","id":"open"}"#)
        .await;
    let mut ids = vec![
        ws.recv_json().await["id"].clone(),
        ws.recv_json().await["id"].clone(),
    ];
    ids.sort_by_key(|id| id.to_string());
    assert_eq!(ids, [json!("held"), json!("open")]);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn gives_handlers_their_context() {
    let server = TestServer::start().await;
    let http = server.http();
    let request = http::Request::post(&http.url)
        .header("content-type", "application/json")
        .header(HEADER, "from-http")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            br#"{"jsonrpc":"2.0","method":"whoami","id":1}"#,
        )))
        .unwrap();
    let first = http.send(request).await.json()["result"].clone();
    assert_eq!(first["transport"], "http");
    assert_eq!(first["peer"], "127.0.0.1");
    assert_eq!(first["header"], "from-http");
    assert_eq!(first["state"], true);

    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}/",
            server.addr
        ))
        .unwrap();
    request
        .headers_mut()
        .insert(HEADER, "from-handshake".parse().unwrap());
    let (stream, _) = timed("connect", tokio_tungstenite::connect_async(request))
        .await
        .unwrap();
    let mut ws = common::Ws { stream };
    let one = ws
        .call(r#"{"jsonrpc":"2.0","method":"whoami","id":1}"#)
        .await["result"]
        .clone();
    let two = ws
        .call(r#"{"jsonrpc":"2.0","method":"whoami","id":2}"#)
        .await["result"]
        .clone();
    assert_eq!(one["transport"], "ws");
    assert_eq!(one["header"], "from-handshake");
    assert_eq!(
        one["connection"], two["connection"],
        "one connection, one id"
    );
    assert_ne!(one["connection"], first["connection"]);
    drop(ws);
    server.stop().await;
}

#[rpc_method("subtract")]
fn minus(a: i64, b: i64) -> i64 {
    a - b
}

#[test]
fn refuses_to_merge_routers_that_share_a_name() {
    let err = common::spec::router().merge(methods![minus]).unwrap_err();
    assert_eq!(
        err,
        RouterError::DuplicateMethod {
            name: "subtract",
            first: "protocol::common::spec::subtract",
            second: "protocol::minus",
        }
    );
    assert_eq!(
        err.to_string(),
        "method name `subtract` is registered by both `protocol::common::spec::subtract` and `protocol::minus`"
    );
}

#[test]
fn leaves_annotated_functions_callable() {
    assert_eq!(minus(5, 3), 2);
    assert_eq!(common::spec::greet("Ann".into(), None), "Hello, Ann!");
    assert_eq!(common::spec::sum(vec![1, 2, 4]).unwrap(), 7);
}

/// Collects what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread, so the thread-local subscriber sees the server's tasks too.
#[tokio::test(flavor = "current_thread")]
async fn logs_handler_panics_naming_the_method() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start().await;
    let answer = server
        .http()
        .exchange(r#"{"jsonrpc":"2.0","method":"async_panic","id":1}"#)
        .await
        .unwrap();
    assert_eq!(error_code(&answer), -32603);
    server.stop().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|line| line.contains("handler panicked"))
        .unwrap_or_else(|| panic!("no panic logged in:\n{text}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains(r#"method="async_panic""#), "{line}");
    assert!(line.contains("async handler panicked"), "{line}");
}

#[rpc_method]
fn parse_number(text: String) -> Result<i64, std::num::ParseIntError> {
    text.parse()
}

#[derive(Debug)]
struct Missing;

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("missing (Display)")
    }
}

impl From<Missing> for rpc_runtime::RpcError {
    fn from(_: Missing) -> Self {
        rpc_runtime::RpcError::new(4004, "missing")
    }
}

#[rpc_method]
fn always_missing() -> Result<(), Missing> {
    Err(Missing)
}

#[tokio::test]
async fn a_foreign_error_answers_by_its_text_and_a_converted_one_by_its_conversion() {
    use rpc_runtime::client::{ClientError, RpcClient, TestClient};
    let client = TestClient::new(methods![parse_number, always_missing]);
    assert_eq!(
        client.call::<i64>("parse_number", ["42"]).await.unwrap(),
        42
    );
    let Err(ClientError::Rpc(err)) = client.call::<i64>("parse_number", ["x"]).await else {
        panic!("expected an error answer");
    };
    assert_eq!(err.code(), -32000);
    assert_eq!(err.message(), "invalid digit found in string");
    let Err(ClientError::Rpc(err)) = client.call::<()>("always_missing", ()).await else {
        panic!("expected an error answer");
    };
    assert_eq!((err.code(), err.message()), (4004, "missing"));
}
