//! The load harness: each scenario against each server, a fresh server process each time,
//! pinned to core 0 while the load generator runs on core 1.

pub(crate) mod generator;
pub(crate) mod process;

use std::fmt::Write as _;
use std::future::Future;
use std::time::Duration;

use generator::{Burst, Subscribe, Tally, Work};
use process::ServerProcess;

/// Every server: ours first, as the others are its measures.
pub const SERVERS: [&str; 4] = ["ours", "jsonrpsee", "limit", "floor"];

#[derive(Clone, Copy, Debug)]
enum Scenario {
    WebSocket {
        connections: usize,
        in_flight: usize,
    },
    Http {
        connections: usize,
    },
    Batch {
        size: usize,
    },
    Idle {
        connections: usize,
    },
    /// Subscribers to `ticks`, all reading; a publisher asks for bursts. `typed`: ours
    /// subscribes with `subscribe_ticks` (a typed subscription, as jsonrpsee's always does)
    /// rather than to its `ticks` topic.
    Fanout {
        subscribers: usize,
        burst: Burst,
        typed: bool,
    },
    /// The server calls its client: rounds of `round` calls, `in_flight` at once, on one
    /// connection (ours only: jsonrpsee's server cannot call its clients).
    CallBack {
        round: u64,
        in_flight: usize,
    },
    /// Subscribers that never read, beside one that does.
    Stalled {
        stalled: usize,
        burst: Burst,
    },
}

impl Scenario {
    fn name(self) -> String {
        match self {
            Scenario::WebSocket {
                connections,
                in_flight,
            } => {
                format!("WebSocket, {connections} connection(s) x {in_flight} in flight")
            }
            Scenario::Http { connections } => format!("HTTP, {connections} keep-alive connections"),
            Scenario::Batch { size } => format!("WebSocket, a batch of {size} sleep(1) calls"),
            Scenario::Idle { connections } => format!("{connections} idle WebSocket connections"),
            Scenario::Fanout {
                subscribers,
                burst,
                typed,
            } => format!(
                "Fan-out ({}), {subscribers} WebSocket subscribers x bursts of {} items of {} B",
                if typed { "subscriptions" } else { "topic" },
                burst.items,
                burst.size
            ),
            Scenario::CallBack { round, in_flight } => format!(
                "Server to client, 1 connection x {in_flight} in flight (rounds of {round} calls; latency per round)"
            ),
            Scenario::Stalled { stalled, burst } => format!(
                "Stalled readers, {stalled} subscribers that never read beside 1 that does, bursts of {} items of {} B",
                burst.items, burst.size
            ),
        }
    }

    /// The servers that take part: the limit has no pub/sub, the floor nothing but fan-out and
    /// a constant answer over HTTP.
    /// What the scenario counts: fan-out a delivery (one item reaching one subscriber), the
    /// others a call.
    fn unit(self) -> &'static str {
        match self {
            Scenario::Fanout { .. } | Scenario::Stalled { .. } => "delivery",
            _ => "call",
        }
    }

    fn servers(self) -> &'static [&'static str] {
        match self {
            Scenario::Fanout { .. } => &["ours", "jsonrpsee", "floor"],
            Scenario::Stalled { .. } => &["ours", "jsonrpsee"],
            Scenario::CallBack { .. } => &["ours"],
            Scenario::Http { .. } => &SERVERS,
            _ => &["ours", "jsonrpsee", "limit"],
        }
    }
}

/// How each server's clients subscribe to `ticks`: jsonrpsee has typed subscriptions only, the
/// floor sends the same bytes to all.
fn style(server: &str, typed: bool) -> Subscribe {
    match server {
        "ours" if !typed => Subscribe::Topic,
        "floor" => Subscribe::Topic,
        _ => Subscribe::Subscription,
    }
}

/// Options of one run.
#[derive(Clone, Debug)]
pub struct Options {
    /// About a second per scenario and 500 idle connections: proves the harness and every
    /// answer, measures nothing worth quoting.
    pub smoke: bool,
    /// Only the scenarios whose name contains this, for working on one of them.
    pub only: Option<String>,
    /// Another build of this harness whose `serve ours` runs beside ours as "ours before": a
    /// change's cost, measured in the same run.
    pub before: Option<std::path::PathBuf>,
    /// How many times each server is measured in each scenario, the servers taking turns and
    /// each round starting one server later, so that a drift of the machine or an order
    /// effect falls on every server alike; each is reported by its round with the median CPU
    /// per call.
    pub rounds: usize,
}

/// One server's numbers in one scenario.
#[derive(Debug)]
struct Row {
    server: &'static str,
    calls_per_second: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_call: Duration,
    peak_rss: u64,
    rss_per_connection: Option<f64>,
    /// Resident memory with the stalled readers connected, and after they closed.
    stalled_rss: Option<(u64, u64)>,
}

/// Runs every scenario against every server and prints the report as Markdown.
pub fn run(options: Options) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // 10,000 connections need 10,000 descriptors here and in the servers, which inherit this.
    rlimit::increase_nofile_limit(u64::MAX)?;
    let pinned = std::env::var_os(PINNED).is_some();
    let duration = if options.smoke {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    };
    let idle = if options.smoke { 500 } else { 10_000 };
    let scenarios = [
        Scenario::WebSocket {
            connections: 1,
            in_flight: 64,
        },
        Scenario::WebSocket {
            connections: 16,
            in_flight: 8,
        },
        Scenario::CallBack {
            round: 10_000,
            in_flight: 64,
        },
        Scenario::Http { connections: 32 },
        Scenario::Batch { size: 100 },
        Scenario::Idle { connections: idle },
        Scenario::Fanout {
            subscribers: 1000,
            burst: Burst {
                items: 10,
                size: 100,
            },
            typed: false,
        },
        Scenario::Fanout {
            subscribers: 1000,
            burst: Burst {
                items: 10,
                size: 100,
            },
            typed: true,
        },
        Scenario::Stalled {
            stalled: 100,
            burst: Burst {
                items: 10,
                size: 1024,
            },
        },
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let mut report = String::new();
    writeln!(
        report,
        "Mode: {}, {} s per scenario and server, {} round(s).",
        if options.smoke { "smoke" } else { "full" },
        duration.as_secs(),
        options.rounds
    )?;
    if options.rounds > 1 {
        writeln!(
            report,
            "The servers took turns, each round starting one later; each row is the server's round with the median CPU per call."
        )?;
    }
    if pinned {
        writeln!(
            report,
            "Each server ran pinned to core 0 and the load generator to core 1 (`taskset`)."
        )?;
    } else {
        writeln!(
            report,
            "Not pinned: `taskset` or a second core is missing, so the numbers mix both processes."
        )?;
    }
    let chosen = scenarios.into_iter().filter(|scenario| {
        options
            .only
            .as_ref()
            .is_none_or(|only| scenario.name().contains(only.as_str()))
    });
    for scenario in chosen {
        // Each server to measure, and the build that serves it: this one, or `--before`'s.
        let mut runs: Vec<(&'static str, &'static str, Option<&std::path::Path>)> = Vec::new();
        for &server in scenario.servers() {
            runs.push((server, server, None));
            if let (Some(before), "ours") = (&options.before, server) {
                runs.push(("ours before", server, Some(before.as_path())));
            }
        }
        let mut measured: Vec<Vec<Row>> = runs.iter().map(|_| Vec::new()).collect();
        for round in 0..options.rounds {
            for at in (0..runs.len()).map(|i| (i + round) % runs.len()) {
                let (label, server, exe) = runs[at];
                eprintln!("{}: {label} (round {})", scenario.name(), round + 1);
                let process = match exe {
                    None => ServerProcess::spawn(server, pinned)?,
                    Some(exe) => ServerProcess::spawn_exe(exe, server, pinned)?,
                };
                let row = runtime
                    .block_on(measure(&process, server, scenario, duration))
                    .map_err(|err| format!("{} against {label}: {err}", scenario.name()))?;
                measured[at].push(Row {
                    server: label,
                    ..row
                });
                // Gone before the next server starts, as between any two servers.
                drop(process);
            }
        }
        let each_round = rounds_against_ours(&measured, scenario.unit());
        let rows: Vec<Row> = measured.into_iter().filter_map(median).collect();
        write_table(&mut report, scenario, &rows)?;
        report.push_str(&each_round);
    }
    println!("{report}");
    Ok(())
}

/// With more than one round, each round's CPU per call of ours against each other server's in
/// the same round: the spread the medians hide.
fn rounds_against_ours(measured: &[Vec<Row>], unit: &str) -> String {
    let Some((ours, others)) = measured.split_first() else {
        return String::new();
    };
    if ours.len() < 2 || ours.iter().all(|row| row.cpu_per_call.is_zero()) {
        return String::new();
    }
    let mut out = String::new();
    for other in others {
        let ratios: Vec<String> = ours
            .iter()
            .zip(other)
            .map(|(ours, other)| {
                let ratio = ours.cpu_per_call.as_secs_f64() / other.cpu_per_call.as_secs_f64();
                format!("{ratio:.2}x")
            })
            .collect();
        let server = other.first().map_or("", |row| row.server);
        let _ = write!(
            out,
            "\nours/{server}, CPU per {unit} in each round: {}\n",
            ratios.join(", ")
        );
    }
    out
}

/// The round with the median CPU per call (the upper one of an even count).
fn median(mut rounds: Vec<Row>) -> Option<Row> {
    rounds.sort_by_key(|row| row.cpu_per_call);
    let middle = rounds.len() / 2;
    rounds.into_iter().nth(middle)
}

/// The environment variable marking the re-executed, pinned harness.
pub const PINNED: &str = "RPC_BENCH_PINNED";

async fn measure(
    process: &ServerProcess,
    server: &'static str,
    scenario: Scenario,
    duration: Duration,
) -> Result<Row, Box<dyn std::error::Error + Send + Sync>> {
    let addr = process.addr;
    if let Scenario::Idle { connections } = scenario {
        // A few calls first, so the baseline includes what any first connection allocates.
        generator::websocket(addr, 1, 1, Work::Subtract, Duration::from_millis(100)).await?;
        let before = process.rss()?;
        let sockets = generator::idle(addr, connections).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = process.rss()?;
        drop(sockets);
        return Ok(Row {
            server,
            calls_per_second: 0.0,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            cpu_per_call: Duration::ZERO,
            peak_rss: process.peak_rss()?,
            rss_per_connection: Some(after.saturating_sub(before) as f64 / connections as f64),
            stalled_rss: None,
        });
    }
    if let Scenario::Fanout {
        subscribers,
        burst,
        typed,
    } = scenario
    {
        let style = style(server, typed);
        generator::websocket(addr, 1, 1, Work::Subtract, Duration::from_millis(100)).await?;
        let before = process.rss()?;
        let live = generator::subscribers(addr, subscribers, style, burst).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let per_connection = process.rss()?.saturating_sub(before) as f64 / subscribers as f64;
        let local = live.len() as u64;
        let fanout = generator::fanout(addr, live, local, style, burst, duration);
        let (tally, cpu) = with_cpu(process, fanout).await?;
        return Ok(Row {
            rss_per_connection: Some(per_connection),
            ..row(server, &tally, cpu, process.peak_rss()?)
        });
    }
    if let Scenario::Stalled { stalled, burst } = scenario {
        let style = style(server, false);
        let stalled = generator::subscribers(addr, stalled, style, burst).await?;
        let live = generator::subscribers(addr, 1, style, burst).await?;
        let fanout = generator::fanout(addr, live, 1, style, burst, duration);
        let (tally, cpu) = with_cpu(process, fanout).await?;
        let during = process.rss()?;
        drop(stalled);
        tokio::time::sleep(Duration::from_secs(1)).await;
        return Ok(Row {
            stalled_rss: Some((during, process.rss()?)),
            ..row(server, &tally, cpu, process.peak_rss()?)
        });
    }
    let load = |duration| async move {
        match scenario {
            Scenario::WebSocket {
                connections,
                in_flight,
            } => generator::websocket(addr, connections, in_flight, Work::Subtract, duration).await,
            Scenario::Http { connections } => generator::http(addr, connections, duration).await,
            Scenario::Batch { size } => {
                generator::websocket(addr, 1, 1, Work::SleepBatch { size }, duration).await
            }
            Scenario::CallBack { round, in_flight } => {
                generator::call_back(addr, round, in_flight, duration).await
            }
            Scenario::Idle { .. } | Scenario::Fanout { .. } | Scenario::Stalled { .. } => {
                unreachable!("handled above")
            }
        }
    };
    load(duration / 5).await?;
    let (tally, cpu) = with_cpu(process, load(duration)).await?;
    Ok(row(server, &tally, cpu, process.peak_rss()?))
}

/// Runs `load`, and measures the server's CPU time across it.
async fn with_cpu<T>(
    process: &ServerProcess,
    load: impl Future<Output = Result<T, Box<dyn std::error::Error + Send + Sync>>>,
) -> Result<(T, Duration), Box<dyn std::error::Error + Send + Sync>> {
    let before = process.cpu_time()?;
    let value = load.await?;
    Ok((value, process.cpu_time()?.saturating_sub(before)))
}

fn row(server: &'static str, tally: &Tally, cpu: Duration, peak_rss: u64) -> Row {
    let (p50, p99) = tally.p50_p99();
    Row {
        server,
        calls_per_second: tally.per_second(),
        p50,
        p99,
        cpu_per_call: cpu / (tally.calls.max(1) as u32),
        peak_rss,
        rss_per_connection: None,
        stalled_rss: None,
    }
}

fn write_table(report: &mut String, scenario: Scenario, rows: &[Row]) -> std::fmt::Result {
    writeln!(report, "\n### {}\n", scenario.name())?;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let ratio = |ours: f64, theirs: f64| {
        if theirs > 0.0 {
            format!("{:.2}", ours / theirs)
        } else {
            "-".into()
        }
    };
    let ours = &rows[0];
    if let Scenario::Idle { .. } = scenario {
        writeln!(
            report,
            "| server | RSS per connection (KiB) | peak RSS (MiB) |"
        )?;
        writeln!(report, "|---|---:|---:|")?;
        for row in rows {
            let per = row.rss_per_connection.unwrap_or(0.0) / 1024.0;
            writeln!(
                report,
                "| {} | {per:.1} | {:.1} |",
                row.server,
                mib(row.peak_rss)
            )?;
        }
        for other in &rows[1..] {
            writeln!(
                report,
                "\nours/{}: RSS per connection {}x",
                other.server,
                ratio(
                    ours.rss_per_connection.unwrap_or(0.0),
                    other.rss_per_connection.unwrap_or(0.0)
                )
            )?;
        }
        return Ok(());
    }
    // Fan-out counts deliveries (one item reaching one subscriber) and times whole bursts.
    let unit = scenario.unit();
    let (units, timed, extra) = match scenario {
        Scenario::Fanout { .. } => (
            "deliveries",
            "burst ",
            " RSS per subscribed connection (KiB) |",
        ),
        Scenario::Stalled { .. } => (
            "deliveries",
            "burst ",
            " RSS stalled / after they close (MiB) |",
        ),
        _ => ("calls", "", ""),
    };
    writeln!(
        report,
        "| server | {units}/s | {timed}p50 (ms) | {timed}p99 (ms) | server CPU per {unit} (µs) | peak RSS (MiB) |{extra}"
    )?;
    let extra_rule = if extra.is_empty() { "" } else { "---:|" };
    writeln!(report, "|---|---:|---:|---:|---:|---:|{extra_rule}")?;
    for row in rows {
        let extra = match (row.stalled_rss, row.rss_per_connection) {
            (Some((during, after)), _) => format!(" {:.1} / {:.1} |", mib(during), mib(after)),
            (None, Some(per)) => format!(" {:.1} |", per / 1024.0),
            (None, None) => String::new(),
        };
        writeln!(
            report,
            "| {} | {:.0} | {:.3} | {:.3} | {:.2} | {:.1} |{extra}",
            row.server,
            row.calls_per_second,
            row.p50.as_secs_f64() * 1e3,
            row.p99.as_secs_f64() * 1e3,
            row.cpu_per_call.as_secs_f64() * 1e6,
            mib(row.peak_rss)
        )?;
    }
    for other in &rows[1..] {
        writeln!(
            report,
            "\nours/{}: throughput {}x, p50 {}x, p99 {}x, CPU per {unit} {}x",
            other.server,
            ratio(ours.calls_per_second, other.calls_per_second),
            ratio(ours.p50.as_secs_f64(), other.p50.as_secs_f64()),
            ratio(ours.p99.as_secs_f64(), other.p99.as_secs_f64()),
            ratio(
                ours.cpu_per_call.as_secs_f64(),
                other.cpu_per_call.as_secs_f64()
            ),
        )?;
    }
    Ok(())
}
