//! `rpc-bench load [--smoke] [--only TEXT] [--before PATH] [--rounds N]`: the load harness
//! (see BENCHMARKS.md); `--before` runs another build's `serve ours` beside ours, `--rounds`
//! measures each server N times in turn and reports each one's median round.
//! `rpc-bench compile [--smoke]`: the macros' compile cost, ours beside jsonrpsee's.
//! `rpc-bench attack [--before PATH] [--only TEXT]`: the attacks of issue 9, memory before, peak and after.
//! `rpc-bench cluster [--smoke]`: fan-out across two and three server processes on Redis and
//! on a Redis Cluster, beside one; and a group per connection across processes.
//! `rpc-bench serve <ours|jsonrpsee|limit|floor> ADDR [--redis URL | --redis-cluster URL,..] [--history]`:
//! one server, as the harness starts it (ours on a Redis broker, or on a Redis Cluster's; its
//! topic `ticks` keeping history).

use std::process::{Command, ExitCode};

use rpc_bench::{attack, cluster, compile, load, servers};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|arg| arg == "--smoke");
    let result = match args.first().map(String::as_str) {
        Some("serve") if args.len() >= 3 => serve(
            &args[1],
            &args[2],
            broker(&args),
            args.iter().any(|arg| arg == "--history"),
        ),
        Some("cluster") => match pinned_to_core_1(&args) {
            Some(code) => return code,
            None => cluster::run(smoke),
        },
        Some("load") => match pinned_to_core_1(&args) {
            Some(code) => return code,
            None => {
                let only = option(&args, "--only");
                let before = option(&args, "--before").map(Into::into);
                let rounds = match option(&args, "--rounds").map(|n| n.parse()) {
                    None => 1,
                    Some(Ok(n)) if n > 0 => n,
                    Some(_) => {
                        eprintln!("rpc-bench: --rounds takes a number above 0");
                        return ExitCode::from(2);
                    }
                };
                load::run(load::Options {
                    smoke,
                    only,
                    before,
                    rounds,
                })
            }
        },
        Some("compile") => compile::run(compile::Options { smoke }),
        Some("attack") => attack::run(attack::Options {
            before: option(&args, "--before").map(Into::into),
            only: option(&args, "--only"),
        }),
        _ => {
            eprintln!(
                "usage: rpc-bench load [--smoke] [--only TEXT] [--before PATH] [--rounds N] | cluster [--smoke] | compile [--smoke] | attack [--before PATH] [--only TEXT] | serve <ours|jsonrpsee|limit|floor> ADDR [--redis URL | --redis-cluster URL,..] [--history]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rpc-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The broker `serve` is asked for: `--redis URL` or `--redis-cluster URL,..`.
fn broker(args: &[String]) -> Option<rpc_runtime::RedisBrokerBuilder> {
    let single = option(args, "--redis").map(|url| rpc_runtime::RedisBroker::builder(&url));
    let cluster = option(args, "--redis-cluster")
        .map(|urls| rpc_runtime::RedisBroker::cluster(urls.split(',')));
    single.or(cluster)
}

/// The value after `name` on the command line.
fn option(args: &[String], name: &str) -> Option<String> {
    let at = args.iter().position(|arg| arg == name)?;
    args.get(at + 1).cloned()
}

/// Runs the harness again under `taskset -c 1`, so that the servers can have core 0 to
/// themselves; `None` when already pinned, or when pinning is impossible here.
fn pinned_to_core_1(args: &[String]) -> Option<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if std::env::var_os(load::PINNED).is_some() || cores < 2 {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let status = Command::new("taskset")
        .args(["-c", "1"])
        .arg(exe)
        .args(args)
        .env(load::PINNED, "1")
        .status()
        .ok()?;
    Some(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

fn serve(
    kind: &str,
    addr: &str,
    broker: Option<rpc_runtime::RedisBrokerBuilder>,
    history: bool,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // One worker: the process is pinned to one core, and every server gets the same runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match kind {
            "ours" => servers::ours::serve(addr, broker, history).await,
            "jsonrpsee" => servers::theirs::serve(addr).await,
            "limit" => servers::limit::serve(addr).await,
            "floor" => servers::floor::serve(addr).await,
            other => Err(std::io::Error::other(format!("unknown server {other:?}"))),
        }
    })?;
    Ok(())
}
