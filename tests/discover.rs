//! Discovery: `rpc.discover`'s OpenRPC document, built from the methods' doc comments and
//! signatures, and `rpc.methods`; each caller shown only what its transport and the guards let
//! it call.

mod common;

use common::{TestServer, Ws, spec};
use rpc_runtime::client::{HttpClient, RpcClient};
use rpc_runtime::{
    Context, RpcError, Server, Stream, methods, rpc_method, rpc_notification, rpc_subscription,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Adds two numbers.
///
/// Both must fit in an `i64`, and so must their sum.
#[rpc_method("math.add")]
fn add(a: i64, #[rpc(name = "second")] b: i64) -> Result<i64, RpcError> {
    a.checked_add(b)
        .ok_or_else(|| RpcError::invalid_params("overflow"))
}

/// Greets someone, politely if asked.
#[rpc_method]
fn greet(name: String, polite: Option<bool>) -> String {
    match polite {
        Some(true) => format!("Good day, {name}."),
        _ => format!("hi {name}"),
    }
}

#[rpc_method]
fn total(#[rpc(rest)] values: Vec<i64>) -> i64 {
    values.iter().sum()
}

/// A point on the plane.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
struct Point {
    x: i64,
    y: i64,
}

/// Mirrors a point through the origin.
#[rpc_method]
fn mirror(point: Point) -> Point {
    Point {
        x: -point.x,
        y: -point.y,
    }
}

/// Writes a line to the log.
#[rpc_notification]
fn log(line: String) {
    let _ = line;
}

fn is_admin(cx: &Context) -> bool {
    cx.headers().get("x-admin").is_some()
}

/// Stops the server.
#[rpc_method(guard = is_admin)]
fn shutdown() -> bool {
    true
}

/// The points, as they are made.
#[rpc_subscription]
fn subscribe_points() -> impl Stream<Item = Point> + Send + 'static {
    futures_util::stream::iter([Point { x: 1, y: 2 }])
}

#[rpc_method(http = false)]
fn ws_only() {}

async fn server(builder: rpc_runtime::ServerBuilder) -> TestServer {
    let router = methods![
        add,
        greet,
        total,
        mirror,
        log,
        shutdown,
        subscribe_points,
        ws_only
    ];
    TestServer::start_router(builder, router).await
}

async fn discover(http: &HttpClient) -> Value {
    http.call("rpc.discover", ()).await.unwrap()
}

fn method<'a>(document: &'a Value, name: &str) -> &'a Value {
    let methods = document["methods"].as_array().unwrap();
    let found = methods.iter().find(|method| method["name"] == name);
    found.unwrap_or_else(|| panic!("no method {name} in {document}"))
}

fn names(document: &Value) -> Vec<&str> {
    let methods = document["methods"].as_array().unwrap();
    methods
        .iter()
        .map(|method| method["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_document_describes_each_method_from_its_signature_and_doc_comment() {
    let builder = Server::builder().discovery_info("Geometry", "1.2.3");
    let server = server(builder).await;
    let http = HttpClient::new(&format!("http://{}/", server.addr)).unwrap();
    let document = discover(&http).await;
    assert_eq!(document["openrpc"], "1.3.2");
    assert_eq!(
        document["info"],
        json!({"title": "Geometry", "version": "1.2.3"})
    );

    let add = method(&document, "math.add");
    assert_eq!(add["summary"], "Adds two numbers.");
    assert_eq!(
        add["description"],
        "Both must fit in an `i64`, and so must their sum."
    );
    assert_eq!(add["paramStructure"], "either");
    let params: Vec<(&Value, &Value, &Value)> = add["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|param| (&param["name"], &param["required"], &param["schema"]["type"]))
        .collect();
    assert_eq!(
        params,
        [
            (&json!("a"), &json!(true), &json!("integer")),
            (&json!("second"), &json!(true), &json!("integer")),
        ],
        "in order, renamed as named calls see them"
    );
    assert_eq!(add["result"]["schema"]["type"], "integer");
    assert_eq!(add["x-transports"], json!(["http", "websocket"]));

    let greet = method(&document, "greet");
    assert_eq!(greet["params"][1]["name"], "polite");
    assert_eq!(greet["params"][1]["required"], false, "an Option");
    let total = method(&document, "total");
    assert_eq!(total["params"][0]["required"], false, "a rest param");
    assert_eq!(total["params"][0]["schema"]["type"], "array");

    // A user type: shared under components, referred to by both params and result.
    let mirror = method(&document, "mirror");
    assert_eq!(
        mirror["params"][0]["schema"]["$ref"],
        "#/components/schemas/Point"
    );
    assert_eq!(
        mirror["result"]["schema"]["$ref"],
        "#/components/schemas/Point"
    );
    let point = &document["components"]["schemas"]["Point"];
    assert_eq!(point["description"], "A point on the plane.");
    assert_eq!(point["required"], json!(["x", "y"]));

    let log = method(&document, "log");
    assert!(log.get("result").is_none(), "a notification: {log}");
    assert!(
        !names(&document).contains(&"rpc.discover"),
        "not listed in itself"
    );
}

#[tokio::test]
async fn a_subscription_is_marked_with_its_other_names_and_items() {
    let server = server(Server::builder()).await;
    let mut ws = Ws::connect(&format!("ws://{}/", server.addr)).await;
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"rpc.discover","id":1}"#)
        .await;
    let document = &answer["result"];
    let points = method(document, "subscribe_points");
    assert_eq!(points["x-transports"], json!(["websocket"]));
    assert_eq!(
        points["x-subscription"]["unsubscribe"],
        "unsubscribe_points"
    );
    assert_eq!(points["x-subscription"]["notification"], "points");
    assert_eq!(
        points["x-subscription"]["item"]["$ref"],
        "#/components/schemas/Point"
    );
    assert_eq!(
        points["result"]["schema"]["type"], "integer",
        "the subscription id"
    );
    let unsubscribe = method(document, "unsubscribe_points");
    assert_eq!(unsubscribe["params"][0]["name"], "subscription");
    // Over WebSocket, the methods that exist only there are listed.
    assert!(names(document).contains(&"ws_only"));
}

#[tokio::test]
async fn each_caller_is_shown_only_what_it_may_call() {
    let server = server(Server::builder()).await;
    let url = format!("http://{}/", server.addr);
    let anyone = HttpClient::new(&url).unwrap();
    let admin = HttpClient::builder()
        .header("x-admin", "yes")
        .build(&url)
        .unwrap();

    let document = discover(&anyone).await;
    assert!(
        !names(&document).contains(&"shutdown"),
        "hidden by its guard"
    );
    assert!(!names(&document).contains(&"ws_only"), "not over HTTP");
    assert!(!names(&document).contains(&"subscribe_points"));
    assert!(names(&discover(&admin).await).contains(&"shutdown"));

    let listed: Vec<String> = anyone.call("rpc.methods", ()).await.unwrap();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "in order");
    assert!(listed.contains(&"math.add".to_owned()) && listed.contains(&"rpc.discover".to_owned()));
    assert!(!listed.contains(&"shutdown".to_owned()));
    let listed: Vec<String> = admin.call("rpc.methods", ()).await.unwrap();
    assert!(listed.contains(&"shutdown".to_owned()));
}

#[tokio::test]
async fn discovery_can_be_turned_off() {
    let server = server(Server::builder().discovery(false)).await;
    let http = HttpClient::new(&format!("http://{}/", server.addr)).unwrap();
    for name in ["rpc.discover", "rpc.methods"] {
        let err = http.call::<Value>(name, ()).await.unwrap_err();
        assert!(err.to_string().contains("-32601"), "{name}: {err}");
    }
}

/// The conformance server's hub has aiohttp-json-rpc's names, so `get_methods` too; the
/// built-in topic methods are described.
#[tokio::test]
async fn aiohttp_names_add_get_methods_and_the_built_ins_are_described() {
    let server =
        TestServer::start_router(Server::builder().hub(spec::hub().build()), spec::router()).await;
    let mut ws = Ws::connect(&format!("ws://{}/", server.addr)).await;
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"get_methods","id":1}"#)
        .await;
    let listed = answer["result"].as_array().unwrap();
    assert!(listed.contains(&json!("rpc.subscribe")) && listed.contains(&json!("get_methods")));
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"rpc.discover","id":2}"#)
        .await;
    let subscribe = method(&answer["result"], "rpc.subscribe");
    assert_eq!(subscribe["params"][0]["name"], "topics");
    assert!(subscribe["summary"].as_str().unwrap().contains("topic"));
    let ticks = method(&answer["result"], "subscribe_ticks");
    assert_eq!(
        ticks["x-subscription"]["item"]["$ref"],
        "#/components/schemas/TickItem"
    );
}
