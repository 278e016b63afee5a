//! Push across processes.
//!
//! Fan-out: the load harness's topic fan-out, with the subscribers split over two or three
//! server processes sharing a Redis broker or a Redis Cluster, beside the same load on one
//! process (without a broker, and with one whose subscribers are all local). The publisher's
//! process is the first one. Servers and Redis are pinned to core 0, the generator to core 1,
//! so that the server side's CPU (every server process and redis-server) is measured against
//! one core.
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
        let option: Vec<&str> = option.iter().map(String::as_str).collect();
        let exe = std::env::current_exe()?;
        let servers = (0..count)
            .map(|_| ServerProcess::spawn_with(&exe, "ours", pinned, &option))
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Layout { servers, redis })
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
    for (layout, count, broker) in [
        ("one process", 1, Broker::None),
        ("one process, Redis broker", 1, Broker::Redis),
        ("two processes, Redis", 2, Broker::Redis),
        ("three processes, Redis", 3, Broker::Redis),
        ("three processes, Redis Cluster", 3, Broker::Cluster),
    ] {
        eprintln!("cross-process fan-out: {layout}");
        let started = Layout::start(count, broker, pinned)?;
        rows.push(runtime.block_on(measure(layout, &started, duration))?);
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
    let one = &rows[0];
    for other in &rows[1..] {
        writeln!(
            report,
            "\n{}/one process: throughput {:.2}x, p50 {:.2}x, CPU per delivery {:.2}x",
            other.layout,
            other.deliveries_per_second / one.deliveries_per_second,
            other.p50.as_secs_f64() / one.p50.as_secs_f64(),
            other.cpu_per_delivery.as_secs_f64() / one.cpu_per_delivery.as_secs_f64()
        )?;
    }
    println!("{report}");

    let users = if smoke { 500 } else { 10_000 };
    println!("{}", runtime.block_on(per_user_groups(users, pinned))?);
    Ok(())
}

/// Subscribers split evenly over the layout's servers; the first one publishes.
async fn measure(layout: &'static str, started: &Layout, duration: Duration) -> Result<Row, Error> {
    let servers = &started.servers;
    let publisher = servers[0].addr;
    let mut live = Vec::new();
    for server in servers {
        let share = SUBSCRIBERS / servers.len();
        live.extend(generator::subscribers(server.addr, share, Subscribe::Topic, BURST).await?);
    }
    let local = (SUBSCRIBERS / servers.len()) as u64;
    // Every subscription was routed through Redis before it was answered: no wait here.
    let cpu = || -> std::io::Result<Duration> { started.processes().map(|p| p.cpu_time()).sum() };
    let before = cpu()?;
    let fanout = generator::fanout(publisher, live, local, Subscribe::Topic, BURST, duration);
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
