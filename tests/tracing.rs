//! `tracing` spans per connection and per call, with the call's method, id, duration and
//! outcome. Alone in its binary: callsite interest is process-wide, and a test running beside
//! it without a subscriber could leave it cached as "never".

mod common;

use std::sync::{Arc, Mutex};

use common::TestServer;

/// Collects what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn calls_and_connections_are_traced_when_a_subscriber_listens() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test's runtime is single-threaded: the server's tasks run under this default too.
    let _default = tracing::subscriber::set_default(subscriber);
    let server = TestServer::start().await;
    let mut ws = server.ws().await;
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"subtract","params":[5,3],"id":"t1"}"#)
        .await;
    assert_eq!(answer["result"], 2);
    ws.call(r#"{"jsonrpc":"2.0","method":"nope","id":"t2"}"#)
        .await;
    drop(ws);
    server.stop().await;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = |needle: &str| {
        log.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{log}"))
            .to_owned()
    };
    let answered = line("call answered");
    for part in [
        "rpc.connection",
        "transport=\"websocket\"",
        "rpc.call",
        "method=subtract",
        "id=\"\\\"t1\\\"\"",
        "elapsed_us=",
    ] {
        assert!(answered.contains(part), "{part:?} missing from {answered}");
    }
    let failed = line("call failed");
    assert!(
        failed.contains("method=nope") && failed.contains("code=-32601"),
        "{failed}"
    );
}
