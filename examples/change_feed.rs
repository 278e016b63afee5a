//! A todo store that pushes its changes, after rohrpost's model mixins: every create, update
//! and delete goes to the group watching that todo (`todos-ID`) and to the group watching them
//! all (`todos`), as `{"type": "create"|"update"|"delete", "group": ..., "object": ...}`.
//!
//! ```text
//! cargo run --example change_feed -- 127.0.0.1:8080
//! ```
//!
//! Prints `listening on ADDR`, plays a short session (one client watches the collection,
//! another one todo, a third edits) printing every change the watchers receive, then serves
//! until Ctrl-C.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rpc_runtime::client::{ClientError, RpcClient, WsClient};
use rpc_runtime::{Connection, Context, Record, RpcError, Server, methods, rpc_method};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
struct Todo {
    id: u64,
    title: String,
    done: bool,
}

/// All it takes for a type's changes to be pushed: its collection and its key.
impl Record for Todo {
    const COLLECTION: &'static str = "todos";

    fn key(&self) -> impl Display {
        self.id
    }
}

#[derive(Default)]
struct Store {
    last_id: u64,
    todos: BTreeMap<u64, Todo>,
}

fn store(cx: &Context) -> MutexGuard<'_, Store> {
    let store = cx.state::<Mutex<Store>>().expect("the server has a store");
    store.lock().unwrap_or_else(PoisonError::into_inner)
}

fn no_such(id: u64) -> RpcError {
    RpcError::invalid_params(format!("no todo {id}"))
}

/// Watches one todo's changes, or with no id every todo's.
#[rpc_method("todos.watch")]
async fn watch(cx: Context, conn: Connection, id: Option<u64>) -> Result<bool, RpcError> {
    let group = id.map_or_else(|| Todo::COLLECTION.to_owned(), Todo::group);
    Ok(cx.hub().join(&group, conn.id()).await?)
}

#[rpc_method("todos.list")]
fn list(cx: Context) -> Vec<Todo> {
    store(&cx).todos.values().cloned().collect()
}

#[rpc_method("todos.create")]
fn create(cx: Context, title: String) -> Result<Todo, RpcError> {
    let todo = {
        let mut store = store(&cx);
        store.last_id += 1;
        let todo = Todo {
            id: store.last_id,
            title,
            done: false,
        };
        store.todos.insert(todo.id, todo.clone());
        todo
    };
    cx.hub().created(&todo)?;
    Ok(todo)
}

#[rpc_method("todos.update")]
fn update(
    cx: Context,
    id: u64,
    title: Option<String>,
    done: Option<bool>,
) -> Result<Todo, RpcError> {
    let todo = {
        let mut store = store(&cx);
        let todo = store.todos.get_mut(&id).ok_or_else(|| no_such(id))?;
        todo.title = title.unwrap_or_else(|| todo.title.clone());
        todo.done = done.unwrap_or(todo.done);
        todo.clone()
    };
    cx.hub().updated(&todo)?;
    Ok(todo)
}

#[rpc_method("todos.delete")]
fn delete(cx: Context, id: u64) -> Result<Todo, RpcError> {
    let todo = store(&cx).todos.remove(&id).ok_or_else(|| no_such(id))?;
    cx.hub().deleted(&todo)?;
    Ok(todo)
}

/// Three clients: `all` watches the collection, `one` the first todo, `editor` edits.
async fn session(url: &str) -> Result<(), ClientError> {
    let (all, one, editor) = tokio::try_join!(
        WsClient::connect(url),
        WsClient::connect(url),
        WsClient::connect(url)
    )?;
    let mut all_changes = all.notifications_for::<Value>("change");
    let mut one_changes = one.notifications_for::<Value>("change");
    all.call::<bool>("todos.watch", ()).await?;

    let todo: Todo = editor.call("todos.create", ["write the docs"]).await?;
    one.call::<bool>("todos.watch", [todo.id]).await?;
    editor
        .call::<Todo>(
            "todos.update",
            serde_json::json!({"id": todo.id, "done": true}),
        )
        .await?;
    editor.call::<Todo>("todos.delete", [todo.id]).await?;

    for (who, changes) in [("all", &mut all_changes), ("one", &mut one_changes)] {
        let expected = if who == "all" { 3 } else { 2 };
        for _ in 0..expected {
            if let Some(change) = changes.recv().await {
                let change = change?;
                println!(
                    "{who}: {} {} {}",
                    change["type"], change["group"], change["object"]
                );
            }
        }
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
        .state(Mutex::new(Store::default()))
        .bind(addr, methods![watch, list, create, update, delete])
        .await?;
    println!("listening on {}", server.local_addr());
    let server = server.spawn();

    session(&format!("ws://{}/", server.local_addr())).await?;
    println!("serving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(())
}
