//! An example program started as a server on a free loopback port.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::{example, timed};

/// A running example, killed when dropped. Its stdout stays open, so it can keep printing.
pub struct Running {
    pub child: Child,
    pub addr: SocketAddr,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Running {
    /// Starts example `name` with `127.0.0.1:0` and `args`, and reads its first line,
    /// `listening on ADDR`.
    pub async fn start(name: &str, args: &[&str]) -> Running {
        Running::start_on(name, "127.0.0.1:0", args).await
    }

    /// Starts example `name` listening on `addr` (again, after another was killed there).
    pub async fn start_on(name: &str, addr: &str, args: &[&str]) -> Running {
        let mut child = Command::new(example(name))
            .arg(addr)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("start {name}: {err}"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = timed(name, stdout.next_line())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} printed nothing: it failed to start"));
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("{name}: unexpected first line {line:?}"));
        Running {
            child,
            addr,
            stdout,
        }
    }

    /// The next line it prints.
    pub async fn next_line(&mut self) -> String {
        timed("the next line", self.stdout.next_line())
            .await
            .unwrap()
            .expect("a line on stdout: the example ended early")
    }

    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill the example");
    }
}
