// A service with every method shape compiles, serves, and yields a typed client.
use rpc_runtime::client::TestClient;
use rpc_runtime::{Context, RpcError, rpc_service};

#[rpc_service(namespace = "shapes")]
pub trait Shapes {
    /// Documented.
    async fn async_value(&self, x: u8) -> u8;
    fn sync_value(&self, x: u8, y: Option<u8>) -> Result<u8, RpcError>;
    #[rpc_method(blocking = true)]
    fn blocking(&self, #[rpc(rest)] values: Vec<u8>) -> usize;
    #[rpc_method("renamed", http = false)]
    fn with_context(&self, cx: Context, #[rpc(name = "n")] name: String) -> String;
    #[rpc_notification]
    async fn note(&self, text: String);
    fn unit(&self) {}
    async fn defaulted(&self, x: u8) -> u8 {
        x + 1
    }
}

struct Impl;

impl Shapes for Impl {
    async fn async_value(&self, x: u8) -> u8 {
        x
    }
    fn sync_value(&self, x: u8, y: Option<u8>) -> Result<u8, RpcError> {
        Ok(x + y.unwrap_or(0))
    }
    fn blocking(&self, values: Vec<u8>) -> usize {
        values.len()
    }
    fn with_context(&self, cx: Context, name: String) -> String {
        format!("{name} {:?}", cx.transport())
    }
    async fn note(&self, text: String) {
        let _ = text;
    }
}

fn main() {
    let router = Impl.into_router();
    assert_eq!(router.len(), 7);
    assert!(router.methods().any(|m| m.name() == "shapes.renamed"));
    let _client: ShapesClient<TestClient> = ShapesClient::new(TestClient::new(router));
}
