//! Closed-loop load: every connection keeps a fixed number of requests in flight and sends the
//! next one as each answer arrives. Every answer is checked, in every mode.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// How long to wait for any one answer before calling the run broken.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What one run measured.
#[derive(Debug, Default)]
pub struct Tally {
    /// Calls answered correctly (a batch counts each of its calls).
    pub calls: u64,
    /// Round trips (a batch is one), in microseconds.
    pub latencies: Vec<u32>,
    pub elapsed: Duration,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.calls += other.calls;
        self.latencies.extend(other.latencies);
    }

    /// The median and 99th percentile latencies.
    pub fn p50_p99(&self) -> (Duration, Duration) {
        let mut latencies = self.latencies.clone();
        latencies.sort_unstable();
        let percentile = |p: f64| {
            let index =
                ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
            Duration::from_micros(latencies.get(index).copied().unwrap_or(0).into())
        };
        (percentile(0.50), percentile(0.99))
    }

    /// Completed calls (or deliveries) per second.
    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }
}

/// What each request is, and what its answer must be.
#[derive(Clone, Copy, Debug)]
pub enum Work {
    /// `subtract [42, 23]`, answered 19.
    Subtract,
    /// A batch of `size` calls of `sleep [1]`, each answered 1.
    SleepBatch { size: usize },
}

impl Work {
    fn request(self, slot: usize) -> String {
        match self {
            Work::Subtract => {
                format!(r#"{{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":{slot}}}"#)
            }
            Work::SleepBatch { size } => {
                let calls: Vec<String> = (0..size)
                    .map(|i| {
                        format!(
                            r#"{{"jsonrpc":"2.0","method":"sleep","params":[1],"id":{}}}"#,
                            slot * size + i
                        )
                    })
                    .collect();
                format!("[{}]", calls.join(","))
            }
        }
    }

    fn calls(self) -> u64 {
        match self {
            Work::Subtract => 1,
            Work::SleepBatch { size } => size as u64,
        }
    }

    /// The slot an answer belongs to, if the answer is right.
    fn check(self, answer: &str) -> Result<usize, Error> {
        #[derive(serde::Deserialize)]
        struct Answer<'a> {
            id: u64,
            #[serde(borrow)]
            result: Option<&'a RawValue>,
        }
        let wrong = || {
            format!(
                "wrong answer: {}",
                answer.chars().take(300).collect::<String>()
            )
        };
        match self {
            Work::Subtract => {
                let parsed: Answer<'_> = serde_json::from_str(answer).map_err(|_| wrong())?;
                if parsed.result.map(RawValue::get) != Some("19") {
                    return Err(wrong().into());
                }
                Ok(parsed.id as usize)
            }
            Work::SleepBatch { size } => {
                let parsed: Vec<Answer<'_>> = serde_json::from_str(answer).map_err(|_| wrong())?;
                let first = parsed.iter().map(|a| a.id).min().ok_or_else(wrong)?;
                let complete = parsed.len() == size
                    && parsed
                        .iter()
                        .all(|a| a.result.map(RawValue::get) == Some("1"));
                if !complete || first % size as u64 != 0 {
                    return Err(wrong().into());
                }
                Ok((first / size as u64) as usize)
            }
        }
    }
}

/// `connections` WebSocket connections, each with `in_flight` requests outstanding, until
/// `duration` has passed.
pub async fn websocket(
    addr: SocketAddr,
    connections: usize,
    in_flight: usize,
    work: Work,
    duration: Duration,
) -> Result<Tally, Error> {
    let start = Instant::now();
    let deadline = start + duration;
    let runs = (0..connections)
        .map(|_| tokio::spawn(websocket_connection(addr, in_flight, work, deadline)));
    let mut tally = Tally::default();
    for run in futures_util::future::join_all(runs).await {
        tally.merge(run??);
    }
    tally.elapsed = start.elapsed();
    Ok(tally)
}

async fn websocket_connection(
    addr: SocketAddr,
    in_flight: usize,
    work: Work,
    deadline: Instant,
) -> Result<Tally, Error> {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await?;
    let requests: Vec<Utf8Bytes> = (0..in_flight)
        .map(|slot| work.request(slot).into())
        .collect();
    let mut sent_at = vec![Instant::now(); in_flight];
    for (slot, request) in requests.iter().enumerate() {
        sent_at[slot] = Instant::now();
        socket.feed(Message::Text(request.clone())).await?;
    }
    socket.flush().await?;
    let mut tally = Tally::default();
    let mut outstanding = in_flight;
    while outstanding > 0 {
        let message = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
            .await
            .map_err(|_| "no answer within 10 s")?
            .ok_or("the server closed the connection")??;
        let Message::Text(answer) = message else {
            continue;
        };
        let slot = work.check(&answer)?;
        let sent = sent_at.get(slot).ok_or("an answer to no request")?;
        tally
            .latencies
            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        tally.calls += work.calls();
        if Instant::now() < deadline {
            sent_at[slot] = Instant::now();
            socket.send(Message::Text(requests[slot].clone())).await?;
        } else {
            outstanding -= 1;
        }
    }
    let _ = socket.close(None).await;
    Ok(tally)
}

/// `connections` keep-alive HTTP/1.1 connections, one request in flight on each.
pub async fn http(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
) -> Result<Tally, Error> {
    let start = Instant::now();
    let deadline = start + duration;
    let runs = (0..connections).map(|_| tokio::spawn(http_connection(addr, deadline)));
    let mut tally = Tally::default();
    for run in futures_util::future::join_all(runs).await {
        tally.merge(run??);
    }
    tally.elapsed = start.elapsed();
    Ok(tally)
}

async fn http_connection(addr: SocketAddr, deadline: Instant) -> Result<Tally, Error> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let body = Bytes::from(Work::Subtract.request(0));
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let request = http::Request::post("/")
            .header(http::header::HOST, addr.to_string())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))?;
        let sent = Instant::now();
        let response = tokio::time::timeout(ANSWER_TIMEOUT, sender.send_request(request))
            .await
            .map_err(|_| "no answer within 10 s")??;
        let answer = response.into_body().collect().await?.to_bytes();
        Work::Subtract.check(std::str::from_utf8(&answer)?)?;
        tally
            .latencies
            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        tally.calls += 1;
    }
    Ok(tally)
}

/// Opens `connections` WebSocket connections and keeps them idle; returns them, after checking
/// that a sample still answers.
pub async fn idle(addr: SocketAddr, connections: usize) -> Result<Vec<impl Sized>, Error> {
    let url = format!("ws://{addr}/");
    let opened: Vec<_> = futures_util::stream::iter(0..connections)
        .map(|_| tokio_tungstenite::connect_async(url.clone()))
        .buffer_unordered(64)
        .collect()
        .await;
    let mut sockets = Vec::with_capacity(connections);
    for socket in opened {
        sockets.push(socket?.0);
    }
    let request = Work::Subtract.request(0);
    for socket in sockets.iter_mut().step_by((connections / 10).max(1)) {
        socket.send(Message::text(request.clone())).await?;
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
            .await
            .map_err(|_| "an idle connection did not answer")?
            .ok_or("an idle connection closed")??;
        Work::Subtract.check(answer.to_text()?)?;
    }
    Ok(sockets)
}

/// Opens a connection for each user numbered in `users`, which joins its own group
/// (`user-N`) and the group every user is in (`all`), checking both answers; in the users'
/// order.
pub async fn own_groups(addr: SocketAddr, users: Range<usize>) -> Result<Vec<Socket>, Error> {
    let url = format!("ws://{addr}/");
    let joined: Vec<Result<Socket, Error>> = futures_util::stream::iter(users)
        .map(|user| {
            let url = url.clone();
            async move {
                // Small reads: see `subscribe`.
                let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
                let (mut socket, _) =
                    tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
                for group in [format!("user-{user}"), "all".to_owned()] {
                    let join = format!(
                        r#"{{"jsonrpc":"2.0","method":"join","params":["{group}"],"id":0}}"#
                    );
                    socket.send(Message::text(join)).await?;
                    let answer = next_text(&mut socket).await?;
                    if answer != r#"{"jsonrpc":"2.0","result":true,"id":0}"# {
                        return Err(format!("join {group}: {answer}").into());
                    }
                }
                Ok(socket)
            }
        })
        .buffered(64)
        .collect()
        .await;
    joined.into_iter().collect()
}

/// `count` clients coming back at once to a topic with history: each connects, subscribes to
/// `ticks` from `since` (`{"offset":N,"epoch":E}`), and must be sent the `missed` items after
/// it, numbered and in order, then an answer saying it recovered. Answers when every one has.
pub async fn come_back(
    addr: SocketAddr,
    count: usize,
    since: &str,
    missed: u64,
) -> Result<(), Error> {
    let url = format!("ws://{addr}/");
    let request = format!(
        r#"{{"jsonrpc":"2.0","method":"rpc.subscribe","params":{{"topic":"ticks","since":{{"ticks":{since}}}}},"id":0}}"#
    );
    let offset: u64 = serde_json::from_str::<serde_json::Value>(since)?["offset"]
        .as_u64()
        .ok_or("no offset")?;
    let clients = futures_util::stream::iter(0..count).map(|_| {
        let (url, request) = (url.clone(), request.clone());
        async move {
            let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
            let (mut socket, _) =
                tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
            socket.send(Message::text(request)).await?;
            for n in offset + 1..=offset + missed {
                let item = next_text(&mut socket).await?;
                if !item.ends_with(&format!(r#","offset":{n}}}"#)) {
                    return Err(Error::from(format!("item {n} was due, read {item}")));
                }
            }
            let answer = next_text(&mut socket).await?;
            if !answer.contains(r#""recovered":true"#) {
                return Err(format!("not recovered: {answer}").into());
            }
            Ok(socket)
        }
    });
    // All at once, as after a restart: held open until every one has come back.
    let sockets: Vec<Result<Socket, Error>> = clients.buffer_unordered(count).collect().await;
    sockets.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(())
}

/// Sends `request` on `socket` and reads its answer.
pub async fn call(socket: &mut Socket, request: String) -> Result<String, Error> {
    socket.send(Message::text(request)).await?;
    next_text(socket).await
}

/// Waits until every one of `sockets` has received a notification of `method`, each checked to
/// be the first thing it reads.
pub async fn each_notified(sockets: &mut [Socket], method: &str) -> Result<(), Error> {
    let expected = format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":[]}}"#);
    let reads = sockets.iter_mut().map(|socket| {
        let expected = &expected;
        async move {
            let text = next_text(socket).await?;
            if text != *expected {
                return Err(Error::from(format!("expected {expected}, read {text}")));
            }
            Ok(())
        }
    });
    futures_util::future::try_join_all(reads).await?;
    Ok(())
}

async fn next_text(socket: &mut Socket) -> Result<String, Error> {
    let message = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
        .await
        .map_err(|_| "nothing read within 10 s")?
        .ok_or("the server closed a connection")??;
    Ok(message.into_text()?.as_str().to_owned())
}

/// What the publisher asks for each time: `items` ticks of `size` bytes of padding.
#[derive(Clone, Copy, Debug)]
pub struct Burst {
    pub items: u64,
    pub size: usize,
}

/// The server calling the client: one connection asks for rounds of `round` calls of the
/// client's `subtract`, `in_flight` at once, and answers each; counts the calls answered.
pub async fn call_back(
    addr: SocketAddr,
    round: u64,
    in_flight: usize,
    duration: Duration,
) -> Result<Tally, Error> {
    #[derive(serde::Deserialize)]
    struct Incoming<'a> {
        #[serde(borrow)]
        id: &'a RawValue,
        #[serde(default, borrow)]
        method: Option<&'a str>,
        #[serde(default)]
        result: Option<u64>,
    }
    let start = Instant::now();
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await?;
    let request: Utf8Bytes = format!(
        r#"{{"jsonrpc":"2.0","method":"call_back","params":[{round},{in_flight}],"id":"round"}}"#
    )
    .into();
    let mut tally = Tally::default();
    while start.elapsed() < duration {
        socket.send(Message::Text(request.clone())).await?;
        let round_started = Instant::now();
        loop {
            let message = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
                .await
                .map_err(|_| "no call within 10 s")?
                .ok_or("the server closed the connection")??;
            let Message::Text(text) = message else {
                continue;
            };
            let incoming: Incoming<'_> = serde_json::from_str(&text)?;
            match incoming.method {
                Some("subtract") => {
                    let answer = format!(r#"{{"jsonrpc":"2.0","result":19,"id":{}}}"#, incoming.id);
                    socket.send(Message::Text(answer.into())).await?;
                }
                _ if incoming.result == Some(round) => break,
                _ => return Err(format!("unexpected: {text}").into()),
            }
        }
        tally.calls += round;
        tally.latencies.push(
            round_started
                .elapsed()
                .as_micros()
                .try_into()
                .unwrap_or(u32::MAX),
        );
    }
    tally.elapsed = start.elapsed();
    Ok(tally)
}

/// How a server's clients subscribe to `ticks`, and how its notifications carry an item.
#[derive(Clone, Copy, Debug)]
pub enum Subscribe {
    /// Ours: `rpc.subscribe ["ticks"]`; items arrive as `params`.
    Topic,
    /// Ours, keeping the position in a topic with history (`"positions": true`): items arrive
    /// as `params`, each with its `offset`.
    Positioned,
    /// jsonrpsee's: `subscribe_ticks`; items arrive as `params.result`.
    Subscription,
}

impl Subscribe {
    fn request(self) -> &'static str {
        match self {
            Subscribe::Topic => {
                r#"{"jsonrpc":"2.0","method":"rpc.subscribe","params":["ticks"],"id":0}"#
            }
            Subscribe::Positioned => {
                r#"{"jsonrpc":"2.0","method":"rpc.subscribe","params":{"topic":"ticks","positions":true},"id":0}"#
            }
            Subscribe::Subscription => r#"{"jsonrpc":"2.0","method":"subscribe_ticks","id":0}"#,
        }
    }

    /// The item's `seq`, once the notification is checked to be a whole `ticks` item.
    fn seq(self, text: &str, size: usize) -> Result<u64, Error> {
        #[derive(serde::Deserialize)]
        struct Notification<'a> {
            #[serde(borrow)]
            method: &'a str,
            #[serde(borrow)]
            params: &'a RawValue,
        }
        #[derive(serde::Deserialize)]
        struct Tick<'a> {
            seq: u64,
            #[serde(borrow)]
            pad: &'a str,
        }
        #[derive(serde::Deserialize)]
        struct Wrapped<'a> {
            #[serde(borrow)]
            result: Tick<'a>,
        }
        let wrong = || format!("not a tick: {}", text.chars().take(200).collect::<String>());
        let note: Notification<'_> = serde_json::from_str(text).map_err(|_| wrong())?;
        let tick: Tick<'_> = match self {
            Subscribe::Topic | Subscribe::Positioned => serde_json::from_str(note.params.get()),
            Subscribe::Subscription => {
                serde_json::from_str::<Wrapped<'_>>(note.params.get()).map(|w| w.result)
            }
        }
        .map_err(|_| wrong())?;
        if note.method != "ticks" || tick.pad.len() != size {
            return Err(wrong().into());
        }
        Ok(tick.seq)
    }
}

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A connection subscribed to `ticks`, with the ticks it will receive, byte for byte.
pub struct Subscriber {
    socket: Socket,
    /// The notification of each `seq` of a burst, as this subscriber must receive it.
    expected: Vec<String>,
}

/// Opens `count` connections, each subscribed to `ticks`, to receive bursts of `burst`.
pub async fn subscribers(
    addr: SocketAddr,
    count: usize,
    style: Subscribe,
    burst: Burst,
) -> Result<Vec<Subscriber>, Error> {
    let url = format!("ws://{addr}/");
    let opened: Vec<Result<Subscriber, Error>> = futures_util::stream::iter(0..count)
        .map(|_| subscribe(url.clone(), style, burst))
        .buffer_unordered(64)
        .collect()
        .await;
    opened.into_iter().collect()
}

async fn subscribe(url: String, style: Subscribe, burst: Burst) -> Result<Subscriber, Error> {
    #[derive(serde::Deserialize)]
    struct Answer<'a> {
        #[serde(borrow)]
        result: &'a RawValue,
    }
    // tungstenite zeroes its whole read buffer (128 KiB by default) before every read, which
    // for a thousand subscribers each reading one burst costs the generator more than all the
    // rest of its work. A fan-out burst (10 items of 100 B) fits in 4 KiB; larger ones take
    // a few reads.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    socket.send(Message::text(style.request())).await?;
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
        .await
        .map_err(|_| "no answer to a subscribe within 10 s")?
        .ok_or("the server closed a subscriber")??;
    let answer = answer.to_text()?;
    let result = serde_json::from_str::<Answer<'_>>(answer)
        .map_err(|_| format!("subscribe failed: {answer}"))?
        .result;
    let pad = "x".repeat(burst.size);
    let expected = (0..burst.items)
        .map(|seq| {
            let tick = format!(r#"{{"seq":{seq},"pad":"{pad}"}}"#);
            let params = match style {
                Subscribe::Topic | Subscribe::Positioned => tick,
                Subscribe::Subscription => {
                    format!(r#"{{"subscription":{},"result":{tick}}}"#, result.get())
                }
            };
            format!(r#"{{"jsonrpc":"2.0","method":"ticks","params":{params}}}"#)
        })
        .collect();
    Ok(Subscriber { socket, expected })
}

/// Closed-loop fan-out: a publisher asks for `items` ticks of `size` bytes, waits until every
/// one of `live` has them all, and asks again, until `duration` has passed. Each subscriber
/// checks every item, in order. A delivery is one item reaching one subscriber; latency is
/// per burst, from the request to the last delivery. Subscribers the server holds besides
/// `live` (stalled ones that never read) are not waited for. The publisher's server must say
/// it reached at least `local` subscribers (those of `live` that are its own).
pub async fn fanout(
    addr: SocketAddr,
    live: Vec<Subscriber>,
    local: u64,
    style: Subscribe,
    burst: Burst,
    duration: Duration,
) -> Result<Tally, Error> {
    let Burst { items, size } = burst;
    let bursts = Arc::new((AtomicU64::new(0), Notify::new()));
    let subscribers = live.len() as u64;
    let mut readers = tokio::task::JoinSet::new();
    for subscriber in live {
        readers.spawn(read_ticks(subscriber, style, size, bursts.clone()));
    }
    let (mut publisher, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await?;
    let start = Instant::now();
    let deadline = start + duration;
    let mut tally = Tally::default();
    let mut sent_bursts = 0u64;
    while Instant::now() < deadline {
        let sent = Instant::now();
        let request = format!(
            r#"{{"jsonrpc":"2.0","method":"broadcast_ticks","params":[{items},{size}],"id":{sent_bursts}}}"#
        );
        publisher.send(Message::text(request)).await?;
        sent_bursts += 1;
        let waited = tokio::time::timeout(ANSWER_TIMEOUT, async {
            loop {
                let notified = bursts.1.notified();
                if bursts.0.load(Ordering::Acquire) >= sent_bursts * subscribers {
                    return;
                }
                notified.await;
            }
        })
        .await;
        if waited.is_err() {
            // A reader that failed says why better than the timeout.
            if let Some(failed) = readers.try_join_next() {
                failed??;
            }
            return Err("not every subscriber had the burst within 10 s".into());
        }
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, publisher.next())
            .await
            .map_err(|_| "no answer to broadcast_ticks within 10 s")?
            .ok_or("the server closed the publisher")??;
        #[derive(serde::Deserialize)]
        struct Receivers {
            result: u64,
        }
        let receivers: Receivers = serde_json::from_str(answer.to_text()?)
            .map_err(|_| format!("wrong answer: {answer}"))?;
        if receivers.result < local {
            return Err(format!("{} receivers, {local} subscribed", receivers.result).into());
        }
        tally
            .latencies
            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        tally.calls += items * subscribers;
    }
    tally.elapsed = start.elapsed();
    readers.abort_all();
    Ok(tally)
}

/// Reads ticks, checking each against the one due. The expected bytes are compared first (the
/// cheap check, which keeps the generator from being the bottleneck); anything else is parsed,
/// so that a server that encodes the same tick differently passes and a wrong one is named.
async fn read_ticks(
    subscriber: Subscriber,
    style: Subscribe,
    size: usize,
    bursts: Arc<(AtomicU64, Notify)>,
) -> Result<(), Error> {
    let Subscriber {
        mut socket,
        expected,
    } = subscriber;
    let mut due = 0;
    loop {
        let message = socket
            .next()
            .await
            .ok_or("the server closed a subscriber")??;
        let Message::Text(text) = message else {
            continue;
        };
        // A numbered item is the plain one with `,"offset":N` before its last brace.
        let plain = match style {
            Subscribe::Positioned => text
                .as_str()
                .rsplit_once(r#","offset":"#)
                .map_or(text.as_str(), |(body, _)| body),
            _ => text.as_str(),
        };
        let expected_plain = match style {
            Subscribe::Positioned => &expected[due][..expected[due].len() - 1],
            _ => expected[due].as_str(),
        };
        if plain != expected_plain {
            let seq = style.seq(&text, size)?;
            if seq != due as u64 {
                return Err(format!("tick {seq} arrived where {due} was due").into());
            }
        }
        due += 1;
        if due == expected.len() {
            due = 0;
            bursts.0.fetch_add(1, Ordering::Release);
            bursts.1.notify_one();
        }
    }
}
