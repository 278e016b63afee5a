// A method that takes a connection, switched on for HTTP, which has none.
use rpc_runtime::{Connection, rpc_method};

#[rpc_method(http = true)]
fn ping_me(conn: Connection) {
    conn.notify("ping", ()).ok();
}

fn main() {}
