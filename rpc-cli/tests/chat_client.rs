//! The chat example's page loads a client `rpc codegen ts` generated from the chat server and
//! `tsc` compiled (`examples/integrations/chat/web/`), committed so that the page needs no
//! build step; this fails when they are not what the generator and compiler make of today's
//! chat server. `scripts/chat-client` regenerates them.

mod common;

use common::{Server, npm_bin, run, timed};

#[tokio::test]
async fn the_chat_page_s_client_is_up_to_date() {
    let chat = Server::example("chat").await;
    let dir = std::env::temp_dir().join(format!("rpc-chat-client-{}", chat.addr.port()));
    let url = format!("ws://{}/rpc", chat.addr);
    let generated = run(&["codegen", "ts", &url, "-o", dir.to_str().unwrap()]).await;
    assert!(generated.status.success(), "{generated:?}");
    let compiled = timed(
        "tsc",
        tokio::process::Command::new(npm_bin("tsc"))
            .args([
                "--strict",
                "--target",
                "es2022",
                "--module",
                "es2022",
                "--lib",
                "es2022,dom",
            ])
            .arg("--outDir")
            .arg(&dir)
            .arg(dir.join("rpc.ts"))
            .arg(dir.join("client.ts"))
            .output(),
    )
    .await
    .unwrap();
    assert!(compiled.status.success(), "{compiled:?}");
    let committed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/integrations/chat/web");
    for file in ["rpc.ts", "client.ts", "rpc.js", "client.js"] {
        let made = std::fs::read_to_string(dir.join(file)).unwrap();
        let kept = std::fs::read_to_string(committed.join(file)).unwrap_or_default();
        assert!(
            made == kept,
            "examples/integrations/chat/web/{file} is out of date: run scripts/chat-client"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
