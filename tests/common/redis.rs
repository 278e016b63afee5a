//! A real `redis-server` per test, on a free loopback port.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

use super::timed;

/// A `redis-server` of its own on a free loopback port, without persistence.
pub struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    pub async fn start() -> Redis {
        for _ in 0..10 {
            let port = {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                listener.local_addr().unwrap().port()
            };
            if let Some(redis) = Redis::try_start_on(port).await {
                return redis;
            }
        }
        panic!("redis-server found no free port in ten tries");
    }

    pub async fn start_on(port: u16) -> Redis {
        Redis::try_start_on(port)
            .await
            .unwrap_or_else(|| panic!("redis-server could not listen on port {port} again"))
    }

    /// `None` if another process took the port first: the one answering must be ours, or two
    /// tests would share a Redis.
    async fn try_start_on(port: u16) -> Option<Redis> {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start redis-server ({err}): install it (Debian: redis-server)")
            });
        let pid = child.id().expect("a running child");
        timed("redis-server to listen or give up", async {
            loop {
                if child.try_wait().unwrap().is_some() {
                    return None;
                }
                if answering_pid(port).await == Some(pid) {
                    return Some(Redis { child, port });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// How many connections are subscribed to `channel`, as Redis counts them
    /// (`PUBSUB NUMSUB`): what a process holds open for a group or topic.
    pub async fn subscribers(&self, channel: &str) -> u64 {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let command = format!("PUBSUB NUMSUB {channel}\r\n");
        stream.write_all(command.as_bytes()).await.unwrap();
        let mut reply = Vec::new();
        let mut buffer = [0; 512];
        // `*2 $LEN CHANNEL :COUNT`, the count on the last line.
        loop {
            let text = String::from_utf8_lossy(&reply);
            let count = text.lines().nth(3).and_then(|line| line.strip_prefix(':'));
            if let Some(count) = count.filter(|_| text.ends_with("\r\n")) {
                return count.parse().unwrap();
            }
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "Redis closed before answering PUBSUB NUMSUB");
            reply.extend_from_slice(&buffer[..read]);
        }
    }

    pub async fn stop(mut self) -> u16 {
        self.child.kill().await.expect("stop redis-server");
        self.port
    }
}

/// The process id of the Redis listening on `port`, as it reports it.
async fn answering_pid(port: u16) -> Option<u32> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream.write_all(b"INFO server\r\n").await.ok()?;
    let mut info = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let text = String::from_utf8_lossy(&info);
        let line = text
            .split("process_id:")
            .nth(1)
            .and_then(|rest| rest.split_once("\r\n"));
        if let Some((pid, _)) = line {
            return pid.trim().parse().ok();
        }
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        info.extend_from_slice(&buffer[..read]);
    }
}
