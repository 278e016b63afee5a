// Every supported shape of handler compiles and registers.
use rpc_runtime::{Context, RpcError, methods, rpc_method, rpc_notification};

mod math {
    use rpc_runtime::rpc_method;

    #[rpc_method("math.add")]
    pub fn add(a: i64, b: i64) -> i64 {
        a + b
    }
}

#[derive(Debug, thiserror::Error)]
#[error("too big")]
struct TooBig;

impl From<TooBig> for RpcError {
    fn from(err: TooBig) -> Self {
        RpcError::new(-32010, err.to_string())
    }
}

#[rpc_method]
fn nothing() {}

#[rpc_method]
fn unit() -> () {}

#[rpc_method]
async fn async_value(x: u8) -> u8 {
    x
}

#[rpc_method(blocking = true)]
fn blocking(x: u8) -> Result<u8, TooBig> {
    if x > 10 { Err(TooBig) } else { Ok(x) }
}

#[rpc_method(http = false)]
pub(crate) fn ws_only(cx: Context, name: Option<String>) -> String {
    format!("{:?} {name:?}", cx.transport())
}

#[rpc_method("renamed", websocket = false, blocking = false)]
fn with_options(#[rpc(name = "x")] mut first: Vec<String>, #[rpc(rest)] rest: Vec<serde_json::Value>) -> usize {
    first.push(String::new());
    first.len() + rest.len()
}

#[rpc_method]
fn r#type(r#in: String) -> std::result::Result<String, RpcError> {
    Ok(r#in)
}

#[rpc_notification("log")]
async fn log(line: String, cx: rpc_runtime::Context) {
    let _ = (line, cx);
}

#[rpc_notification]
fn ping() {}

fn main() {
    let router = methods![
        math::add,
        nothing,
        unit,
        async_value,
        blocking,
        ws_only,
        with_options,
        r#type,
        log,
        ping,
    ];
    assert_eq!(router.len(), 10);
    assert!(router.methods().any(|m| m.name() == "type"));
    assert!(router.methods().any(|m| m.name() == "math.add"));
    assert_eq!(methods![].len(), 0);
    assert_eq!(math::add(1, 2), 3);
    assert_eq!(with_options(vec![], vec![]), 1);
}
