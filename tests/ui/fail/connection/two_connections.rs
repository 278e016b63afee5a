// More than one connection param.
use rpc_runtime::{Connection, rpc_method};

#[rpc_method]
fn ping_me(conn: Connection, again: Connection) {
    conn.notify("ping", ()).ok();
    again.notify("ping", ()).ok();
}

fn main() {}
