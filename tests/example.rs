//! Examples as programs: the conformance server's contract other tools depend on, and the
//! push examples' sessions.

mod common;

use std::process::Stdio;

use common::running::Running;
use common::{Http, Ws, example, timed};
use serde_json::json;
use tokio::process::Command;

/// What an example that plays a session prints after its address, up to its last line,
/// `serving until Ctrl-C`; then it is stopped.
async fn played(name: &str) -> Vec<String> {
    let mut running = Running::start(name, &[]).await;
    let mut printed = Vec::new();
    loop {
        let line = running.next_line().await;
        if line == "serving until Ctrl-C" {
            running.kill().await;
            return printed;
        }
        printed.push(line);
    }
}

#[tokio::test]
async fn spec_server_prints_its_address_and_serves_both_transports() {
    let running = Running::start("spec_server", &[]).await;
    let addr = running.addr;
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");

    let http = Http::new(format!("http://{addr}/"));
    let answer = http
        .exchange(r#"{"jsonrpc":"2.0","method":"http_only","id":1}"#)
        .await;
    assert_eq!(
        answer,
        Some(json!({"jsonrpc":"2.0","result":"http","id":1}))
    );
    let mut ws = Ws::connect(&format!("ws://{addr}/")).await;
    let answer = ws
        .call(r#"{"jsonrpc":"2.0","method":"ws_only","id":2}"#)
        .await;
    assert_eq!(answer, json!({"jsonrpc":"2.0","result":"ws","id":2}));

    running.kill().await;
}

#[tokio::test]
async fn the_rooms_example_plays_its_conversation_then_serves() {
    let printed = played("rooms").await;
    assert_eq!(
        printed,
        [
            "bob got the retained announcement: welcome: log in, join a room, say hello",
            "in rust: ann, bob",
            "ann's message reached 2 connections",
            "bob got: ann in rust: hello, bob",
            "bob saw ann leave rust",
        ]
    );
}

#[tokio::test]
async fn the_files_example_asks_its_client_and_streams_events() {
    let printed = played("files").await;
    assert_eq!(
        printed,
        [
            "delete draft.txt: true",
            "delete thesis.txt: false",
            "event: draft.txt deleted",
        ]
    );
}

#[tokio::test]
async fn the_change_feed_example_pushes_every_change_to_its_watchers() {
    let printed = played("change_feed").await;
    let todo = |done| format!(r#"{{"done":{done},"id":1,"title":"write the docs"}}"#);
    assert_eq!(
        printed,
        [
            format!(r#"all: "create" "todos" {}"#, todo(false)),
            format!(r#"all: "update" "todos" {}"#, todo(true)),
            format!(r#"all: "delete" "todos" {}"#, todo(true)),
            format!(r#"one: "update" "todos-1" {}"#, todo(true)),
            format!(r#"one: "delete" "todos-1" {}"#, todo(true)),
        ]
    );
}

/// Runs an example that exits by itself; what it printed.
async fn run_to_end(name: &str) -> Vec<String> {
    let output = timed(
        name,
        Command::new(example(name))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|err| panic!("run {name}: {err}"));
    assert!(output.status.success(), "{name}: {}", output.status);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    stdout.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn the_errors_example_maps_its_own_errors_and_a_foreign_one() {
    assert_eq!(
        run_to_end("errors").await,
        [
            "ok: 6",
            r#"error 4002: insufficient funds {"balance":6,"wanted":100}"#,
            r#"error 4004: no such account {"account":"bob"}"#,
            "ok: 12",
            "error -32000: invalid digit found in string",
        ]
    );
}

#[tokio::test]
async fn the_state_and_headers_example_counts_visits_by_named_callers() {
    assert_eq!(
        run_to_end("state_and_headers").await,
        [
            "hello ann, visit 1, over Http",
            "hello bob, visit 2, over WebSocket",
            "the server answered with an error: send an x-user header (4001)",
        ]
    );
}

#[tokio::test]
async fn the_batch_example_types_each_answer_on_both_transports() {
    let printed = run_to_end("batch").await;
    // The notification's log line may come before or after the answers.
    let answers: Vec<&String> = printed
        .iter()
        .filter(|l| !l.starts_with("server log"))
        .collect();
    assert_eq!(
        answers,
        [
            "http: subtract -> 19",
            "http: greet -> hello, http",
            "http: divide -> the server answered with an error: division by zero (-32602)",
            "websocket: subtract -> 19",
            "websocket: greet -> hello, websocket",
            "websocket: divide -> the server answered with an error: division by zero (-32602)",
        ]
    );
    assert_eq!(printed.len(), answers.len() + 2, "two notifications logged");
}
