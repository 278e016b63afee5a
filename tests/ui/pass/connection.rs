// Methods that take the connection, alone or beside the context and params, free and in a
// service; the service's client sends only the params.
use rpc_runtime::client::TestClient;
use rpc_runtime::{Connection, Context, RpcError, methods, rpc_method, rpc_notification, rpc_service};

#[derive(Clone)]
struct User(String);

#[rpc_method]
fn login(conn: Connection, name: String) {
    conn.insert(User(name));
}

#[rpc_method]
async fn whoami(cx: Context, conn: Connection, greeting: Option<String>) -> Result<String, RpcError> {
    let user = conn.get::<User>().ok_or_else(|| RpcError::new(-32001, "log in first"))?;
    assert_eq!(cx.connection_id(), conn.id());
    Ok(format!("{} {}", greeting.unwrap_or_default(), user.0))
}

#[rpc_method(websocket = true, http = false)]
fn echo_back(#[rpc(rest)] values: Vec<i64>, conn: Connection) {
    conn.notify("echo", values).ok();
}

#[rpc_notification]
fn bye(conn: Connection) {
    conn.close(1000, "bye");
}

#[rpc_service]
trait Rooms {
    fn enter(&self, conn: Connection, room: String) -> bool;
}

struct Lobby;

impl Rooms for Lobby {
    fn enter(&self, conn: Connection, room: String) -> bool {
        conn.notify("entered", (room,)).is_ok()
    }
}

fn main() {
    let router = methods![login, whoami, echo_back, bye]
        .merge(Lobby.into_router())
        .unwrap();
    let client = RoomsClient::new(TestClient::new(router));
    let _ = client.enter("lobby".to_owned());
}
