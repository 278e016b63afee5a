//! Chat rooms over WebSocket: a room is a group, a user's name and rooms are kept with their
//! connection, and an `announcements` topic keeps its last item for whoever subscribes later.
//!
//! ```text
//! cargo run --example rooms -- 127.0.0.1:8080
//! ```
//!
//! Prints `listening on ADDR`, plays a short conversation between two clients so there is
//! something to see, then serves until Ctrl-C. Join in with any WebSocket client (one message
//! per line, e.g. with `websocat ws://127.0.0.1:8080/`):
//!
//! ```text
//! {"jsonrpc":"2.0","method":"login","params":["cat"],"id":1}
//! {"jsonrpc":"2.0","method":"join","params":["rust"],"id":2}
//! {"jsonrpc":"2.0","method":"say","params":["rust","hi all"],"id":3}
//! ```

use std::collections::BTreeSet;

use rpc_runtime::client::{ClientError, RpcClient, WsClient};
use rpc_runtime::{Connection, Context, Hub, RpcError, Server, Topic, methods, rpc_method};
use serde::{Deserialize, Serialize};

/// Who is on a connection, once they have logged in.
#[derive(Clone)]
struct User(String);

/// The rooms a connection is in, kept with it so that leaving can be announced after it closes.
#[derive(Clone, Default)]
struct Rooms(BTreeSet<String>);

/// The params of a `message` notification.
#[derive(Serialize, Deserialize, Debug)]
struct Said {
    room: String,
    from: String,
    text: String,
}

/// The params of `joined` and `left` notifications.
#[derive(Serialize, Deserialize, Debug)]
struct Presence {
    room: String,
    user: String,
}

fn user_of(conn: &Connection) -> Result<String, RpcError> {
    conn.get::<User>()
        .map(|User(name)| name)
        .ok_or_else(|| RpcError::new(4001, "log in first: call login(name)"))
}

/// Names this connection's user; later calls on the same connection act as them.
#[rpc_method]
fn login(conn: Connection, name: String) -> Result<(), RpcError> {
    if name.trim().is_empty() {
        return Err(RpcError::invalid_params("a name cannot be blank"));
    }
    conn.insert(User(name));
    Ok(())
}

/// Joins `room`, tells everyone in it, and answers who is there.
#[rpc_method]
async fn join(cx: Context, conn: Connection, room: String) -> Result<Vec<String>, RpcError> {
    let user = user_of(&conn)?;
    let hub = cx.hub();
    if hub.join(&room, conn.id()).await? {
        let mut rooms = conn.get::<Rooms>().unwrap_or_default();
        rooms.0.insert(room.clone());
        conn.insert(rooms);
        hub.notify_group(
            &room,
            "joined",
            Presence {
                room: room.clone(),
                user,
            },
        )?;
    }
    let members = hub
        .members(&room)
        .into_iter()
        .filter_map(|id| hub.connection(id));
    Ok(members.filter_map(|member| user_of(&member).ok()).collect())
}

/// Leaves `room`; the others in it are told.
#[rpc_method]
fn leave(cx: Context, conn: Connection, room: String) -> Result<bool, RpcError> {
    let user = user_of(&conn)?;
    if let Some(mut rooms) = conn.get::<Rooms>() {
        rooms.0.remove(&room);
        conn.insert(rooms);
    }
    let left = cx.hub().leave(&room, conn.id());
    if left {
        cx.hub().notify_group(
            &room,
            "left",
            Presence {
                room: room.clone(),
                user,
            },
        )?;
    }
    Ok(left)
}

/// Says `text` to everyone in `room`, the speaker included; answers how many it reached.
#[rpc_method]
fn say(cx: Context, conn: Connection, room: String, text: String) -> Result<usize, RpcError> {
    let from = user_of(&conn)?;
    if !cx.hub().groups_of(conn.id()).contains(&room) {
        return Err(RpcError::invalid_params(format!("join `{room}` first")));
    }
    Ok(cx.hub().notify_group(
        &room,
        "message",
        Said {
            room: room.clone(),
            from,
            text,
        },
    )?)
}

fn hub() -> Hub {
    Hub::builder()
        .topic(Topic::new("announcements").retain_last())
        // By now the connection has left its groups: tell the rooms it had joined.
        .on_disconnect(|conn: Connection, hub: Hub| async move {
            let (Ok(user), Some(Rooms(rooms))) = (user_of(&conn), conn.get::<Rooms>()) else {
                return;
            };
            for room in rooms {
                let user = user.clone();
                let _ = hub.notify_group(
                    &room,
                    "left",
                    Presence {
                        room: room.clone(),
                        user,
                    },
                );
            }
        })
        .build()
}

/// Two clients meet in a room; everything one of them receives is printed.
async fn conversation(url: &str) -> Result<(), ClientError> {
    let ann = WsClient::connect(url).await?;
    let bob = WsClient::connect(url).await?;
    let mut announcements = bob.notifications_for::<String>("announcements");
    let mut messages = bob.notifications_for::<Said>("message");
    let mut departures = bob.notifications_for::<Presence>("left");

    let _: Vec<String> = bob.call("rpc.subscribe", ["announcements"]).await?;
    if let Some(text) = announcements.recv().await {
        println!("bob got the retained announcement: {}", text?);
    }
    ann.call::<()>("login", ["ann"]).await?;
    bob.call::<()>("login", ["bob"]).await?;
    bob.call::<Vec<String>>("join", ["rust"]).await?;
    let present: Vec<String> = ann.call("join", ["rust"]).await?;
    println!("in rust: {}", present.join(", "));
    let reached: usize = ann.call("say", ("rust", "hello, bob")).await?;
    println!("ann's message reached {reached} connections");
    if let Some(said) = messages.recv().await {
        let said = said?;
        println!("bob got: {} in {}: {}", said.from, said.room, said.text);
    }
    drop(ann);
    if let Some(left) = departures.recv().await {
        let left = left?;
        println!("bob saw {} leave {}", left.user, left.room);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server = Server::builder()
        .hub(hub())
        .bind(addr, methods![login, join, leave, say])
        .await?;
    println!("listening on {}", server.local_addr());
    // The hub is reachable from outside handlers too: here, before any client connects.
    server
        .hub()
        .publish_retained("announcements", "welcome: log in, join a room, say hello")?;
    let server = server.spawn();

    conversation(&format!("ws://{}/", server.local_addr())).await?;
    println!("serving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(())
}
