//! What the CLI's tests share: the `rpc` binary, the conformance server as a process on a free
//! loopback port, and the npm tools `scripts/test` installs.

#![allow(dead_code)] // each test binary uses its own part

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn timed<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// The target directory: the test binary is `target/debug/deps/NAME`.
fn target() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

/// An example server, serving until dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Kept open: an example that prints more after its address (chat does) would otherwise
    /// die of a broken pipe, as soon as the test has read the first line.
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl Server {
    /// The conformance server.
    pub async fn start() -> Server {
        Server::example("spec_server").await
    }

    /// Example `name` of the workspace, which prints `listening on ADDR`.
    pub async fn example(name: &str) -> Server {
        let path = target().join("debug/examples").join(name);
        assert!(
            path.exists(),
            "{} is missing: run `cargo test --workspace`, which builds the examples",
            path.display()
        );
        let mut child = Command::new(path)
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("start {name}: {err}"));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = timed("the example's address", lines.next_line())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} printed nothing"));
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("{name} printed {line:?}"));
        Server {
            child,
            addr,
            _stdout: lines,
        }
    }

    pub fn http(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn ws(&self) -> String {
        format!("ws://{}/", self.addr)
    }
}

/// The `rpc` binary, with `args`.
pub fn rpc(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rpc"));
    command.args(args).kill_on_drop(true);
    command
}

/// Runs `rpc ARGS` to its end.
pub async fn run(args: &[&str]) -> Output {
    timed(&format!("rpc {args:?}"), rpc(args).output())
        .await
        .expect("run rpc")
}

/// A tool `scripts/test` installs from npm into `target/npm` (typescript's `tsc`, say).
pub fn npm_bin(name: &str) -> PathBuf {
    let path = target().join("npm/node_modules/.bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: `scripts/test` installs it (npm install --prefix target/npm ...)",
        path.display()
    );
    path
}
