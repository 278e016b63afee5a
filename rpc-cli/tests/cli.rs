//! `rpc` as a user runs it: the binary, against the conformance server on a free loopback
//! port; what it prints, and its exit status.

mod common;

use std::process::{Output, Stdio};

use common::{Server, npm_bin, rpc, run, timed};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[track_caller]
fn exits(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

#[tokio::test]
async fn call_prints_the_result_as_json_over_http_and_websocket() {
    let server = Server::start().await;
    for url in [server.http(), server.ws()] {
        let output = run(&["call", &url, "subtract", "42", "23"]).await;
        exits(&output, 0);
        assert_eq!(stdout(&output), "19\n");
        let named = [
            "call",
            &url,
            "subtract",
            "--named",
            "minuend=42",
            "--named",
            "subtrahend=23",
        ];
        assert_eq!(stdout(&run(&named).await), "19\n");
        // A param that is not JSON is a string.
        let output = run(&["call", &url, "greet", "Ann"]).await;
        assert_eq!(stdout(&output), "\"Hello, Ann!\"\n");
        let output = run(&["call", &url, "echo", "--raw", r#"[{"a": [1, null]}]"#]).await;
        assert_eq!(
            serde_json::from_str::<Value>(&stdout(&output)).unwrap(),
            json!({"a": [1, null]})
        );
    }
}

#[tokio::test]
async fn raw_params_come_from_stdin_with_a_dash() {
    let server = Server::start().await;
    let mut child = rpc(&["call", &server.http(), "sum", "--raw", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"[1, 2, 3]").await.unwrap();
    drop(stdin);
    let output = timed("rpc reading stdin", child.wait_with_output())
        .await
        .unwrap();
    exits(&output, 0);
    assert_eq!(stdout(&output), "6\n");
}

#[tokio::test]
async fn a_json_rpc_error_is_said_readably_with_its_own_status() {
    let server = Server::start().await;
    let output = run(&["call", &server.http(), "fail_custom"]).await;
    exits(&output, 1);
    assert!(stdout(&output).is_empty());
    assert_eq!(
        stderr(&output),
        "rpc: the server answered error -32001: custom failure\n  data: {\"reason\":\"testing\"}\n"
    );
    let output = run(&["call", &server.http(), "no_such_method"]).await;
    exits(&output, 1);
    assert!(stderr(&output).contains("-32601"), "{}", stderr(&output));
    let output = run(&["call", &server.http(), "subtract", "forty-two", "1"]).await;
    exits(&output, 1);
    assert!(stderr(&output).contains("-32602"), "{}", stderr(&output));
}

#[tokio::test]
async fn transport_and_usage_failures_say_what_went_wrong() {
    // Nothing listens there: the server is down.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    let output = run(&["call", &down, "subtract", "1", "2"]).await;
    exits(&output, 3);
    assert!(stderr(&output).starts_with("rpc: "), "{}", stderr(&output));
    let output = run(&["call", &down.replace("http", "ws"), "subtract"]).await;
    exits(&output, 3);
    assert!(
        stderr(&output).contains("cannot connect to ws://"),
        "{}",
        stderr(&output)
    );

    let output = run(&["call", "ftp://example/", "m"]).await;
    exits(&output, 2);
    assert!(stderr(&output).contains("is not an http://, https://, ws:// or wss:// URL"));
    let output = run(&["call", "http://127.0.0.1:1/"]).await;
    exits(&output, 2);
    assert!(
        stderr(&output).contains("`rpc call` needs a method"),
        "{}",
        stderr(&output)
    );
    let output = run(&["frobnicate"]).await;
    exits(&output, 2);
    let server = Server::start().await;
    let output = run(&["call", &server.http(), "subtract", "--raw", "42"]).await;
    exits(&output, 2);
    assert!(
        stderr(&output).contains("a JSON array or object"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn help_says_how_with_examples() {
    let output = run(&["--help"]).await;
    exits(&output, 0);
    let help = stdout(&output);
    for part in [
        "rpc call URL METHOD",
        "EXIT STATUS",
        "EXAMPLES",
        "rpc codegen ts",
    ] {
        assert!(help.contains(part), "{part}: {help}");
    }
}

#[tokio::test]
async fn notify_sends_and_prints_nothing() {
    let server = Server::start().await;
    let output = run(&["notify", &server.ws(), "notify_hello", "1", "2"]).await;
    exits(&output, 0);
    assert!(stdout(&output).is_empty());
}

#[tokio::test]
async fn headers_go_with_each_request() {
    let server = Server::start().await;
    // `greet` ignores headers; a bad one is refused before anything is sent.
    let output = run(&[
        "call",
        &server.http(),
        "subtract",
        "2",
        "1",
        "-H",
        "x-trace: 7",
    ])
    .await;
    exits(&output, 0);
    let output = run(&["call", &server.http(), "subtract", "-H", "nocolon"]).await;
    exits(&output, 2);
    assert!(stderr(&output).contains("is not 'name: value'"));
}

#[tokio::test]
async fn subscribe_prints_each_item_as_one_json_line() {
    let server = Server::start().await;
    // A topic.
    let mut child = rpc(&["subscribe", &server.ws(), "news"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = timed("a news item", async {
        loop {
            // Published until the subscription has taken: it subscribes on its own time.
            let _ = run(&[
                "call",
                &server.http(),
                "publish",
                "news",
                r#"{"title":"extra"}"#,
            ])
            .await;
            let next =
                tokio::time::timeout(std::time::Duration::from_millis(200), lines.next_line());
            if let Ok(line) = next.await {
                return line.unwrap().unwrap();
            }
        }
    })
    .await;
    assert_eq!(line, r#"{"title":"extra"}"#);
    child.kill().await.unwrap();

    // A typed subscription.
    let mut child = rpc(&["subscribe", &server.ws(), "subscribe_ticks"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = timed("a tick", async {
        loop {
            let _ = run(&["call", &server.http(), "broadcast_ticks", "1", "2"]).await;
            let next =
                tokio::time::timeout(std::time::Duration::from_millis(200), lines.next_line());
            if let Ok(line) = next.await {
                return line.unwrap().unwrap();
            }
        }
    })
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&line).unwrap(),
        json!({"seq": 0, "pad": "xx"})
    );
    child.kill().await.unwrap();

    let output = run(&["subscribe", &server.http(), "news"]).await;
    exits(&output, 2);
    assert!(
        stderr(&output).contains("need a WebSocket"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn discover_prints_the_document_and_methods_the_names() {
    let server = Server::start().await;
    let output = run(&["discover", &server.ws()]).await;
    exits(&output, 0);
    let document: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(document["openrpc"], "1.3.2");
    assert!(stdout(&output).contains("\n  \"methods\""), "pretty");
    let output = run(&["methods", &server.http()]).await;
    exits(&output, 0);
    let printed = stdout(&output);
    let names: Vec<&str> = printed.lines().collect();
    assert!(names.contains(&"subtract") && names.contains(&"rpc.discover"));
    assert!(!names.contains(&"ws_only"), "over HTTP");
}

#[tokio::test]
async fn codegen_writes_a_typescript_client_that_compiles_strictly() {
    let server = Server::start().await;
    let out = std::env::temp_dir().join(format!("rpc-codegen-{}", server.addr.port()));
    let output = run(&["codegen", "ts", &server.ws(), "-o", out.to_str().unwrap()]).await;
    exits(&output, 0);
    let client = std::fs::read_to_string(out.join("client.ts")).unwrap();
    assert!(client.contains("  subtract(minuend: number, subtrahend: number): Promise<number> {"));
    assert!(
        client.contains("subscribeTicks(): Promise<RpcSubscription<TickItem>>"),
        "WebSocket-only methods too"
    );
    // From a file too, as `rpc discover` saved it.
    let saved = out.join("document.json");
    std::fs::write(&saved, stdout(&run(&["discover", &server.ws()]).await)).unwrap();
    let again = out.join("again");
    let output = run(&[
        "codegen",
        "ts",
        saved.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ])
    .await;
    exits(&output, 0);
    assert_eq!(
        std::fs::read_to_string(again.join("client.ts")).unwrap(),
        client
    );

    let tsc = npm_bin("tsc");
    let compiled = timed(
        "tsc",
        tokio::process::Command::new(tsc)
            .current_dir(&out)
            .args([
                "--strict", "--noEmit", "--target", "es2022", "--module", "nodenext",
            ])
            .args([
                "--moduleResolution",
                "nodenext",
                "--lib",
                "es2022,dom",
                "rpc.ts",
                "client.ts",
            ])
            .output(),
    )
    .await
    .unwrap();
    exits(&compiled, 0);
    let _ = std::fs::remove_dir_all(&out);
}
