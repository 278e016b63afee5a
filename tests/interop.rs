//! Interoperation with jsonrpsee, a JSON-RPC stack nobody here wrote: its clients call our
//! server, and our clients call its server, over HTTP and WebSocket.

mod common;

use common::{TestServer, timed};
use futures_util::StreamExt;
use jsonrpsee::core::client::{ClientT, Error as JsonrpseeError, SubscriptionClientT};
use jsonrpsee::core::params::{BatchRequestBuilder, ObjectParams};
use jsonrpsee::rpc_params;
use rpc_runtime::client::{
    Batch, ClientError, HttpClient, RpcClient, SubscriptionClient, WsClient,
};
use serde_json::{Value, json};

/// What any JSON-RPC client should be able to do with the conformance methods.
async fn call_our_server(client: &impl ClientT) {
    let difference: i64 = client
        .request("subtract", rpc_params![42, 23])
        .await
        .unwrap();
    assert_eq!(difference, 19);
    let mut named = ObjectParams::new();
    named.insert("subtrahend", 23).unwrap();
    named.insert("minuend", 42).unwrap();
    let difference: i64 = client.request("subtract", named).await.unwrap();
    assert_eq!(difference, 19);
    let sum: i64 = client.request("sum", rpc_params![1, 2, 4]).await.unwrap();
    assert_eq!(sum, 7);
    let greeting: String = client.request("greet", rpc_params!["Ann"]).await.unwrap();
    assert_eq!(greeting, "Hello, Ann!");
    let data: (String, i64) = client.request("get_data", rpc_params![]).await.unwrap();
    assert_eq!(data, ("hello".to_owned(), 5));
    client
        .notification("update", rpc_params![1, 2, 3])
        .await
        .unwrap();

    match client
        .request::<Value, _>("fail_custom", rpc_params![])
        .await
    {
        Err(JsonrpseeError::Call(err)) => {
            assert_eq!((err.code(), err.message()), (-32001, "custom failure"));
            assert_eq!(
                err.data().map(|data| data.get()),
                Some(r#"{"reason":"testing"}"#)
            );
        }
        other => panic!("expected a call error, got {other:?}"),
    }
    for (method, params, code) in [
        ("foobar", rpc_params![], -32601),
        ("subtract", rpc_params!["x", 1], -32602),
    ] {
        match client.request::<Value, _>(method, params).await {
            Err(JsonrpseeError::Call(err)) => assert_eq!(err.code(), code, "{method}"),
            other => panic!("expected a call error from {method}, got {other:?}"),
        }
    }

    let mut batch = BatchRequestBuilder::new();
    batch.insert("subtract", rpc_params![42, 23]).unwrap();
    batch.insert("fail_custom", rpc_params![]).unwrap();
    batch.insert("sum", rpc_params![1, 2, 4]).unwrap();
    let answers = client.batch_request::<Value>(batch).await.unwrap();
    let answers: Vec<_> = answers.into_iter().collect();
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0].as_ref().unwrap(), &json!(19));
    assert_eq!(answers[1].as_ref().unwrap_err().code(), -32001);
    assert_eq!(answers[2].as_ref().unwrap(), &json!(7));
}

#[tokio::test]
async fn jsonrpsee_clients_call_our_server() {
    let server = TestServer::start().await;
    let ws = jsonrpsee_ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", server.addr))
        .await
        .unwrap();
    timed("jsonrpsee over WebSocket", call_our_server(&ws)).await;
    let answer: String = ws.request("ws_only", rpc_params![]).await.unwrap();
    assert_eq!(answer, "ws");
    drop(ws);

    let http = jsonrpsee_http_client::HttpClientBuilder::default()
        .build(format!("http://{}", server.addr))
        .unwrap();
    timed("jsonrpsee over HTTP", call_our_server(&http)).await;
    let answer: String = http.request("http_only", rpc_params![]).await.unwrap();
    assert_eq!(answer, "http");
    server.stop().await;
}

#[tokio::test]
async fn jsonrpsees_client_subscribes_to_our_typed_subscription() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Tick {
        seq: u64,
        pad: String,
    }

    let server = TestServer::start().await;
    let url = format!("ws://{}", server.addr);
    let mut subscribers = Vec::new();
    for _ in 0..2 {
        let client = jsonrpsee_ws_client::WsClientBuilder::default()
            .build(&url)
            .await
            .unwrap();
        let ticks = client
            .subscribe::<Tick, _>("subscribe_ticks", rpc_params![], "unsubscribe_ticks")
            .await
            .unwrap();
        subscribers.push((client, ticks));
    }
    let publisher = WsClient::connect(&url).await.unwrap();
    let reached: usize = publisher.call("broadcast_ticks", (20, 3)).await.unwrap();
    assert_eq!(reached, 2);
    for (_, ticks) in &mut subscribers {
        for seq in 0..20 {
            let tick = timed("an item", ticks.next()).await.unwrap().unwrap();
            assert_eq!(
                tick,
                Tick {
                    seq,
                    pad: "xxx".into()
                }
            );
        }
    }
    for (client, ticks) in subscribers {
        timed("unsubscribe", ticks.unsubscribe()).await.unwrap();
        drop(client);
    }
    timed("the subscriptions to end", async {
        while publisher
            .call::<usize>("broadcast_ticks", (1, 1))
            .await
            .unwrap()
            > 0
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    server.stop().await;
}

/// A jsonrpsee server, written the way its users write one.
mod theirs {
    use jsonrpsee::PendingSubscriptionSink;
    use jsonrpsee::core::{RpcResult, SubscriptionResult, async_trait};
    use jsonrpsee::proc_macros::rpc;
    use jsonrpsee::types::ErrorObjectOwned;

    #[rpc(server)]
    pub trait Calc {
        #[method(name = "add")]
        fn add(&self, a: i64, b: i64) -> RpcResult<i64>;

        #[method(name = "divide")]
        async fn divide(&self, dividend: i64, divisor: i64) -> RpcResult<i64>;

        #[subscription(name = "subscribe_ticks" => "tick", unsubscribe = "unsubscribe_ticks", item = u64)]
        async fn ticks(&self, count: u64) -> SubscriptionResult;
    }

    pub struct Calculator;

    #[async_trait]
    impl CalcServer for Calculator {
        fn add(&self, a: i64, b: i64) -> RpcResult<i64> {
            Ok(a + b)
        }

        async fn divide(&self, dividend: i64, divisor: i64) -> RpcResult<i64> {
            dividend
                .checked_div(divisor)
                .ok_or_else(|| ErrorObjectOwned::owned(-32010, "division by zero", Some(dividend)))
        }

        async fn ticks(&self, pending: PendingSubscriptionSink, count: u64) -> SubscriptionResult {
            let sink = pending.accept().await?;
            for tick in 1..=count {
                sink.send(serde_json::value::to_raw_value(&tick)?).await?;
            }
            Ok(())
        }
    }

    pub async fn start() -> (std::net::SocketAddr, jsonrpsee::server::ServerHandle) {
        let server = jsonrpsee::server::Server::builder()
            .build("127.0.0.1:0")
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        (addr, server.start(Calculator.into_rpc()))
    }
}

/// Our typed client for their server's methods: the trait describes the API, nothing serves it.
mod ours {
    #[allow(dead_code)] // only its client is used: nothing here implements it
    #[rpc_runtime::rpc_service]
    pub trait Calc {
        fn add(&self, a: i64, b: i64) -> i64;
        fn divide(&self, dividend: i64, divisor: i64) -> i64;
    }
}

async fn call_their_server(client: &impl RpcClient) {
    assert_eq!(client.call::<i64>("add", (2, 3)).await.unwrap(), 5);
    assert_eq!(
        client
            .call::<i64>("add", json!({"a": 2, "b": 3}))
            .await
            .unwrap(),
        5
    );
    let err = client.call::<i64>("divide", (1, 0)).await.unwrap_err();
    let rpc = err.as_rpc().expect("a JSON-RPC error");
    assert_eq!((rpc.code(), rpc.message()), (-32010, "division by zero"));
    assert_eq!(rpc.data().map(|data| data.get()), Some("1"));
    let err = client.call::<i64>("nope", ()).await.unwrap_err();
    assert_eq!(err.as_rpc().map(|rpc| rpc.code()), Some(-32601));
    client.notify("add", (1, 2)).await.unwrap();

    let mut batch = Batch::new();
    let sum = batch.call::<i64>("add", (20, 22)).unwrap();
    let quotient = batch.call::<i64>("divide", (9, 3)).unwrap();
    let failure = batch.call::<i64>("divide", (9, 0)).unwrap();
    let answers = client.batch(batch).await.unwrap();
    assert_eq!(answers.get(&sum).unwrap(), 42);
    assert_eq!(answers.get(&quotient).unwrap(), 3);
    assert!(matches!(answers.get(&failure), Err(ClientError::Rpc(err)) if err.code() == -32010));
}

#[tokio::test]
async fn our_clients_call_a_jsonrpsee_server() {
    let (addr, handle) = theirs::start().await;

    let ws = WsClient::connect(format!("ws://{addr}")).await.unwrap();
    timed("our WebSocket client", call_their_server(&ws)).await;
    let typed = ours::CalcClient::new(ws.clone());
    assert_eq!(typed.add(40, 2).await.unwrap(), 42);
    assert_eq!(typed.divide(84, 2).await.unwrap(), 42);

    // jsonrpsee's subscriptions are typed subscriptions to us.
    let mut ticks = ws
        .subscribe::<u64>("subscribe_ticks", (3,), "unsubscribe_ticks")
        .await
        .unwrap();
    for tick in 1..=3u64 {
        let item = timed("a subscription item", ticks.next()).await.unwrap();
        assert_eq!(item.unwrap(), tick);
    }
    drop((typed, ticks, ws));

    let http = HttpClient::new(&format!("http://{addr}")).unwrap();
    timed("our HTTP client", call_their_server(&http)).await;
    assert_eq!(ours::CalcClient::new(http).add(1, 1).await.unwrap(), 2);

    handle.stop().unwrap();
    timed("jsonrpsee stopping", handle.stopped()).await;
}
