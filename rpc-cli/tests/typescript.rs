//! The generated TypeScript client at work: `rpc codegen ts` against the conformance server,
//! compiled with `tsc --strict`, and a Node script (`tests/ts/spec.ts`) driving the server
//! through it: calls both ways, a notification, an error with data, a subscription, a topic,
//! and calls from the server answered by the script.

mod common;

use common::{Server, npm_bin, run, timed};

#[tokio::test]
async fn the_generated_client_drives_the_server_from_node() {
    let server = Server::start().await;
    let dir = std::env::temp_dir().join(format!("rpc-ts-{}", server.addr.port()));
    let generated = run(&["codegen", "ts", &server.ws(), "-o", dir.to_str().unwrap()]).await;
    assert!(generated.status.success(), "{generated:?}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ts/spec.ts");
    std::fs::copy(script, dir.join("spec.ts")).unwrap();
    // ES modules, for the script's top-level await.
    std::fs::write(dir.join("package.json"), r#"{"type": "module"}"#).unwrap();

    let compiled = timed(
        "tsc",
        tokio::process::Command::new(npm_bin("tsc"))
            .current_dir(&dir)
            .args(["--strict", "--target", "es2022", "--module", "nodenext"])
            .args(["--moduleResolution", "nodenext", "--lib", "es2022,dom"])
            .args(["--outDir", "out", "rpc.ts", "client.ts", "spec.ts"])
            .output(),
    )
    .await
    .unwrap();
    let said = |output: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    };
    assert!(
        compiled.status.success(),
        "tsc --strict: {}",
        said(&compiled)
    );

    // Node 20 has `WebSocket` behind a flag; 22 and later, without.
    let ran = timed(
        "node",
        tokio::process::Command::new("node")
            .arg("--experimental-websocket")
            .arg(dir.join("out/spec.js"))
            .args([server.ws(), server.http()])
            .output(),
    )
    .await
    .expect("run node (Debian: nodejs)");
    let printed = said(&ran);
    assert!(ran.status.success(), "{printed}");
    let summary = printed.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("ts: ") && summary.ends_with(" passed, 0 failed"),
        "{printed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
