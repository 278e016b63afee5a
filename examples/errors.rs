//! Errors: your own error enum mapped to JSON-RPC codes, messages and data by one `From` impl,
//! and a foreign error (`ParseIntError`) answered by its text with no conversion at all.
//!
//! ```text
//! cargo run --example errors
//! ```
//!
//! Serves on a free port, makes a few calls that fail in each way, prints the error answers,
//! and exits.

use std::collections::HashMap;
use std::sync::Mutex;

use rpc_runtime::client::{ClientError, HttpClient, RpcClient};
use rpc_runtime::{Context, RpcError, Server, methods, rpc_method};
use serde_json::json;

/// What can go wrong in this application, as the code sees it.
#[derive(Debug)]
enum BankError {
    NoSuchAccount(String),
    Insufficient { balance: u64, wanted: u64 },
}

/// What the client sees: a code per kind of failure, a message, and data to act on.
impl From<BankError> for RpcError {
    fn from(err: BankError) -> Self {
        match err {
            BankError::NoSuchAccount(name) => {
                RpcError::new(4004, "no such account").with_data(json!({ "account": name }))
            }
            BankError::Insufficient { balance, wanted } => {
                RpcError::new(4002, "insufficient funds")
                    .with_data(json!({ "balance": balance, "wanted": wanted }))
            }
        }
    }
}

struct Accounts(Mutex<HashMap<String, u64>>);

#[rpc_method]
fn withdraw(cx: Context, account: String, amount: u64) -> Result<u64, BankError> {
    let accounts = cx.state::<Accounts>().expect("the server has accounts");
    let mut accounts = accounts.0.lock().unwrap();
    let balance = accounts
        .get_mut(&account)
        .ok_or(BankError::NoSuchAccount(account))?;
    if *balance < amount {
        return Err(BankError::Insufficient {
            balance: *balance,
            wanted: amount,
        });
    }
    *balance -= amount;
    Ok(*balance)
}

/// `ParseIntError` has no `From` into `RpcError` (and the orphan rule forbids writing one):
/// it answers -32000 with its `Display` text.
#[rpc_method]
fn parse_amount(text: String) -> Result<u64, std::num::ParseIntError> {
    text.trim().parse()
}

fn show(result: Result<u64, ClientError>) {
    match result {
        Ok(value) => println!("ok: {value}"),
        Err(ClientError::Rpc(err)) => match err.data() {
            Some(data) => println!("error {}: {} {}", err.code(), err.message(), data.get()),
            None => println!("error {}: {}", err.code(), err.message()),
        },
        Err(other) => println!("failed: {other}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let accounts = Accounts(Mutex::new(HashMap::from([("ann".to_owned(), 10)])));
    let server = Server::builder()
        .state(accounts)
        .bind("127.0.0.1:0", methods![withdraw, parse_amount])
        .await?;
    let client = HttpClient::new(&format!("http://{}/", server.local_addr()))?;
    let server = server.spawn();

    show(client.call("withdraw", ("ann", 4)).await);
    show(client.call("withdraw", ("ann", 100)).await);
    show(client.call("withdraw", ("bob", 1)).await);
    show(client.call("parse_amount", ["12"]).await);
    show(client.call("parse_amount", ["twelve"]).await);
    server.stop().await;
    Ok(())
}
