//! Both directions on one WebSocket: the server asks its client to confirm before it deletes a
//! file (a call from the server to the client, typed through an `#[rpc_service]` trait the
//! client serves), and streams a live feed of file events as a typed subscription.
//!
//! ```text
//! cargo run --example files -- 127.0.0.1:8080
//! ```
//!
//! Prints `listening on ADDR`, plays one client's session so there is something to see, then
//! serves until Ctrl-C.

use std::collections::BTreeSet;
use std::sync::Mutex;

use futures_util::StreamExt;
use rpc_runtime::client::{ClientError, WsClient};
use rpc_runtime::{Connection, Context, RpcError, Server, Stream, rpc_service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// What the client serves to the server: its user interface.
#[rpc_service]
trait Ui {
    /// Asks the user a yes-or-no question.
    async fn confirm(&self, question: String) -> Result<bool, RpcError>;
}

/// What the server serves.
#[rpc_service]
trait Files {
    /// Deletes `name` once the caller's user confirms; answers whether it did.
    async fn delete(&self, cx: Context, name: String) -> Result<bool, RpcError>;
    /// Every change to the files from now on: `unsubscribe_events` ends it, items arrive as
    /// `events` notifications.
    #[rpc_subscription]
    fn subscribe_events(&self) -> impl Stream<Item = Event>;
}

/// One change to the files.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
struct Event {
    deleted: String,
}

struct Store {
    files: Mutex<BTreeSet<String>>,
    events: broadcast::Sender<Event>,
}

impl Files for Store {
    async fn delete(&self, cx: Context, name: String) -> Result<bool, RpcError> {
        let connection: Connection = cx
            .connection()
            .cloned()
            .ok_or_else(|| RpcError::invalid_params("deleting asks the user: use WebSocket"))?;
        // Typed end to end: the trait the client serves, called through its connection.
        let confirmed = UiClient::new(connection)
            .confirm(format!("delete {name}?"))
            .await
            .map_err(|err| RpcError::internal().with_data(err.to_string()))?;
        if !confirmed || !self.files.lock().unwrap().remove(&name) {
            return Ok(false);
        }
        let _ = self.events.send(Event { deleted: name });
        Ok(true)
    }

    fn subscribe_events(&self) -> impl Stream<Item = Event> + Send + 'static {
        futures_util::stream::unfold(self.events.subscribe(), |mut events| async move {
            events.recv().await.ok().map(|event| (event, events))
        })
    }
}

/// The client's side: a user who agrees to delete drafts only.
struct Cautious;

impl Ui for Cautious {
    async fn confirm(&self, question: String) -> Result<bool, RpcError> {
        Ok(question.contains("draft"))
    }
}

async fn play(url: &str) -> Result<(), ClientError> {
    let client = WsClient::builder()
        .router(Cautious.into_router())
        .connect(url)
        .await?;
    let files = FilesClient::new(client.clone());
    let mut events = files.subscribe_events().await?;
    for name in ["draft.txt", "thesis.txt"] {
        println!("delete {name}: {}", files.delete(name.into()).await?);
    }
    if let Some(event) = events.next().await {
        println!("event: {} deleted", event?.deleted);
    }
    events.unsubscribe().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let store = Store {
        files: Mutex::new(["draft.txt", "thesis.txt"].map(String::from).into()),
        events: broadcast::channel(64).0,
    };
    let server = Server::bind(addr, store.into_router()).await?;
    println!("listening on {}", server.local_addr());
    let url = format!("ws://{}/", server.local_addr());
    let handle = server.spawn();
    play(&url).await?;
    println!("serving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    handle.stop().await;
    Ok(())
}
