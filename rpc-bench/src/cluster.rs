//! Fan-out across processes: the load harness's topic fan-out, with the subscribers split over
//! two or three server processes sharing a Redis broker, beside the same load on one process
//! (without a broker, and with one whose subscribers are all local). The publisher's process
//! is the first one. Servers and Redis are pinned to core 0, the generator to core 1, so that
//! the server side's CPU (every server process and redis-server) is measured against one core.

use std::fmt::Write as _;
use std::time::Duration;

use crate::load::PINNED;
use crate::load::generator::{self, Burst, Subscribe};
use crate::load::process::ServerProcess;

type Error = Box<dyn std::error::Error + Send + Sync>;

const SUBSCRIBERS: usize = 1000;
const BURST: Burst = Burst {
    items: 10,
    size: 100,
};

/// One layout's numbers.
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
    let exe = std::env::current_exe()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let mut rows = Vec::new();
    for (layout, count) in [
        ("one process", 1),
        ("one process, Redis broker", 1),
        ("two processes, Redis", 2),
        ("three processes, Redis", 3),
    ] {
        eprintln!("cross-process fan-out: {layout}");
        let redis = (layout != "one process")
            .then(|| ServerProcess::redis(pinned))
            .transpose()?;
        let url = redis
            .as_ref()
            .map(|redis| format!("redis://{}/", redis.addr));
        let extra: Vec<&str> = url.iter().flat_map(|url| ["--redis", url]).collect();
        let servers = (0..count)
            .map(|_| ServerProcess::spawn_with(&exe, "ours", pinned, &extra))
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut processes: Vec<&ServerProcess> = servers.iter().collect();
        processes.extend(&redis);
        let row = runtime.block_on(measure(layout, &servers, &processes, duration))?;
        rows.push(row);
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
    Ok(())
}

/// Subscribers split evenly over `servers`; the first one publishes. `processes` are all
/// whose CPU counts.
async fn measure(
    layout: &'static str,
    servers: &[ServerProcess],
    processes: &[&ServerProcess],
    duration: Duration,
) -> Result<Row, Error> {
    let publisher = servers[0].addr;
    let mut live = Vec::new();
    for server in servers {
        let share = SUBSCRIBERS / servers.len();
        live.extend(generator::subscribers(server.addr, share, Subscribe::Topic, BURST).await?);
    }
    let local = (SUBSCRIBERS / servers.len()) as u64;
    // Every subscription was routed through Redis before it was answered: no wait here.
    let cpu = |processes: &[&ServerProcess]| -> std::io::Result<Duration> {
        processes.iter().map(|p| p.cpu_time()).sum()
    };
    let before = cpu(processes)?;
    let fanout = generator::fanout(publisher, live, local, Subscribe::Topic, BURST, duration);
    let tally = fanout.await?;
    let used = cpu(processes)?.saturating_sub(before);
    let (p50, p99) = tally.p50_p99();
    Ok(Row {
        layout,
        deliveries_per_second: tally.per_second(),
        p50,
        p99,
        cpu_per_delivery: used / (tally.calls.max(1) as u32),
    })
}
