// Guards on free methods, notifications, subscriptions and service methods, by plain and
// qualified paths; the same function guards a topic. Guards answer `bool` or
// `Result<(), RpcError>`, at once or awaited.
use rpc_runtime::{Context, Hub, RpcError, Stream, Topic, methods, rpc_method, rpc_notification, rpc_service, rpc_subscription};

mod auth {
    pub fn admin(cx: &rpc_runtime::Context) -> bool {
        cx.headers().get("x-role").is_some_and(|role| role == "admin")
    }
}

fn logged_in(cx: &Context) -> bool {
    cx.headers().contains_key("authorization")
}

fn with_reason(cx: &Context) -> Result<(), RpcError> {
    match cx.headers().contains_key("authorization") {
        true => Ok(()),
        false => Err(RpcError::new(-32001, "log in first")),
    }
}

async fn token_in_store(cx: Context) -> bool {
    tokio::task::yield_now().await;
    cx.headers().contains_key("authorization")
}

async fn token_with_reason(cx: Context) -> Result<(), RpcError> {
    with_reason(&cx)
}

#[rpc_method(guard = logged_in)]
fn balance() -> u64 {
    42
}

#[rpc_method(guard = with_reason)]
fn history() -> Vec<u64> {
    Vec::new()
}

#[rpc_method(guard = token_in_store)]
async fn transfer(amount: u64) -> u64 {
    amount
}

#[rpc_method(guard = token_with_reason)]
fn close() {}

#[rpc_notification(guard = auth::admin)]
fn reset() {}

#[rpc_subscription(guard = logged_in)]
fn subscribe_prices() -> impl Stream<Item = u64> + Send + 'static {
    futures_util::stream::iter([1, 2, 3])
}

#[rpc_service]
trait Vault {
    #[rpc_method(guard = crate::auth::admin, websocket = false)]
    fn open(&self) -> bool;
}

struct Safe;

impl Vault for Safe {
    fn open(&self) -> bool {
        true
    }
}

fn main() {
    let _ = methods![balance, history, transfer, close, reset, subscribe_prices]
        .merge(Safe.into_router());
    let _ = Hub::builder().topic(Topic::new("vault").guard(logged_in)).build();
}
