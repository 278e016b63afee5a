// The connection taken by reference.
use rpc_runtime::{Connection, rpc_method};

#[rpc_method]
fn ping_me(conn: &Connection) {
    conn.notify("ping", ()).ok();
}

fn main() {}
