//! `rpc-bench attack [--before PATH] [--only TEXT]`: the attacks of issue 9 against each server in its own
//! process, with its memory before, at its peak, and after the attack stops. `--before` names
//! an older build of this harness whose `serve ours` is measured too.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::load::process::ServerProcess;

type Error = Box<dyn std::error::Error + Send + Sync>;

pub struct Options {
    pub before: Option<PathBuf>,
    /// Runs only the attacks whose name contains this.
    pub only: Option<String>,
}

/// One attack: what it does to the server at `addr`, returning a note on what it saw.
struct Attack {
    name: &'static str,
    run:
        fn(std::net::SocketAddr) -> futures_util::future::BoxFuture<'static, Result<String, Error>>,
}

const ATTACKS: [Attack; 4] = [
    Attack {
        name: "batch amplification (2 clients, 10 MiB batch of 5.2M invalid members, never read)",
        run: |addr| Box::pin(batch_flood(addr)),
    },
    Attack {
        name: "in-flight flood (200,000 sleep(60000) calls on one WebSocket, 10 s)",
        run: |addr| Box::pin(in_flight(addr)),
    },
    Attack {
        name: "slow body (200 connections, 1 byte per segment every 10 ms, 10 s)",
        run: |addr| Box::pin(slow_body(addr)),
    },
    Attack {
        name: "response amplification (one 10 MiB batch, answer read)",
        run: |addr| Box::pin(response_size(addr)),
    },
];

/// How long the server gets, once an attack stops, to give memory back.
const SETTLE: Duration = Duration::from_secs(3);

pub fn run(options: Options) -> Result<(), Error> {
    let current = std::env::current_exe()?;
    let mut servers = vec![("ours", current.clone(), "ours")];
    if let Some(before) = &options.before {
        servers.push(("ours before", before.clone(), "ours"));
    }
    servers.push(("jsonrpsee", current, "jsonrpsee"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let mut report = String::from(
        "| attack | server | RSS before | peak | after (3 s) | seen |\n|---|---|---:|---:|---:|---|\n",
    );
    let chosen = ATTACKS.iter().filter(|attack| {
        options
            .only
            .as_ref()
            .is_none_or(|only| attack.name.contains(only.as_str()))
    });
    for attack in chosen {
        for (label, exe, kind) in &servers {
            let server = ServerProcess::spawn_exe(exe, kind, false)?;
            std::thread::sleep(Duration::from_millis(300));
            let before = server.rss()?;
            let seen = runtime
                .block_on((attack.run)(server.addr))
                .unwrap_or_else(|err| format!("error: {err}"));
            let peak = server.peak_rss()?;
            std::thread::sleep(SETTLE);
            let after = server.rss()?;
            let _ = writeln!(
                report,
                "| {} | {label} | {} | {} | {} | {seen} |",
                attack.name,
                mib(before),
                mib(peak),
                mib(after)
            );
            eprintln!(
                "{} / {label}: peak {}, after {}",
                attack.name,
                mib(peak),
                mib(after)
            );
        }
    }
    println!("{report}");
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `[1,1,...,1]` of exactly 10 MiB: 5,242,880 members, none a request.
fn invalid_batch() -> Vec<u8> {
    let size = 10 * 1024 * 1024;
    let mut body = Vec::with_capacity(size);
    body.push(b'[');
    while body.len() < size - 2 {
        body.extend_from_slice(b"1,");
    }
    body.truncate(size - 2);
    if body.last() == Some(&b',') {
        body.pop();
    }
    body.extend_from_slice(b"1]");
    body
}

fn post_head(length: usize) -> String {
    format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    )
}

async fn batch_flood(addr: std::net::SocketAddr) -> Result<String, Error> {
    let body = invalid_batch();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(post_head(body.len()).as_bytes()).await?;
        stream.write_all(&body).await?;
        held.push(stream);
    }
    // Never read: whatever the server builds for the answer, it holds.
    tokio::time::sleep(Duration::from_secs(5)).await;
    Ok("2 batches sent".to_owned())
}

async fn in_flight(addr: std::net::SocketAddr) -> Result<String, Error> {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await?;
    let mut sent = 0u32;
    let sending = async {
        for id in 0..200_000u32 {
            let call =
                format!(r#"{{"jsonrpc":"2.0","method":"sleep","params":[60000],"id":{id}}}"#);
            socket.feed(Message::text(call)).await?;
            sent += 1;
        }
        socket.flush().await?;
        Ok::<_, Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), sending).await;
    Ok(format!("{sent} calls written"))
}

async fn slow_body(addr: std::net::SocketAddr) -> Result<String, Error> {
    let mut tasks = Vec::new();
    for _ in 0..200 {
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            stream.write_all(post_head(1_000_000).as_bytes()).await?;
            let mut sent = 0usize;
            let dripping = async {
                loop {
                    stream.write_all(b" ").await?;
                    sent += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                #[allow(unreachable_code)]
                Ok::<_, std::io::Error>(())
            };
            let _ = tokio::time::timeout(Duration::from_secs(10), dripping).await;
            Ok::<_, std::io::Error>(sent)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await?.unwrap_or(0);
    }
    Ok(format!("{total} body bytes sent"))
}

async fn response_size(addr: std::net::SocketAddr) -> Result<String, Error> {
    let body = invalid_batch();
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(post_head(body.len()).as_bytes()).await?;
    stream.write_all(&body).await?;
    // Not half-closed: hyper takes the client's FIN as leaving and cancels the request.
    let reading = async {
        let mut answer = Vec::new();
        let mut chunk = vec![0; 1 << 16];
        loop {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Ok::<_, Error>((answer, ", then closed"));
            }
            answer.extend_from_slice(&chunk[..read]);
            if complete_length(&answer).is_some_and(|length| answer.len() >= length) {
                return Ok((answer, ""));
            }
        }
    };
    let (answer, how) = tokio::time::timeout(Duration::from_secs(120), reading)
        .await
        .unwrap_or_else(|_| Ok((Vec::new(), ", no answer within 120 s")))?;
    let status = String::from_utf8_lossy(&answer[..answer.len().min(12)]).into_owned();
    Ok(format!("{status}, {} answer bytes{how}", answer.len()))
}

/// The length of a whole response (head and body) once its head has arrived: the attacks'
/// answers all carry a content-length.
fn complete_length(response: &[u8]) -> Option<usize> {
    let end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")?
        + 4;
    let head = std::str::from_utf8(&response[..end]).ok()?;
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    })?;
    Some(end + length)
}
