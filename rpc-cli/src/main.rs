//! `rpc`: a JSON-RPC client for the shell. See `rpc --help`.

mod args;
mod codegen;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use args::{Command, Connect, Params, Source, Target, Usage};
use futures_util::StreamExt;
use rpc_runtime::RpcError;
use rpc_runtime::client::{ClientError, HttpClient, RpcClient, SubscriptionClient, WsClient};
use serde_json::Value;
use serde_json::value::RawValue;

const HELP: &str = "\
rpc: call, notify and subscribe to JSON-RPC servers from a shell

USAGE:
    rpc call URL METHOD [PARAMS...]      call METHOD; print its result as JSON
    rpc notify URL METHOD [PARAMS...]    send a notification; print nothing
    rpc subscribe URL METHOD|TOPIC [PARAMS...]
                                         print each item as one JSON line until Ctrl-C
    rpc discover URL                     print the server's OpenRPC document (rpc.discover)
    rpc methods URL                      print the methods you may call (rpc.methods)
    rpc codegen ts URL|FILE -o DIR       write a TypeScript client for the server's methods

URL is http:// or https:// (each call a POST) or ws:// or wss:// (one WebSocket connection).
Each param is read as JSON if it is JSON, else as a string: `42`, `true`, `[1,2]`, `null`
are themselves, `ann` is \"ann\".

OPTIONS:
    --named KEY=VALUE   a param by name (again for more); VALUE read as above
    --raw JSON          the params whole, a JSON array or object; `--raw -` reads stdin
    -H, --header 'NAME: VALUE'
                        a request (or WebSocket handshake) header; again for more
    --timeout SECONDS   how long to wait for an answer (30)
    -o, --out DIR       where `codegen` writes
    -h, --help          this help
    -V, --version       the version

EXIT STATUS:
    0  done
    1  the server answered with a JSON-RPC error (printed to stderr)
    2  the command line was wrong
    3  the server could not be reached, or did not answer in time, or not with JSON-RPC
    4  a local file could not be read or written

EXAMPLES:
    rpc call http://127.0.0.1:8080/ subtract 42 23
    rpc call http://127.0.0.1:8080/ subtract --named minuend=42 --named subtrahend=23
    echo '[42, 23]' | rpc call ws://127.0.0.1:8080/ subtract --raw -
    rpc call https://api.example.com/rpc user.get 7 -H 'authorization: Bearer TOKEN' | jq .name
    rpc subscribe ws://127.0.0.1:8080/ news
    rpc methods http://127.0.0.1:8080/
    rpc codegen ts http://127.0.0.1:8080/ -o web/src/rpc
";

/// Why a command failed, which decides its exit status.
enum Failure {
    Usage(String),
    Rpc(RpcError),
    Transport(String),
    Local(String),
}

impl From<ClientError> for Failure {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Rpc(err) => Failure::Rpc(err),
            ClientError::InvalidParams(why) => Failure::Usage(why),
            other => Failure::Transport(other.to_string()),
        }
    }
}

impl From<Usage> for Failure {
    fn from(Usage(why): Usage) -> Self {
        Failure::Usage(why)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match args::parse(std::env::args().skip(1)) {
        Ok(command) => run(command).await,
        Err(usage) => Err(usage.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rpc(err)) => {
            eprintln!(
                "rpc: the server answered error {}: {}",
                err.code(),
                err.message()
            );
            if let Some(data) = err.data() {
                eprintln!("  data: {}", data.get());
            }
            ExitCode::from(1)
        }
        Err(Failure::Usage(why)) => {
            eprintln!("rpc: {why}\n(rpc --help for how to use it)");
            ExitCode::from(2)
        }
        Err(Failure::Transport(why)) => {
            eprintln!("rpc: {why}");
            ExitCode::from(3)
        }
        Err(Failure::Local(why)) => {
            eprintln!("rpc: {why}");
            ExitCode::from(4)
        }
    }
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Help => print!("{HELP}"),
        Command::Version => println!("rpc {}", env!("CARGO_PKG_VERSION")),
        Command::Call(target, params) => {
            let params = params_of(params)?;
            let client = Client::connect(&target.connect).await?;
            let result = client.call(&target.method, params).await?;
            println!("{}", result.get());
        }
        Command::Notify(target, params) => {
            let params = params_of(params)?;
            let client = Client::connect(&target.connect).await?;
            client.notify(&target.method, params).await?;
        }
        Command::Subscribe(target, params) => subscribe(target, params).await?,
        Command::Discover(connect) => {
            let document = discover(&connect).await?;
            let pretty = serde_json::to_string_pretty(&document).unwrap_or_default();
            println!("{pretty}");
        }
        Command::Methods(connect) => {
            let client = Client::connect(&connect).await?;
            let names = client.call("rpc.methods", None).await?;
            let names: Vec<String> = serde_json::from_str(names.get())
                .map_err(|err| Failure::Transport(format!("rpc.methods answered {err}")))?;
            for name in names {
                println!("{name}");
            }
        }
        Command::CodegenTs { source, out } => {
            let document = match source {
                Source::Server(connect) => discover(&connect).await?,
                Source::File(source) => {
                    let text = std::fs::read_to_string(&source)
                        .map_err(|err| Failure::Local(format!("cannot read {source}: {err}")))?;
                    serde_json::from_str(&text)
                        .map_err(|err| Failure::Local(format!("{source} is not JSON: {err}")))?
                }
            };
            let written = codegen::typescript(&document, std::path::Path::new(&out))
                .map_err(|err| Failure::Local(err.to_string()))?;
            for path in written {
                println!("{}", path.display());
            }
        }
    }
    Ok(())
}

async fn discover(connect: &Connect) -> Result<Value, Failure> {
    let client = Client::connect(connect).await?;
    let document = client.call("rpc.discover", None).await?;
    serde_json::from_str(document.get())
        .map_err(|err| Failure::Transport(format!("rpc.discover answered {err}")))
}

/// The params as the client sends them.
fn params_of(params: Params) -> Result<Option<Box<RawValue>>, Failure> {
    let text = match params {
        Params::None => return Ok(None),
        Params::Positional(values) => Value::Array(values).to_string(),
        Params::Named(map) => Value::Object(map).to_string(),
        Params::Raw(raw) if raw == "-" => {
            let mut text = String::new();
            if std::io::stdin().is_terminal() {
                eprintln!("rpc: reading the params from stdin (Ctrl-D to end)");
            }
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|err| Failure::Local(format!("cannot read stdin: {err}")))?;
            text
        }
        Params::Raw(raw) => raw,
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(_) | Value::Object(_)) => {}
        Ok(_) => {
            return Err(Failure::Usage(
                "params must be a JSON array or object".into(),
            ));
        }
        Err(err) => return Err(Failure::Usage(format!("the params are not JSON: {err}"))),
    }
    Ok(Some(
        RawValue::from_string(text).map_err(|err| Failure::Usage(err.to_string()))?,
    ))
}

/// Prints a subscription's items, or a topic's, one JSON line each, until Ctrl-C or the end.
async fn subscribe(target: Target, params: Params) -> Result<(), Failure> {
    let Client::Ws(client) = Client::connect(&target.connect).await? else {
        return Err(Failure::Usage(
            "subscriptions need a WebSocket: a ws:// or wss:// URL".into(),
        ));
    };
    let params = params_of(params)?;
    let name = target.method;
    let topics: Vec<String> = client.call("rpc.topics", ()).await.unwrap_or_default();
    let mut stdout = std::io::stdout();
    let mut print = move |item: &RawValue| -> Result<(), Failure> {
        writeln!(stdout, "{}", item.get())
            .and_then(|()| stdout.flush())
            .map_err(|err| Failure::Local(format!("cannot write: {err}")))
    };
    if topics.contains(&name) {
        let mut items = client.notifications_for::<Box<RawValue>>(name.clone());
        client.subscribe_topics(&[&name]).await?;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                item = items.recv() => match item {
                    Some(Ok(item)) => print(&item)?,
                    Some(Err(err)) => return Err(err.into()),
                    None => break,
                },
            }
        }
    } else {
        let unsubscribe = unsubscribe_name(&client, &name).await;
        let mut items = client.subscribe_raw(&name, params, &unsubscribe).await?;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(()),
                item = items.next() => match item {
                    Some(Ok(item)) => print(&item)?,
                    Some(Err(err)) => return Err(err.into()),
                    None => break,
                },
            }
        }
    }
    Err(Failure::Transport(
        "the server ended the subscription".into(),
    ))
}

/// The method that ends subscriptions of `method`: as `rpc.discover` says, or by the naming
/// `#[rpc_subscription]` follows (`subscribe_x`, `unsubscribe_x`).
async fn unsubscribe_name(client: &WsClient, method: &str) -> String {
    let document: Result<Value, _> = client.call("rpc.discover", ()).await;
    let described = document.ok().and_then(|document| {
        let methods = document["methods"].as_array()?.clone();
        let found = methods.into_iter().find(|m| m["name"] == method)?;
        Some(found["x-subscription"]["unsubscribe"].as_str()?.to_owned())
    });
    described.unwrap_or_else(|| match method.strip_prefix("subscribe") {
        Some(rest) => format!("unsubscribe{rest}"),
        None => format!("un{method}"),
    })
}

/// A client for the URL's scheme; one per run, so its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Client {
    Http(HttpClient),
    Ws(WsClient),
}

impl Client {
    async fn connect(connect: &Connect) -> Result<Client, Failure> {
        let scheme = connect.url.split_once("://").map(|(scheme, _)| scheme);
        match scheme {
            Some("http" | "https") => {
                let mut builder = HttpClient::builder().request_timeout(connect.timeout);
                for (name, value) in &connect.headers {
                    builder = builder.header(name.as_str(), value.as_str());
                }
                Ok(Client::Http(builder.build(&connect.url)?))
            }
            Some("ws" | "wss") => {
                let mut builder = WsClient::builder().request_timeout(connect.timeout);
                for (name, value) in &connect.headers {
                    builder = builder.header(name.as_str(), value.as_str());
                }
                let client = builder.connect(connect.url.as_str()).await.map_err(|err| {
                    Failure::Transport(format!("cannot connect to {}: {err}", connect.url))
                })?;
                Ok(Client::Ws(client))
            }
            _ => Err(Failure::Usage(format!(
                "{:?} is not an http://, https://, ws:// or wss:// URL",
                connect.url
            ))),
        }
    }

    async fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<Box<RawValue>, Failure> {
        let result = match self {
            Client::Http(client) => client.call_raw(method, params).await,
            Client::Ws(client) => client.call_raw(method, params).await,
        };
        result.map_err(Failure::from)
    }

    async fn notify(&self, method: &str, params: Option<Box<RawValue>>) -> Result<(), Failure> {
        let result = match self {
            Client::Http(client) => client.notify_raw(method, params).await,
            Client::Ws(client) => client.notify_raw(method, params).await,
        };
        result.map_err(Failure::from)
    }
}
