//! Every Rust block of README.md, compiled as written: `build.rs` copies each into a block
//! expression, included below inside a function that supplies only what the README leaves to
//! its reader (a connected client, a connection, a token store). A block that stops compiling
//! fails this test's build; one added without a place here fails the test.

// The blocks define handlers and values for the reader to use, which nothing here calls.
#![allow(dead_code, unused)]

use std::error::Error;

use rpc_runtime::client::{Batch, HttpClient, RpcClient};
use rpc_runtime::{Connection, Context, Hub, RpcError, rpc_method, rpc_service};

include!(concat!(env!("OUT_DIR"), "/readme/count.rs"));

/// Includes README block `n` where it stands.
macro_rules! readme_block {
    ($n:literal) => {
        include!(concat!(env!("OUT_DIR"), "/readme/", $n, ".rs"))
    };
}

/// The blocks placed below.
const PLACED: usize = 10;

#[test]
fn every_rust_block_of_the_readme_is_compiled_here() {
    assert_eq!(
        BLOCKS, PLACED,
        "README.md has {BLOCKS} Rust blocks and tests/readme.rs places {PLACED}: give a new \
         block its place"
    );
}

/// The opening example: a whole program.
fn opening() {
    readme_block!("0");
}

/// A service and its typed client; `ping` is a free function merged beside it.
async fn one_trait() -> Result<(), Box<dyn Error>> {
    #[rpc_method]
    fn ping() -> &'static str {
        "pong"
    }
    readme_block!("1");
    Ok(())
}

async fn batch(client: HttpClient) -> Result<(), Box<dyn Error>> {
    readme_block!("2");
    Ok(())
}

fn chat() {
    readme_block!("3");
}

fn change_feeds() {
    readme_block!("4");
}

async fn redis() -> Result<(), Box<dyn Error>> {
    use rpc_runtime::RedisBroker;
    readme_block!("5");
    Ok(())
}

fn history() {
    use rpc_runtime::{History, Topic};
    use std::time::Duration;
    readme_block!("6");
}

fn subscriptions() {
    readme_block!("7");
}

/// The client's side of a call from the server: a service the client serves.
async fn calls_to_the_client(connection: Connection) -> Result<(), Box<dyn Error>> {
    #[rpc_service]
    trait Ui {
        fn confirm(&self, question: String) -> bool;
    }
    readme_block!("8");
    Ok(())
}

/// Guards: the user a login keeps on the connection, and a store of tokens' roles.
fn guards() {
    use rpc_runtime::Topic;
    readme_block!("9");
}

#[derive(Clone)]
struct User(String);

enum Role {
    Admin,
    Reader,
}

mod tokens {
    pub async fn role(token: Option<&http::HeaderValue>) -> Option<super::Role> {
        token.map(|_| super::Role::Reader)
    }
}
