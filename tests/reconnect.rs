//! A `WsClient` that reconnects: its connection cut (a reset, through a TCP proxy), its server
//! gone and back, on one process and across two on Redis. What it followed arrives once and in
//! order across the cuts, what could not be recovered is reported, calls in flight fail and
//! calls made meanwhile wait.

mod common;

use std::time::Duration;

use common::proxy::Proxy;
use common::redis::{Backend, Redis};
use common::running::Running;
use common::{TestServer, spec, timed, until};
use futures_util::StreamExt;
use rpc_runtime::client::{
    ClientError, ClientEvent, ClientEvents, Reconnect, RpcClient, SubscriptionClient, WsClient,
};
use rpc_runtime::{Hub, Refusal, Server};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Quick to come back: the tests cut often.
fn policy() -> Reconnect {
    Reconnect::new().backoff(Duration::from_millis(10), Duration::from_millis(100))
}

async fn client(proxy: &Proxy) -> WsClient {
    timed(
        "connect",
        WsClient::builder()
            .reconnect(policy())
            .notification_buffer(1 << 16)
            .connect(proxy.url()),
    )
    .await
    .expect("connect")
}

/// A server whose topic `log` keeps the last 1,000 publications.
async fn server() -> TestServer {
    let hub = spec::with_history(spec::hub()).build();
    TestServer::start_router(Server::builder().hub(hub), spec::router()).await
}

async fn next_event(events: &mut ClientEvents) -> ClientEvent {
    timed("an event", events.recv())
        .await
        .expect("events end only with the client")
}

async fn until_event(
    events: &mut ClientEvents,
    wanted: impl Fn(&ClientEvent) -> bool,
) -> ClientEvent {
    loop {
        let event = next_event(events).await;
        if wanted(&event) {
            return event;
        }
    }
}

/// The furthest [`publish`] runs ahead of its reader: half of `log`'s history. Further ahead,
/// a reconnect slowed down by a loaded machine would fall out of the history and be told of a
/// gap, rightly, which is not what these tests are about.
const LEAD: u64 = 500;

/// Publishes 1..=count to `log`, about 5,000 a second, no more than [`LEAD`] ahead of the
/// last item the reader has read (`read`).
fn publish(hub: Hub, count: u64, mut read: watch::Receiver<u64>) -> JoinHandle<()> {
    tokio::spawn(async move {
        for n in 1..=count {
            // The reader gone (failed), there is no one left to publish to.
            if read.wait_for(|read| n <= read + LEAD).await.is_err() {
                return;
            }
            hub.publish("log", [n]).unwrap();
            if n % 5 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    })
}

/// Waits for the client to come back after a cut, failing on a gap: nothing these tests
/// publish falls out of the history, so every item must be recovered.
async fn reconnected(events: &mut ClientEvents, after: usize) {
    loop {
        match next_event(events).await {
            ClientEvent::Reconnected { .. } => return,
            event @ (ClientEvent::Gap { .. } | ClientEvent::Unsubscribed { .. }) => {
                panic!("came back after {after} items to {event:?}")
            }
            _ => {}
        }
    }
}

/// Reads `log` items until `last`, cutting the connection every `every` items and telling the
/// publisher of each item read (`read`); every item must come once and in order.
async fn read_through_cuts(
    client: &WsClient,
    proxy: &Proxy,
    last: u64,
    every: usize,
    read: watch::Sender<u64>,
) -> usize {
    let mut items = client.notifications_for::<[u64; 1]>("log");
    let mut events = client.events();
    let mut seen = Vec::new();
    let mut cuts = 0;
    while seen.last() != Some(&last) {
        let what = format!("an item after {:?}, {cuts} cuts", seen.last());
        let [n] = timed(&what, items.recv()).await.unwrap().unwrap();
        seen.push(n);
        read.send_replace(n);
        if seen.len() % every == 0 {
            proxy.cut();
            cuts += 1;
            reconnected(&mut events, seen.len()).await;
        }
    }
    assert_in_order(&seen, last);
    cuts
}

/// `seen` is 1..=last, each once, in order.
fn assert_in_order(seen: &[u64], last: u64) {
    if let Some(at) = seen.windows(2).position(|pair| pair[1] != pair[0] + 1) {
        let around = &seen[at.saturating_sub(3)..(at + 3).min(seen.len())];
        panic!("missed, doubled or out of order at {at}: {around:?}");
    }
    assert_eq!((seen.first(), seen.last()), (Some(&1), Some(&last)));
}

#[tokio::test]
async fn a_cut_connection_comes_back_and_loses_no_publication() {
    let server = server().await;
    let proxy = Proxy::start(server.addr).await;
    let client = client(&proxy).await;
    client.subscribe_topics(&["log"]).await.unwrap();
    let (read, reading) = watch::channel(0);
    let publishing = publish(server.hub().clone(), 3_000, reading);
    let cuts = read_through_cuts(&client, &proxy, 3_000, 200, read).await;
    publishing.await.unwrap();
    assert!(cuts >= 10, "cut {cuts} times");
    // Each cut left one connection: the old ones are gone from the server.
    until("the cut connections to leave", async || {
        server.hub().connections().len() == 1
    })
    .await;
}

#[tokio::test]
async fn across_two_processes_on_redis_a_client_comes_back_on_the_other_and_loses_nothing() {
    for backend in [Backend::single().await, Backend::cluster().await] {
        let [option, url] = backend.args();
        let args = [option.as_str(), url.as_str(), "--history"];
        let (a, b) = (
            Running::start("spec_server", &args).await,
            Running::start("spec_server", &args).await,
        );
        let proxy = Proxy::start(a.addr).await;
        let client = client(&proxy).await;
        client.subscribe_topics(&["log"]).await.unwrap();
        let publisher = spec::with_history(spec::hub())
            .broker(backend.broker().connect().await.unwrap())
            .build();
        let (read, reading) = watch::channel(0);
        let publishing = publish(publisher, 2_000, reading);
        // Every cut sends the client to the other process.
        let mut items = client.notifications_for::<[u64; 1]>("log");
        let mut events = client.events();
        let mut seen = Vec::new();
        let mut on = 0;
        while seen.last() != Some(&2_000) {
            let cuts = seen.len() / 150;
            let what = format!("an item after {:?} on {url}, {cuts} cuts", seen.last());
            let [n] = timed(&what, items.recv()).await.unwrap().unwrap();
            seen.push(n);
            read.send_replace(n);
            if seen.len() % 150 == 0 {
                on = 1 - on;
                proxy.point_to([a.addr, b.addr][on]);
                proxy.cut();
                reconnected(&mut events, seen.len()).await;
            }
        }
        publishing.await.unwrap();
        assert_in_order(&seen, 2_000);
    }
}

/// The process the client was on is killed and another takes its place: the history is in
/// Redis, so the client recovers from it.
#[tokio::test]
async fn a_restarted_process_with_history_in_redis_loses_nothing() {
    let redis = Redis::start().await;
    let args = ["--redis", &redis.url(), "--history"];
    let first = Running::start("spec_server", &args).await;
    let proxy = Proxy::start(first.addr).await;
    let client = client(&proxy).await;
    let mut events = client.events();
    let mut items = client.notifications_for::<[u64; 1]>("log");
    client.subscribe_topics(&["log"]).await.unwrap();
    let publisher = spec::with_history(spec::hub())
        .broker(
            rpc_runtime::RedisBroker::connect(&redis.url())
                .await
                .unwrap(),
        )
        .build();
    publisher.publish("log", [1]).unwrap();
    assert_eq!(timed("one", items.recv()).await.unwrap().unwrap(), [1]);

    proxy.refuse(true);
    first.kill().await;
    assert_eq!(next_event(&mut events).await, ClientEvent::Disconnected);
    for n in 2..=4 {
        publisher.publish("log", [n]).unwrap();
    }
    let second = Running::start("spec_server", &args).await;
    proxy.point_to(second.addr);
    proxy.refuse(false);
    until_event(&mut events, |e| {
        matches!(e, ClientEvent::Reconnected { .. })
    })
    .await;
    for n in 2..=4 {
        assert_eq!(
            timed("what it missed", items.recv())
                .await
                .unwrap()
                .unwrap(),
            [n]
        );
    }
    publisher.publish("log", [5]).unwrap();
    assert_eq!(
        timed("live again", items.recv()).await.unwrap().unwrap(),
        [5]
    );
}

#[tokio::test]
async fn a_gap_beyond_the_history_is_reported_not_hidden() {
    let hub = Hub::builder()
        .topic(rpc_runtime::Topic::new("log").history(rpc_runtime::History::new().size(2)))
        .build();
    let server = TestServer::start_router(Server::builder().hub(hub), spec::router()).await;
    let proxy = Proxy::start(server.addr).await;
    let client = client(&proxy).await;
    let mut events = client.events();
    client.subscribe_topics(&["log"]).await.unwrap();
    proxy.refuse(true);
    proxy.cut();
    assert_eq!(next_event(&mut events).await, ClientEvent::Disconnected);
    until("the server to see the client go", async || {
        server.hub().connections().is_empty()
    })
    .await;
    for n in 1..=5 {
        server.hub().publish("log", [n]).unwrap();
    }
    proxy.refuse(false);
    let gap = until_event(&mut events, |e| matches!(e, ClientEvent::Gap { .. })).await;
    assert_eq!(gap, ClientEvent::Gap { name: "log".into() });
}

#[tokio::test]
async fn calls_in_flight_fail_and_calls_made_while_away_wait() {
    let server = server().await;
    let proxy = Proxy::start(server.addr).await;
    let client = client(&proxy).await;
    let mut events = client.events();
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { client.call::<u64>("sleep", [2_000]).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.refuse(true);
    proxy.cut();
    let failed = timed("the call in flight", in_flight).await.unwrap();
    assert!(matches!(failed, Err(ClientError::Closed)), "{failed:?}");
    assert_eq!(next_event(&mut events).await, ClientEvent::Disconnected);

    // Made while the client is away: it waits for the next connection.
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.call::<i64>("subtract", [42, 23]).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "it waits");
    assert!(client.connection().is_none());
    proxy.refuse(false);
    assert_eq!(
        timed("the waiting call", waiting).await.unwrap().unwrap(),
        19
    );
}

#[tokio::test]
async fn the_handshake_headers_are_sent_again() {
    let hub = spec::hub()
        .on_connect(|conn, _| async move {
            match conn.headers().get("authorization") {
                Some(token) if token == "Bearer t0ken" => Ok(()),
                _ => Err(Refusal::new(401, "no token")),
            }
        })
        .build();
    let server = TestServer::start_router(Server::builder().hub(hub), spec::router()).await;
    let proxy = Proxy::start(server.addr).await;
    let client = WsClient::builder()
        .header("authorization", "Bearer t0ken")
        .reconnect(policy())
        .connect(proxy.url())
        .await
        .unwrap();
    let mut events = client.events();
    proxy.cut();
    until_event(&mut events, |e| {
        matches!(e, ClientEvent::Reconnected { .. })
    })
    .await;
    assert_eq!(client.call::<i64>("subtract", [1, 1]).await.unwrap(), 0);
}

#[tokio::test]
async fn typed_subscriptions_are_made_again_and_their_gap_reported() {
    let server = server().await;
    let proxy = Proxy::start(server.addr).await;
    let client = client(&proxy).await;
    let mut events = client.events();
    let mut ticks = client
        .subscribe::<Value>("subscribe_ticks", (), "unsubscribe_ticks")
        .await
        .unwrap();
    let _: u64 = client.call("broadcast_ticks", [1, 0]).await.unwrap();
    assert_eq!(
        timed("a tick", ticks.next()).await.unwrap().unwrap()["seq"],
        0
    );

    proxy.cut();
    let gap = until_event(&mut events, |e| matches!(e, ClientEvent::Gap { .. })).await;
    assert_eq!(
        gap,
        ClientEvent::Gap {
            name: "subscribe_ticks".into()
        }
    );
    until_event(&mut events, |e| {
        matches!(e, ClientEvent::Reconnected { .. })
    })
    .await;
    let _: u64 = client.call("broadcast_ticks", [1, 0]).await.unwrap();
    assert_eq!(
        timed("a tick after", ticks.next()).await.unwrap().unwrap()["seq"],
        0
    );
    assert!(
        ticks.unsubscribe().await.unwrap(),
        "ended on the new connection"
    );
}

#[tokio::test]
async fn a_client_gives_up_after_its_attempts() {
    let server = server().await;
    let proxy = Proxy::start(server.addr).await;
    let client = WsClient::builder()
        .reconnect(policy().attempts(3))
        .connect(proxy.url())
        .await
        .unwrap();
    let mut events = client.events();
    proxy.refuse(true);
    proxy.cut();
    assert_eq!(next_event(&mut events).await, ClientEvent::Disconnected);
    for attempt in 1..=3 {
        let failed = next_event(&mut events).await;
        assert!(
            matches!(failed, ClientEvent::ReconnectFailed { attempt: a, .. } if a == attempt),
            "{failed:?}"
        );
    }
    assert_eq!(next_event(&mut events).await, ClientEvent::GaveUp);
    assert!(client.is_closed());
    let call = client.call::<i64>("subtract", [1, 1]).await;
    assert!(matches!(call, Err(ClientError::Closed)), "{call:?}");
}

/// Without `reconnect`, a lost connection closes the client, as before.
#[tokio::test]
async fn a_client_that_does_not_reconnect_closes() {
    let server = server().await;
    let proxy = Proxy::start(server.addr).await;
    let client = WsClient::connect(proxy.url()).await.unwrap();
    proxy.cut();
    until("the client to close", async || client.is_closed()).await;
    let call = client.call::<i64>("subtract", [1, 1]).await;
    assert!(matches!(call, Err(ClientError::Closed)), "{call:?}");
}

/// 1,000 clients lose their connections at once and come back at once, each sent the 100
/// publications it missed, three times over: the server's memory stays flat from storm to
/// storm (what the first took, its allocator keeps for the next).
#[tokio::test]
async fn a_thousand_clients_coming_back_at_once_recover_with_flat_memory() {
    const CLIENTS: usize = 1_000;
    let server = Running::start("spec_server", &["--history"]).await;
    let proxy = Proxy::start(server.addr).await;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let client = WsClient::builder()
            .reconnect(Reconnect::new().backoff(Duration::from_millis(50), Duration::from_secs(1)))
            .connect(proxy.url())
            .await
            .unwrap();
        let items = client.notifications_for::<[u64; 1]>("log");
        client.subscribe_topics(&["log"]).await.unwrap();
        clients.push((client.events(), items, client));
    }
    let http = rpc_runtime::client::HttpClient::new(&format!("http://{}/", server.addr)).unwrap();
    let mut after = Vec::new();
    for storm in 0..3 {
        proxy.refuse(true);
        proxy.cut();
        for n in storm * 100 + 1..=(storm + 1) * 100 {
            let _: usize = http.call("publish", ("log", [n])).await.unwrap();
        }
        proxy.refuse(false);
        for (i, (events, items, _)) in clients.iter_mut().enumerate() {
            let event = until_event(events, |e| {
                matches!(e, ClientEvent::Reconnected { .. } | ClientEvent::Gap { .. })
            })
            .await;
            let what = format!("storm {storm}, client {i}");
            assert!(
                matches!(event, ClientEvent::Reconnected { .. }),
                "{what}: {event:?}"
            );
            for n in storm * 100 + 1..=(storm + 1) * 100 {
                let what = format!("storm {storm}, client {i}, publication {n}");
                let item = timed(&what, items.recv()).await.unwrap().unwrap();
                assert_eq!(item, [n], "{what}");
            }
        }
        after.push(rss_kib(server.child.id().unwrap()));
    }
    // A leak of the cut connections would be about 10 MiB a storm.
    assert!(
        after[2] < after[1] + 4 * 1024 && after[2] < after[0] + 8 * 1024,
        "memory after each storm (KiB): {after:?}"
    );
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
