//! A server under test, in its own process pinned to its own core, and what `/proc` says of it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One server process, killed on drop.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `rpc-bench serve <kind> 127.0.0.1:0`, on core 0 when `pin` is set, and waits for
    /// its `listening on ADDR` line.
    pub fn spawn(kind: &str, pin: bool) -> std::io::Result<Self> {
        Self::spawn_exe(&std::env::current_exe()?, kind, pin)
    }

    /// Like [`spawn`](Self::spawn), from another build of this harness (an older commit's, to
    /// measure before and after).
    pub fn spawn_exe(exe: &std::path::Path, kind: &str, pin: bool) -> std::io::Result<Self> {
        Self::spawn_with(exe, kind, pin, &[])
    }

    /// Like [`spawn_exe`](Self::spawn_exe), with `extra` arguments after the address.
    pub fn spawn_with(
        exe: &std::path::Path,
        kind: &str,
        pin: bool,
        extra: &[&str],
    ) -> std::io::Result<Self> {
        let mut child = pinned(exe, pin)
            .args(["serve", kind, "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("{kind} server printed {line:?}")))?;
        Ok(ServerProcess { child, addr })
    }

    /// A `redis-server` without persistence on a free loopback port, on core 0 when `pin` is
    /// set; ready once it accepts connections.
    pub fn redis(pin: bool) -> std::io::Result<Self> {
        Self::redis_with(pin, &[])
    }

    /// Like [`redis`](Self::redis), with `extra` arguments.
    fn redis_with(pin: bool, extra: &[&str]) -> std::io::Result<Self> {
        let port = free_port()?;
        let child = pinned(std::path::Path::new("redis-server"), pin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|err| std::io::Error::other(format!("cannot start redis-server: {err}")))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let redis = ServerProcess { child, addr };
        for _ in 0..200 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return Ok(redis);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(std::io::Error::other(
            "redis-server did not start listening",
        ))
    }

    /// What `redis-cli` prints for `args` sent to this process, a Redis.
    pub fn redis_cli(&self, args: &[&str]) -> std::io::Result<String> {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.addr.port().to_string()])
            .args(args)
            .stderr(Stdio::inherit())
            .output()?;
        String::from_utf8(output.stdout).map_err(std::io::Error::other)
    }

    /// User plus system CPU time so far.
    pub fn cpu_time(&self) -> std::io::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the command name, which is parenthesised and may hold spaces: the
        // state is field 3, utime field 14, stime field 15.
        let rest = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |index: usize| {
            fields
                .get(index - 3)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let total = ticks(14) + ticks(15);
        Ok(Duration::from_secs_f64(
            total as f64 / clock_ticks_per_second() as f64,
        ))
    }

    /// Resident memory now, in bytes.
    pub fn rss(&self) -> std::io::Result<u64> {
        self.status_kib("VmRSS:").map(|kib| kib * 1024)
    }

    /// The most resident memory the process has had, in bytes.
    pub fn peak_rss(&self) -> std::io::Result<u64> {
        self.status_kib("VmHWM:").map(|kib| kib * 1024)
    }

    fn status_kib(&self, field: &str) -> std::io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no {field} in /proc status")))
    }
}

/// A Redis Cluster of three masters and no replicas, on core 0 when `pin` is set, made with
/// `redis-cli --cluster create`; ready once every master says the cluster is up.
pub struct RedisCluster {
    pub masters: Vec<ServerProcess>,
    /// The masters' cluster configuration files.
    dir: std::path::PathBuf,
}

impl RedisCluster {
    pub fn start(pin: bool) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("rpc-bench-cluster-{}", free_port()?));
        std::fs::create_dir_all(&dir)?;
        let mut cluster = RedisCluster {
            masters: Vec::new(),
            dir,
        };
        for _ in 0..3 {
            let bus = free_port()?.to_string();
            let dir = cluster.dir.display().to_string();
            let config = format!("nodes-{bus}.conf");
            let args = [
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus,
                "--cluster-config-file",
                &config,
                "--dir",
                &dir,
            ];
            cluster.masters.push(ServerProcess::redis_with(pin, &args)?);
        }
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(cluster.masters.iter().map(|master| master.addr.to_string()))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()?;
        if !created.success() {
            return Err(std::io::Error::other("redis-cli --cluster create failed"));
        }
        for master in &cluster.masters {
            let mut tries = 0;
            while !master
                .redis_cli(&["CLUSTER", "INFO"])?
                .contains("cluster_state:ok")
            {
                tries += 1;
                if tries > 500 {
                    return Err(std::io::Error::other("the Redis Cluster did not come up"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(cluster)
    }

    /// Every master's URL, comma-separated, as `--redis-cluster` takes them.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self
            .masters
            .iter()
            .map(|master| format!("redis://{}/", master.addr))
            .collect();
        urls.join(",")
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.masters.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `program`, under `taskset -c 0` when `pin` is set.
fn pinned(program: &std::path::Path, pin: bool) -> Command {
    if pin {
        let mut command = Command::new("taskset");
        command.args(["-c", "0"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100)
    })
}
