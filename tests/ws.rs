//! The WebSocket transport: control frames, close codes, limits and isolation between
//! connections, through tokio-tungstenite's client.

mod common;

use common::{TestServer, Ws, timed};
use rpc_runtime::Server;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

const CALL: &str = r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;

/// Reads until the server's close frame and returns its code.
async fn close_code(ws: &mut Ws) -> CloseCode {
    loop {
        match ws.recv().await {
            Some(Message::Close(Some(CloseFrame { code, .. }))) => return code,
            Some(Message::Close(None)) => panic!("close frame without a code"),
            Some(Message::Text(text)) => panic!("unexpected message before the close: {text}"),
            Some(_) => {}
            None => panic!("connection ended without a close frame"),
        }
    }
}

#[tokio::test]
async fn answers_pings_and_completes_the_close_handshake() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    ws.send(Message::Ping(b"are you there".as_slice().into()))
        .await;
    match ws.recv().await {
        Some(Message::Pong(payload)) => assert_eq!(payload.as_ref(), b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    assert_eq!(ws.call(CALL).await["result"], 19);

    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await;
    match ws.recv().await {
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the close reply, got {other:?}"),
    }
    assert!(
        timed(
            "end of stream",
            futures_util::StreamExt::next(&mut ws.stream)
        )
        .await
        .is_none()
    );
    server.stop().await;
}

#[tokio::test]
async fn reads_binary_frames_as_json_rpc_and_answers_in_text() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    ws.send(Message::Binary(CALL.as_bytes().to_vec().into()))
        .await;
    assert_eq!(
        ws.recv_json().await,
        json!({"jsonrpc":"2.0","result":19,"id":1})
    );
    ws.send(Message::Binary(b"\xff\xfe".as_slice().into()))
        .await;
    assert_eq!(ws.recv_json().await["error"]["code"], -32700);
    drop(ws);
    server.stop().await;
}

#[tokio::test]
async fn closes_with_1009_on_a_message_over_the_limit_after_answering_calls_in_flight() {
    let server = TestServer::start_with(Server::builder().max_request_size(1024), 2).await;
    let mut bystander = server.ws().await;
    let mut ws = server.ws().await;
    ws.send_text(r#"{"jsonrpc":"2.0","method":"gate_wait","id":"held"}"#)
        .await;
    timed("the held call arriving", server.sync.arrived.notified()).await;
    let too_large = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":2}}"#,
        "x".repeat(2048)
    );
    ws.send_text(&too_large).await;
    // The held call is answered before the close, once released.
    assert_eq!(
        bystander
            .call(r#"{"jsonrpc":"2.0","method":"gate_open","id":1}"#)
            .await["id"],
        1
    );
    assert_eq!(
        ws.recv_json().await,
        json!({"jsonrpc":"2.0","result":"released","id":"held"})
    );
    assert_eq!(close_code(&mut ws).await, CloseCode::Size);
    // Another connection is unaffected.
    assert_eq!(bystander.call(CALL).await["result"], 19);
    drop(bystander);
    server.stop().await;
}

#[tokio::test]
async fn closes_with_1007_on_a_text_frame_that_is_not_utf8() {
    let server = TestServer::start().await;
    let mut bystander = server.ws().await;
    let mut ws = server.ws().await;
    let frame = Frame::message(
        b"{\"method\":\"\xff\"}".as_slice(),
        OpCode::Data(Data::Text),
        true,
    );
    ws.send(Message::Frame(frame)).await;
    assert_eq!(close_code(&mut ws).await, CloseCode::Invalid);
    assert_eq!(bystander.call(CALL).await["result"], 19);
    drop(bystander);
    server.stop().await;
}

#[tokio::test]
async fn closes_with_1001_when_stopping_after_answering_calls_in_flight() {
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    ws.send_text(r#"{"jsonrpc":"2.0","method":"gate_wait","id":"held"}"#)
        .await;
    let stopping = server.stop_while_held().await;
    assert_eq!(
        ws.recv_json().await,
        json!({"jsonrpc":"2.0","result":"released","id":"held"})
    );
    assert_eq!(close_code(&mut ws).await, CloseCode::Away);
    // Answering the close lets the server finish stopping.
    drop(ws);
    timed("stop", stopping).await.unwrap();
}

#[tokio::test]
async fn keeps_serving_other_connections_when_one_drops_mid_call() {
    let server = TestServer::start().await;
    let mut dropped = server.ws().await;
    dropped
        .send_text(r#"{"jsonrpc":"2.0","method":"sleep","params":[50],"id":1}"#)
        .await;
    drop(dropped);
    let mut ws = server.ws().await;
    for id in 0..20 {
        let answer = ws
            .call(&format!(
                r#"{{"jsonrpc":"2.0","method":"echo","params":[{id}],"id":{id}}}"#
            ))
            .await;
        assert_eq!(answer["result"], id);
    }
    drop(ws);
    server.stop().await;
}
