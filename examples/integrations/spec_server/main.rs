//! The conformance server: the methods the JSON-RPC 2.0 specification's examples call, over
//! HTTP and WebSocket at `/`, and the push methods (topics `news`, `status`, `ticks`; the
//! `subscribe_ticks` subscription; `callback`, which calls the client back) over WebSocket.
//!
//! ```text
//! cargo run -p integrations --example spec_server -- 127.0.0.1:8080 [--redis redis://127.0.0.1/]
//! ```
//!
//! Prints `listening on ADDR` once bound (port 0 picks a free port) and serves until Ctrl-C.
//! With `--redis URL`, its groups, topics and connections are shared with every other process
//! started so on the same Redis.

mod methods;

use std::io;

use rpc_runtime::{RedisBroker, Server};

#[tokio::main]
async fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut addr = "127.0.0.1:8080".to_owned();
    let mut redis = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--redis" => redis = Some(args.next().ok_or_else(|| usage("--redis needs a URL"))?),
            _ if arg.starts_with('-') => return Err(usage(&format!("unknown option {arg}"))),
            _ => addr = arg,
        }
    }
    let mut hub = methods::hub();
    if let Some(url) = redis {
        match RedisBroker::connect(&url).await {
            Ok(broker) => hub = hub.broker(broker),
            Err(err) => {
                eprintln!("spec_server: {err}");
                std::process::exit(1);
            }
        }
    }
    let server = Server::builder()
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
        format!("{problem}\nusage: spec_server [ADDR] [--redis URL]"),
    )
}
