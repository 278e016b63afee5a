// The connection param given a name, though it is not read from the request.
use rpc_runtime::{Connection, rpc_method};

#[rpc_method]
fn ping_me(#[rpc(name = "c")] conn: Connection) {
    conn.notify("ping", ()).ok();
}

fn main() {}
