//! `https://` and `wss://`: the server on rustls with a certificate made in the test, and both
//! clients trusting it.

mod common;

use common::{TestServer, timed};
use rpc_runtime::Server;
use rpc_runtime::client::{HttpClient, RpcClient, WsClient};

#[tokio::test]
async fn https_and_wss_answer_calls_and_plain_http_is_not_served() {
    let common::tls::Certificate {
        server: server_config,
        client: client_config,
        ..
    } = common::tls::certificate();
    let server = TestServer::start_with(Server::builder().tls(server_config), 2).await;
    let port = server.addr.port();

    let https = HttpClient::builder()
        .tls_config(client_config.clone())
        .build(&format!("https://localhost:{port}/"))
        .unwrap();
    assert_eq!(
        timed("https", https.call::<i64>("subtract", (5, 3)))
            .await
            .unwrap(),
        2
    );

    let wss = timed(
        "wss connect",
        WsClient::builder()
            .tls_config(client_config)
            .connect(format!("wss://localhost:{port}/")),
    )
    .await
    .unwrap();
    assert_eq!(wss.call::<i64>("subtract", (9, 3)).await.unwrap(), 6);

    // A burst over TLS goes message by message (only plain TCP streams take its frames whole).
    let mut ticks = wss.notifications_for::<u64>("ticks");
    let subscribed: Vec<String> = wss.call("rpc.subscribe", ["ticks"]).await.unwrap();
    assert_eq!(subscribed, ["ticks"]);
    assert_eq!(server.hub().publish_many("ticks", 0..50u64).unwrap(), 1);
    for n in 0..50 {
        assert_eq!(timed("a tick", ticks.recv()).await.unwrap().unwrap(), n);
    }

    // Not in the clear, and not to a client that does not trust the certificate.
    let plain = HttpClient::new(&format!("http://localhost:{port}/")).unwrap();
    assert!(
        timed("plain http", plain.call::<i64>("subtract", (5, 3)))
            .await
            .is_err()
    );
    let untrusting = HttpClient::new(&format!("https://localhost:{port}/")).unwrap();
    assert!(
        timed("untrusted", untrusting.call::<i64>("subtract", (5, 3)))
            .await
            .is_err()
    );
    drop(wss);
    server.stop().await;
}
