//! The conformance server: the methods the JSON-RPC 2.0 specification's examples call, over
//! HTTP and WebSocket at `/`, and the push methods (topics `news`, `status`, `ticks`; the
//! `subscribe_ticks` subscription; `callback`, which calls the client back) over WebSocket.
//!
//! ```text
//! cargo run -p integrations --example spec_server -- 127.0.0.1:8080 [--redis redis://127.0.0.1/]
//! cargo run -p integrations --example spec_server -- 127.0.0.1:8080 --redis-cluster redis://127.0.0.1:7000/,redis://127.0.0.1:7001/
//! ```
//!
//! Prints `listening on ADDR` once bound (port 0 picks a free port) and serves until Ctrl-C.
//! With `--history`, a topic `log` and every group keep their last pushes, for subscribers
//! that come back (`rpc.subscribe` with `since`, `join_from`).
//! With `--redis URL`, its groups, topics and connections are shared with every other process
//! started so on the same Redis; with `--redis-cluster URL[,URL..]` (any of its nodes), on the
//! same Redis Cluster.

mod methods;

use std::io;

use rpc_runtime::{RedisBroker, Server};

#[tokio::main]
async fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut addr = "127.0.0.1:8080".to_owned();
    let mut broker = None;
    let mut history = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut url = || {
            args.next()
                .ok_or_else(|| usage(&format!("{arg} needs a URL")))
        };
        match arg.as_str() {
            "--redis" => broker = Some(RedisBroker::builder(&url()?)),
            "--redis-cluster" => broker = Some(RedisBroker::cluster(url()?.split(','))),
            "--history" => history = true,
            _ if arg.starts_with('-') => return Err(usage(&format!("unknown option {arg}"))),
            _ => addr = arg,
        }
    }
    let mut hub = methods::hub();
    if history {
        hub = methods::with_history(hub);
    }
    if let Some(broker) = broker {
        match broker.connect().await {
            Ok(broker) => hub = hub.broker(broker),
            Err(err) => {
                eprintln!("spec_server: {err}");
                std::process::exit(1);
            }
        }
    }
    let server = Server::builder()
        .discovery_info("spec_server", env!("CARGO_PKG_VERSION"))
        .hub(hub.build())
        .state(methods::Ticks::default())
        .bind(addr, methods::router())
        .await?;
    println!("listening on {}", server.local_addr());
    server
        .serve_with_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}

fn usage(problem: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{problem}\nusage: spec_server [ADDR] [--redis URL | --redis-cluster URL[,URL..]] [--history]"
        ),
    )
}
