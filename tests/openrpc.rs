//! The documents `rpc.discover` serves, checked by OpenRPC's own tools
//! (`@open-rpc/schema-utils-js`, installed by `scripts/test`): the conformance server's and
//! each example server's against the OpenRPC meta-schema, and calls' params against the
//! conformance server's methods.

mod common;

use common::running::Running;
use common::{Ws, timed};
use serde_json::json;

/// Each server example, with the path it serves JSON-RPC at.
const SERVERS: [(&str, &str); 6] = [
    ("spec_server", "/"),
    ("quickstart", "/"),
    ("rooms", "/"),
    ("files", "/"),
    ("change_feed", "/"),
    ("chat", "/rpc"),
];

#[tokio::test]
async fn every_served_document_is_valid_openrpc_and_validates_calls() {
    let dir = std::env::temp_dir().join(format!("rpc-openrpc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut documents = Vec::new();
    for (name, path) in SERVERS {
        let running = Running::start(name, &[]).await;
        // Over WebSocket: every method, those that exist only there too.
        let mut ws = Ws::connect(&format!("ws://{}{path}", running.addr)).await;
        let answer = ws
            .call(r#"{"jsonrpc":"2.0","method":"rpc.discover","id":1}"#)
            .await;
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, answer["result"].to_string()).unwrap();
        documents.push(file);
        running.kill().await;
    }
    let calls = json!([
        {"method": "subtract", "params": [42, 23], "valid": true},
        {"method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "valid": true},
        {"method": "subtract", "params": ["forty-two", 23], "valid": false},
        {"method": "greet", "params": ["Ann"], "valid": true},
        {"method": "broadcast_ticks", "params": [3, -1], "valid": false},
    ]);
    let calls_file = dir.join("calls.json");
    std::fs::write(&calls_file, calls.to_string()).unwrap();

    let npm = npm_dir();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openrpc/validate.mjs");
    let output = timed(
        "the OpenRPC validator",
        tokio::process::Command::new("node")
            .arg(script)
            .arg(&npm)
            .arg(&calls_file)
            .args(&documents)
            .output(),
    )
    .await
    .expect("run node (Debian: nodejs)");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{printed}");
    assert!(
        printed.contains(&format!("openrpc: {} passed, 0 failed", SERVERS.len() + 5)),
        "{printed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `target/npm`, which `scripts/test` fills.
fn npm_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let npm = exe.ancestors().nth(3).unwrap().join("npm");
    assert!(
        npm.join("node_modules/@open-rpc/schema-utils-js").exists(),
        "{} has no @open-rpc/schema-utils-js: `scripts/test` installs it",
        npm.display()
    );
    npm
}
