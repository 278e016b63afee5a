//! Unit tests for handlers with `TestClient`: no socket, the whole protocol path, with headers,
//! state, pushes, and typed clients over the same connection. The tests are the example:
//!
//! ```text
//! cargo test -p rpc-examples --example testing
//! ```

use rpc_runtime::{Connection, Context, Router, RpcError, methods, rpc_method, rpc_service};

/// Answers who is calling, from the `x-user` header.
#[rpc_method]
fn whoami(cx: Context) -> Result<String, RpcError> {
    cx.headers()
        .get("x-user")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| RpcError::new(4001, "send an x-user header"))
}

/// Joins the caller to a room and tells the room.
#[rpc_method]
async fn join(cx: Context, conn: Connection, room: String) -> Result<(), RpcError> {
    cx.hub().join(&room, conn.id()).await?;
    cx.hub().notify_group(&room, "joined", [&room])?;
    Ok(())
}

#[rpc_service]
trait Counter {
    fn add(&self, n: u64) -> u64;
}

#[derive(Default)]
struct Total(std::sync::atomic::AtomicU64);

impl Counter for Total {
    fn add(&self, n: u64) -> u64 {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n
    }
}

/// The methods, as a server would serve them.
fn router() -> Router {
    methods![whoami, join]
        .merge(Total::default().into_router())
        .expect("distinct method names")
}

fn main() {
    let names: Vec<&str> = router().methods().map(|method| method.name()).collect();
    println!("methods: {}", names.join(", "));
    println!("this example is its tests: cargo test -p rpc-examples --example testing");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rpc_runtime::Hub;
    use rpc_runtime::client::{ClientError, RpcClient, TestClient};

    use super::*;

    #[tokio::test]
    async fn the_caller_is_named_by_its_header() {
        let client = TestClient::builder(methods![whoami])
            .header("x-user", "ann")
            .build();
        assert_eq!(client.call::<String>("whoami", ()).await.unwrap(), "ann");

        let anonymous = TestClient::new(methods![whoami]);
        let Err(ClientError::Rpc(err)) = anonymous.call::<String>("whoami", ()).await else {
            panic!("expected an error answer");
        };
        assert_eq!(err.code(), 4001);
    }

    #[tokio::test]
    async fn joining_a_room_tells_its_members() {
        let hub = Hub::new();
        let ann = TestClient::builder(methods![join]).hub(hub.clone()).build();
        let bob = TestClient::builder(methods![join]).hub(hub.clone()).build();
        ann.call::<()>("join", ["rust"]).await.unwrap();
        bob.call::<()>("join", ["rust"]).await.unwrap();
        let joined = ann.try_next_notification().unwrap();
        assert_eq!(joined.method(), "joined");
        // Ann was told of her own arrival, then of Bob's.
        assert!(ann.try_next_notification().is_some());
        assert_eq!(hub.members("rust").len(), 2);
    }

    #[tokio::test]
    async fn a_typed_client_shares_the_test_client() {
        let total = Arc::new(Total::default());
        let client = TestClient::new(Arc::clone(&total).into_router());
        let counter = CounterClient::new(&client);
        assert_eq!(counter.add(2).await.unwrap(), 2);
        assert_eq!(client.call::<u64>("add", [3]).await.unwrap(), 5);
        // The state kept outside saw both calls.
        assert_eq!(total.add(0), 5);
    }
}
