//! Push across processes.
//!
//! Fan-out: the load harness's topic fan-out, with the subscribers split over two or three
//! server processes sharing a Redis broker or a Redis Cluster, beside the same load on one
//! process (without a broker, and with one whose subscribers are all local). The publisher's
//! process is the first one. Servers and Redis are pinned to core 0, the generator to core 1,
//! so that the server side's CPU (every server process and redis-server) is measured against
//! one core.
//!
//! History: the same fan-out with the topic keeping history and its subscribers their
//! position, beside the layouts without; and 1,000 clients coming back at once to a process
//! restarted on Redis, each sent what it missed.
//!
//! A group per user: 10,000 connections, each in a group of its own and in one shared group,
//! split over the processes; the memory each process and Redis hold for them, and how many
//! channels Redis holds (one per group with members, per process holding members).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::load::PINNED;
use crate::load::generator::{self, Burst, Subscribe};
use crate::load::process::{RedisCluster, ServerProcess};

type Error = Box<dyn std::error::Error + Send + Sync>;

const SUBSCRIBERS: usize = 1000;
const BURST: Burst = Burst {
    items: 10,
    size: 100,
};

/// What a layout's processes share.
#[derive(Clone, Copy, PartialEq)]
enum Broker {
    None,
    Redis,
    Cluster,
}

/// The server processes of a layout, and the Redis they share.
struct Layout {
    servers: Vec<ServerProcess>,
    redis: Backing,
}

/// The Redis a layout runs on.
enum Backing {
    None,
    Single(ServerProcess),
    Cluster(RedisCluster),
}

impl Layout {
    fn start(count: usize, broker: Broker, pinned: bool) -> std::io::Result<Layout> {
        Layout::start_with(count, broker, false, pinned)
    }

    /// With `history`, the servers' topic `ticks` keeps history.
    fn start_with(
        count: usize,
        broker: Broker,
        history: bool,
        pinned: bool,
    ) -> std::io::Result<Layout> {
        let redis = match broker {
            Broker::None => Backing::None,
            Broker::Redis => Backing::Single(ServerProcess::redis(pinned)?),
            Broker::Cluster => Backing::Cluster(RedisCluster::start(pinned)?),
        };
        let option = match &redis {
            Backing::None => Vec::new(),
            Backing::Single(redis) => {
                vec!["--redis".to_owned(), format!("redis://{}/", redis.addr)]
            }
            Backing::Cluster(cluster) => vec!["--redis-cluster".to_owned(), cluster.urls()],
        };
        let mut option: Vec<&str> = option.iter().map(String::as_str).collect();
        if history {
            option.push("--history");
        }
        let exe = std::env::current_exe()?;
        let servers = (0..count)
            .map(|_| ServerProcess::spawn_with(&exe, "ours", pinned, &option))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Layout { servers, redis })
    }

    /// The URL of its Redis, single or the cluster's first master.
    fn broker(&self) -> Option<rpc_runtime::RedisBrokerBuilder> {
        match &self.redis {
            Backing::None => None,
            Backing::Single(redis) => Some(rpc_runtime::RedisBroker::builder(&format!(
                "redis://{}/",
                redis.addr
            ))),
            Backing::Cluster(cluster) => {
                Some(rpc_runtime::RedisBroker::cluster(cluster.urls().split(',')))
            }
        }
    }

    fn redis(&self) -> &[ServerProcess] {
        match &self.redis {
            Backing::None => &[],
            Backing::Single(redis) => std::slice::from_ref(redis),
            Backing::Cluster(cluster) => &cluster.masters,
        }
    }

    /// Every server-side process: the servers and Redis.
    fn processes(&self) -> impl Iterator<Item = &ServerProcess> {
        self.servers.iter().chain(self.redis())
    }

    /// The pub/sub channels Redis holds subscribed, and the memory it uses, over every master.
    fn redis_usage(&self) -> Result<(u64, u64), Error> {
        let listing = match self.redis {
            Backing::Cluster(_) => "SHARDCHANNELS",
            _ => "CHANNELS",
        };
        let (mut channels, mut memory) = (0, 0);
        for redis in self.redis() {
            channels += redis.redis_cli(&["PUBSUB", listing])?.lines().count() as u64;
            let info = redis.redis_cli(&["INFO", "memory"])?;
            let used = info
                .lines()
                .find_map(|line| line.strip_prefix("used_memory:"));
            memory += used
                .and_then(|bytes| bytes.trim().parse::<u64>().ok())
                .ok_or("no used_memory")?;
        }
        Ok((channels, memory))
    }
}

/// One fan-out layout's numbers.
struct Row {
    layout: &'static str,
    deliveries_per_second: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_delivery: Duration,
}

pub fn run(smoke: bool) -> Result<(), Error> {
    rlimit::increase_nofile_limit(u64::MAX)?;
    let pinned = std::env::var_os(PINNED).is_some();
    let duration = Duration::from_secs(if smoke { 1 } else { 10 });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let mut rows = Vec::new();
    for (layout, count, broker, history) in [
        ("one process", 1, Broker::None, false),
        ("one process, Redis broker", 1, Broker::Redis, false),
        ("two processes, Redis", 2, Broker::Redis, false),
        ("three processes, Redis", 3, Broker::Redis, false),
        ("three processes, Redis Cluster", 3, Broker::Cluster, false),
        ("one process, history", 1, Broker::None, true),
        ("one process, Redis broker, history", 1, Broker::Redis, true),
        ("two processes, Redis, history", 2, Broker::Redis, true),
    ] {
        eprintln!("cross-process fan-out: {layout}");
        let started = Layout::start_with(count, broker, history, pinned)?;
        let style = if history {
            Subscribe::Positioned
        } else {
            Subscribe::Topic
        };
        rows.push(runtime.block_on(measure(layout, &started, style, duration))?);
    }

    let mut report = String::new();
    writeln!(
        report,
        "### Fan-out across processes, {SUBSCRIBERS} WebSocket subscribers to a topic x bursts of {} items of {} B\n",
        BURST.items, BURST.size
    )?;
    writeln!(
        report,
        "Mode: {}, {} s per layout; {}.\n",
        if smoke { "smoke" } else { "full" },
        duration.as_secs(),
        if pinned {
            "servers and redis-server pinned to core 0, the generator to core 1"
        } else {
            "not pinned"
        }
    )?;
    writeln!(
        report,
        "| layout | deliveries/s | burst p50 (ms) | burst p99 (ms) | server-side CPU per delivery (µs) |"
    )?;
    writeln!(report, "|---|---:|---:|---:|---:|")?;
    for row in &rows {
        writeln!(
            report,
            "| {} | {:.0} | {:.3} | {:.3} | {:.2} |",
            row.layout,
            row.deliveries_per_second,
            row.p50.as_secs_f64() * 1e3,
            row.p99.as_secs_f64() * 1e3,
            row.cpu_per_delivery.as_secs_f64() * 1e6
        )?;
    }
    let ratio = |report: &mut String, other: &Row, base: &Row| {
        writeln!(
            report,
            "\n{}/{}: throughput {:.2}x, p50 {:.2}x, CPU per delivery {:.2}x",
            other.layout,
            base.layout,
            other.deliveries_per_second / base.deliveries_per_second,
            other.p50.as_secs_f64() / base.p50.as_secs_f64(),
            other.cpu_per_delivery.as_secs_f64() / base.cpu_per_delivery.as_secs_f64()
        )
    };
    let (without, with) = rows.split_at(5);
    for other in &without[1..] {
        ratio(&mut report, other, &without[0])?;
    }
    // History on against off, layout for layout.
    for (other, base) in with.iter().zip([&without[0], &without[1], &without[2]]) {
        ratio(&mut report, other, base)?;
    }
    println!("{report}");

    let clients = if smoke { 100 } else { 1_000 };
    println!("{}", runtime.block_on(come_back(clients, pinned))?);

    let users = if smoke { 500 } else { 10_000 };
    println!("{}", runtime.block_on(per_user_groups(users, pinned))?);
    Ok(())
}

/// Subscribers split evenly over the layout's servers; the first one publishes.
async fn measure(
    layout: &'static str,
    started: &Layout,
    style: Subscribe,
    duration: Duration,
) -> Result<Row, Error> {
    let servers = &started.servers;
    let publisher = servers[0].addr;
    let mut live = Vec::new();
    for server in servers {
        let share = SUBSCRIBERS / servers.len();
        live.extend(generator::subscribers(server.addr, share, style, BURST).await?);
    }
    let local = (SUBSCRIBERS / servers.len()) as u64;
    // Every subscription was routed through Redis before it was answered: no wait here.
    let cpu = || -> std::io::Result<Duration> { started.processes().map(|p| p.cpu_time()).sum() };
    let before = cpu()?;
    let fanout = generator::fanout(publisher, live, local, style, BURST, duration);
    let tally = fanout.await?;
    let used = cpu()?.saturating_sub(before);
    let (p50, p99) = tally.p50_p99();
    Ok(Row {
        layout,
        deliveries_per_second: tally.per_second(),
        p50,
        p99,
        cpu_per_delivery: used / (tally.calls.max(1) as u32),
    })
}

/// `clients` clients of a process on Redis whose topic `ticks` keeps history: the process is
/// killed, 100 publications are made meanwhile, a new process starts, and every client comes
/// back to it at once from the position it had. Timed from the new process listening to every
/// client recovered; its memory after.
async fn come_back(clients: usize, pinned: bool) -> Result<String, Error> {
    const MISSED: u64 = 100;
    eprintln!("{clients} clients coming back to a restarted process");
    let mut started = Layout::start_with(1, Broker::Redis, true, pinned)?;
    let url = format!("ws://{}/", started.servers[0].addr);
    let (mut probe, _) = tokio_tungstenite::connect_async(url).await?;
    let subscribe = r#"{"jsonrpc":"2.0","method":"rpc.subscribe","params":{"topic":"ticks","positions":true},"id":0}"#;
    let answer: serde_json::Value =
        serde_json::from_str(&generator::call(&mut probe, subscribe.to_owned()).await?)?;
    let since = answer["result"]["ticks"].to_string();
    drop(probe);
    started.servers.clear();

    let broker = started.broker().ok_or("a layout on Redis")?;
    let publisher = crate::spec::hub()
        .topic(rpc_runtime::Topic::new("ticks").history(rpc_runtime::History::new().size(1000)))
        .broker(broker.connect().await?)
        .build();
    for seq in 0..MISSED {
        publisher.publish("ticks", serde_json::json!({"seq": seq, "pad": ""}))?;
    }
    // Kept in Redis before the process comes back.
    let kept = || started.redis()[0].redis_cli(&["XLEN", "{rpc:t:ticks}:history"]);
    for _ in 0..500 {
        if kept()?.trim() == MISSED.to_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if publisher
        .broker_status()
        .is_some_and(|status| status.lost > 0)
    {
        return Err("publications were lost on the way to Redis".into());
    }

    let exe = std::env::current_exe()?;
    let option = [
        "--redis".to_owned(),
        format!("redis://{}/", started.redis()[0].addr),
    ];
    let args = [option[0].as_str(), option[1].as_str(), "--history"];
    let back = ServerProcess::spawn_with(&exe, "ours", pinned, &args)?;
    let listening = Instant::now();
    generator::come_back(back.addr, clients, &since, MISSED).await?;
    let took = listening.elapsed();
    let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    Ok(format!(
        "### Coming back after a restart, {clients} clients, {MISSED} publications missed each\n\n\
         | clients recovered | time from the new process listening (ms) | its memory after (MiB) | its peak (MiB) |\n\
         |---:|---:|---:|---:|\n\
         | {clients} | {:.0} | {:.1} | {:.1} |\n",
        took.as_secs_f64() * 1e3,
        mib(back.rss()?),
        mib(back.peak_rss()?)
    ))
}

/// `users` connections, each in its own group and in `all`, split over one process, two on
/// Redis and three on a Redis Cluster. Checked: a push to `all` reaches every connection, and
/// a push to the last user's group, sent from the first process, reaches that user.
async fn per_user_groups(users: usize, pinned: bool) -> Result<String, Error> {
    let mut report = String::new();
    writeln!(
        report,
        "### A group per user: about {users} WebSocket connections (a whole share per process), each in a group of its own and in one shared group\n"
    )?;
    writeln!(
        report,
        "Redis channels: those with a subscriber (on a cluster, summed over the masters), each process's own included.\n"
    )?;
    writeln!(
        report,
        "| layout | memory per process after (MiB) | per connection (KiB) | Redis channels | Redis memory (MiB) | push to all, every connection has it (ms) |"
    )?;
    writeln!(report, "|---|---:|---:|---:|---:|---:|")?;
    for (layout, count, broker) in [
        ("one process", 1, Broker::None),
        ("two processes, Redis", 2, Broker::Redis),
        ("three processes, Redis Cluster", 3, Broker::Cluster),
    ] {
        eprintln!("a group per user: {layout}");
        let started = Layout::start(count, broker, pinned)?;
        let before: Vec<u64> = started
            .servers
            .iter()
            .map(ServerProcess::rss)
            .collect::<Result<_, _>>()?;
        let mut sockets = Vec::new();
        let share = users / count;
        for (n, server) in started.servers.iter().enumerate() {
            sockets.extend(generator::own_groups(server.addr, n * share..(n + 1) * share).await?);
        }
        let after: Vec<u64> = started
            .servers
            .iter()
            .map(ServerProcess::rss)
            .collect::<Result<_, _>>()?;
        let (channels, redis_memory) = started.redis_usage()?;

        // A connection in no group, on the first process.
        let url = format!("ws://{}/", started.servers[0].addr);
        let (mut publisher, _) = tokio_tungstenite::connect_async(url).await?;
        let sent = Instant::now();
        let all = r#"{"jsonrpc":"2.0","method":"notify_group","params":["all","hello",[]],"id":1}"#;
        let reached = generator::call(&mut publisher, all.to_owned()).await?;
        if reached != format!(r#"{{"jsonrpc":"2.0","result":{share},"id":1}}"#) {
            return Err(format!("notify_group all: {reached}").into());
        }
        generator::each_notified(&mut sockets, "hello").await?;
        let everywhere = sent.elapsed();
        let last = format!(
            r#"{{"jsonrpc":"2.0","method":"notify_group","params":["user-{}","hi",[]],"id":2}}"#,
            count * share - 1
        );
        generator::call(&mut publisher, last).await?;
        let last = sockets.len() - 1;
        generator::each_notified(&mut sockets[last..], "hi").await?;

        let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
        let each: Vec<String> = after
            .iter()
            .map(|rss| format!("{:.1}", mib(*rss)))
            .collect();
        let grown: u64 = after
            .iter()
            .zip(&before)
            .map(|(a, b)| a.saturating_sub(*b))
            .sum();
        writeln!(
            report,
            "| {layout} | {} | {:.1} | {} | {} | {:.1} |",
            each.join(" / "),
            grown as f64 / 1024.0 / (count * share) as f64,
            if broker == Broker::None {
                "-".to_owned()
            } else {
                channels.to_string()
            },
            if broker == Broker::None {
                "-".to_owned()
            } else {
                format!("{:.1}", mib(redis_memory))
            },
            everywhere.as_secs_f64() * 1e3
        )?;
    }
    Ok(report)
}
