// A method that takes a connection, switched off for WebSocket: it could only run over HTTP.
use rpc_runtime::{Connection, rpc_method};

#[rpc_method(websocket = false)]
fn ping_me(conn: Connection) {
    conn.notify("ping", ()).ok();
}

fn main() {}
