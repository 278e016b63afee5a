//! A chat page with rooms: plain HTML and JavaScript, served by the same server as the JSON-RPC
//! endpoint it talks to (`/rpc`, over WebSocket). Join a room under a name, type, and every
//! page in that room sees it, along with who is there, who arrives and who leaves. A page whose
//! connection drops (a network change, a server restarting) connects again and is sent what
//! its room said meanwhile: rooms keep their last 200 messages, in Redis with `--redis`.
//!
//! ```text
//! cargo run -p integrations --example chat        # then open http://127.0.0.1:8080/
//! cargo run -p integrations --example chat -- 127.0.0.1:8081 --redis redis://127.0.0.1/
//! cargo run -p integrations --example chat -- 127.0.0.1:8082 --redis-cluster redis://127.0.0.1:7000/
//! ```
//!
//! With `--redis URL`, rooms span every process started so on the same Redis: run two on two
//! ports and a page on one sees a page on the other. `--redis-cluster URL[,URL..]` does the same
//! on a Redis Cluster, named by any of its nodes.

use axum::response::Html;
use axum::routing::get;
use rpc_runtime::{
    Connection, ConnectionId, Context, History, Hub, RedisBroker, RpcError, Server, StreamPosition,
    methods, rpc_method,
};
use schemars::JsonSchema;
use serde::Serialize;

/// Who a connection is and where, kept with it once it joins.
#[derive(Clone)]
struct Member {
    name: String,
    room: String,
}

/// One of the people in a room, as `chat.join` answers them.
#[derive(Serialize, JsonSchema)]
struct Present {
    id: ConnectionId,
    name: String,
}

/// What `chat.join` answers: who is there, where the room's stream is, and, for a page coming
/// back, whether it was sent everything it missed.
#[derive(Serialize, JsonSchema)]
struct Joined {
    members: Vec<Present>,
    position: StreamPosition,
    recovered: Option<bool>,
}

#[derive(Serialize)]
struct Said<'a> {
    name: &'a str,
    room: &'a str,
    text: &'a str,
}

fn checked(what: &str, value: String, max: usize) -> Result<String, RpcError> {
    let value = value.trim().to_owned();
    if value.is_empty() || value.chars().count() > max {
        return Err(RpcError::invalid_params(format!(
            "{what} must be 1 to {max} characters"
        )));
    }
    Ok(value)
}

/// Joins `room` as `name`, leaving the room the connection was in; both rooms are told
/// (`rpc.joined`, `rpc.left`: the hub's presence events). A page coming back gives `since`,
/// the position it last saw, and is sent what the room said after it first. Answers everyone
/// in the room, on every process, and the room's position.
#[rpc_method("chat.join")]
async fn join(
    cx: Context,
    conn: Connection,
    name: String,
    room: String,
    since: Option<StreamPosition>,
) -> Result<Joined, RpcError> {
    let member = Member {
        name: checked("a name", name, 40)?,
        room: checked("a room", room, 40)?,
    };
    if let Some(previous) = conn.get::<Member>() {
        cx.hub().leave(&previous.room, conn.id());
    }
    let recovery = cx
        .hub()
        .join_with_from(&member.room, conn.id(), &member.name, since)
        .await?;
    let present = cx.hub().presence(&member.room).await?;
    conn.insert(member);
    let members = present
        .into_iter()
        .filter_map(|member| {
            let name = member.info?.as_str()?.to_owned();
            Some(Present {
                id: member.id,
                name,
            })
        })
        .collect();
    Ok(Joined {
        members,
        position: recovery.position,
        recovered: recovery.recovered,
    })
}

/// Says `text` to the connection's room, itself included.
#[rpc_method("chat.say")]
fn say(cx: Context, conn: Connection, text: String) -> Result<(), RpcError> {
    let member = conn
        .get::<Member>()
        .ok_or_else(|| RpcError::invalid_params("join a room first"))?;
    let text = checked("a message", text, 1000)?;
    let said = Said {
        name: &member.name,
        room: &member.room,
        text: &text,
    };
    cx.hub().notify_group(&member.room, "chat.message", said)?;
    Ok(())
}

fn script(text: &'static str) -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/javascript")],
        text,
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let mut addr = "127.0.0.1:8080".to_owned();
    let mut broker = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut url = || args.next().ok_or(format!("{arg} needs a URL"));
        match arg.as_str() {
            "--redis" => broker = Some(RedisBroker::builder(&url()?)),
            "--redis-cluster" => broker = Some(RedisBroker::cluster(url()?.split(','))),
            _ => addr = arg,
        }
    }
    // A page that closes, or whose server dies, leaves its room: the room is told. Each room
    // keeps its last 200 messages for pages coming back.
    let mut hub = Hub::builder()
        .presence_events()
        .group_history(History::new().size(200));
    if let Some(broker) = broker {
        hub = hub.broker(broker.connect().await?);
    }
    let rpc = Server::builder()
        .discovery_info("chat", env!("CARGO_PKG_VERSION"))
        .hub(hub.build())
        .path("/rpc")
        .into_service(methods![join, say])?;
    let app = axum::Router::new()
        .route("/", get(|| async { Html(include_str!("index.html")) }))
        // The client `rpc codegen ts` made from this server's `rpc.discover`, compiled.
        .route(
            "/rpc.js",
            get(|| async { script(include_str!("web/rpc.js")) }),
        )
        .route(
            "/client.js",
            get(|| async { script(include_str!("web/client.js")) }),
        )
        .route_service("/rpc", rpc);

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    println!("open http://{}/ in a browser", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
