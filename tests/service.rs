//! `#[rpc_service]`: a trait served beside free functions in one server, and called through its
//! typed client over WebSocket, HTTP and in process.

mod common;

use std::sync::Mutex;

use common::TestServer;
use rpc_runtime::client::{ClientError, HttpClient, RpcClient, TestClient, WsClient};
use rpc_runtime::{Context, RpcError, Server, Transport, methods, rpc_method, rpc_service};

#[rpc_service(namespace = "bank")]
trait Bank {
    /// Adds `amount`; returns the new balance.
    async fn deposit(&self, account: String, amount: u64) -> Result<u64, RpcError>;

    fn balance(&self, account: String) -> u64;

    #[rpc_method("transport", http = false)]
    fn transport(&self, cx: Context) -> String;

    #[rpc_notification("audit")]
    fn audit(&self, #[rpc(rest)] notes: Vec<String>);

    fn audits(&self) -> Vec<String>;

    #[rpc_method(blocking = true)]
    fn interest(&self, account: String, #[rpc(name = "percent")] rate: Option<u64>) -> u64;
}

#[derive(Default)]
struct Vault {
    balances: Mutex<std::collections::HashMap<String, u64>>,
    audits: Mutex<Vec<String>>,
}

impl Bank for Vault {
    async fn deposit(&self, account: String, amount: u64) -> Result<u64, RpcError> {
        tokio::task::yield_now().await;
        let mut balances = self.balances.lock().unwrap();
        let balance = balances.entry(account).or_default();
        *balance = balance
            .checked_add(amount)
            .ok_or_else(|| RpcError::new(-32010, "balance overflow"))?;
        Ok(*balance)
    }

    fn balance(&self, account: String) -> u64 {
        self.balances
            .lock()
            .unwrap()
            .get(&account)
            .copied()
            .unwrap_or(0)
    }

    fn transport(&self, cx: Context) -> String {
        format!("{:?}", cx.transport())
    }

    fn audit(&self, notes: Vec<String>) {
        self.audits.lock().unwrap().extend(notes);
    }

    fn audits(&self) -> Vec<String> {
        self.audits.lock().unwrap().clone()
    }

    fn interest(&self, account: String, rate: Option<u64>) -> u64 {
        self.balance(account) * rate.unwrap_or(1) / 100
    }
}

#[rpc_method]
fn ping() -> &'static str {
    "pong"
}

/// The same checks through any transport.
async fn exercise<C: RpcClient>(bank: &BankClient<C>, account: &str) {
    assert_eq!(bank.deposit(account.into(), 500).await.unwrap(), 500);
    assert_eq!(bank.deposit(account.into(), 250).await.unwrap(), 750);
    assert_eq!(bank.balance(account.into()).await.unwrap(), 750);
    assert_eq!(bank.interest(account.into(), Some(10)).await.unwrap(), 75);
    assert_eq!(bank.interest(account.into(), None).await.unwrap(), 7);
    let overflow = bank.deposit(account.into(), u64::MAX).await.unwrap_err();
    let err = overflow.as_rpc().expect("a JSON-RPC error");
    assert_eq!((err.code(), err.message()), (-32010, "balance overflow"));
    // Notifications are fire-and-forget; a later call sees their effect on the shared state.
    bank.audit(vec![format!("{account}:a"), format!("{account}:b")])
        .await
        .unwrap();
    let audits = bank.audits().await.unwrap();
    assert!(audits.contains(&format!("{account}:b")), "{audits:?}");
}

#[tokio::test]
async fn serves_a_trait_beside_free_functions_over_both_transports() {
    let router = Vault::default()
        .into_router()
        .merge(methods![ping])
        .unwrap();
    let server = TestServer::start_router(Server::builder(), router).await;

    let ws = WsClient::connect(format!("ws://{}/", server.addr))
        .await
        .unwrap();
    assert_eq!(ws.call::<String>("ping", ()).await.unwrap(), "pong");
    let bank = BankClient::new(ws);
    exercise(&bank, "ws").await;
    assert_eq!(bank.transport().await.unwrap(), "WebSocket");

    let http = HttpClient::new(&format!("http://{}/", server.addr)).unwrap();
    let bank = BankClient::new(http);
    exercise(&bank, "http").await;
    // Off for HTTP: it does not exist there.
    let err = bank.transport().await.unwrap_err();
    assert_eq!(err.as_rpc().map(RpcError::code), Some(-32601), "{err}");
    // The untyped names are the namespaced ones.
    let balance: u64 = bank.as_ref().call("bank.balance", ("ws",)).await.unwrap();
    assert_eq!(balance, 750);
    // Named params, with the renamed one.
    let named: u64 = bank
        .as_ref()
        .call(
            "bank.interest",
            serde_json::json!({"account": "ws", "percent": 20}),
        )
        .await
        .unwrap();
    assert_eq!(named, 150);
    drop(bank);
    server.stop().await;
}

#[tokio::test]
async fn tests_a_service_in_process_through_the_whole_protocol() {
    let client = TestClient::builder(Vault::default().into_router())
        .transport(Transport::Http)
        .build();
    let bank = BankClient::new(client);
    exercise(&bank, "local").await;
    let err = bank.transport().await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Rpc(rpc) if rpc.code() == -32601),
        "{err}"
    );

    let client = TestClient::new(Vault::default().into_router());
    let answer = client
        .request(r#"{"jsonrpc":"2.0","method":"bank.deposit","params":["x"],"id":1}"#)
        .await
        .unwrap();
    assert_eq!(
        answer,
        r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"missing param `amount`"},"id":1}"#
    );
}

#[test]
fn registers_every_method_under_its_namespaced_name() {
    let router = Vault::default().into_router();
    let mut names: Vec<_> = router.methods().map(|method| method.name()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "bank.audit",
            "bank.audits",
            "bank.balance",
            "bank.deposit",
            "bank.interest",
            "bank.transport"
        ]
    );
}

#[tokio::test]
async fn an_arc_shared_service_is_served_and_still_reachable() {
    let vault = std::sync::Arc::new(Vault::default());
    let client = TestClient::new(std::sync::Arc::clone(&vault).into_router());
    let bank = BankClient::new(&client);
    assert_eq!(bank.deposit("ann".into(), 5).await.unwrap(), 5);
    // The handle kept outside sees what the calls did.
    assert_eq!(vault.balance("ann".into()), 5);
}

#[tokio::test]
async fn typed_clients_share_a_client_by_reference_clone_or_arc() {
    let client = TestClient::new(Vault::default().into_router());
    let by_ref = BankClient::new(&client);
    let by_clone = BankClient::new(client.clone());
    let by_arc = BankClient::new(std::sync::Arc::new(client.clone()));
    by_ref.deposit("ann".into(), 1).await.unwrap();
    by_clone.deposit("ann".into(), 2).await.unwrap();
    assert_eq!(by_arc.deposit("ann".into(), 3).await.unwrap(), 6);
}

#[rpc_service]
trait Tally {
    fn tally(&self, counts: std::collections::BTreeMap<(u8, u8), u64>) -> u64;
}

struct Summer;

impl Tally for Summer {
    fn tally(&self, counts: std::collections::BTreeMap<(u8, u8), u64>) -> u64 {
        counts.values().sum()
    }
}

#[tokio::test]
async fn a_param_that_does_not_serialize_fails_the_call_before_it_is_sent() {
    let client = TestClient::new(Summer.into_router());
    let tally = TallyClient::new(&client);
    // JSON object keys are strings: serde_json refuses a tuple key, so nothing reaches the
    // server, and the caller learns why.
    let err = tally
        .tally([((1, 2), 3)].into())
        .await
        .expect_err("a tuple key does not serialize");
    assert!(matches!(err, ClientError::InvalidParams(_)), "{err}");
    assert_eq!(tally.tally(Default::default()).await.unwrap(), 0);
}
