//! A real `redis-server` per test, or a real Redis Cluster of three masters, on free loopback
//! ports, without persistence.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rpc_runtime::{RedisBroker, RedisBrokerBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

use super::{timed, until};

/// A `redis-server` of its own on a free loopback port, without persistence.
pub struct Redis {
    child: Child,
    port: u16,
    /// What it was started with besides its port: to start it again alike.
    args: Vec<String>,
}

impl Redis {
    pub async fn start() -> Redis {
        Redis::start_with(|_| Vec::new()).await
    }

    /// With `args(port)` besides the port, on a free one.
    async fn start_with(args: impl Fn(u16) -> Vec<String>) -> Redis {
        for _ in 0..10 {
            let port = free_port().await;
            if let Some(redis) = Redis::try_start_on(port, args(port)).await {
                return redis;
            }
        }
        panic!("redis-server found no free port in ten tries");
    }

    /// `None` if another process took the port first: the one answering must be ours, or two
    /// tests would share a Redis.
    async fn try_start_on(port: u16, args: Vec<String>) -> Option<Redis> {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&args)
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
                    return Some(Redis { child, port, args });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What `redis-cli` prints for `args` sent to this Redis.
    pub async fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args).await
    }

    /// How many connections are subscribed to `channel`, as Redis counts them
    /// (`PUBSUB NUMSUB`): what a process holds open for a group or topic.
    pub async fn subscribers(&self, channel: &str) -> u64 {
        let counts = self.cli(&["PUBSUB", "NUMSUB", channel]).await;
        last_number(&counts)
    }

    pub async fn stop(&mut self) {
        self.child.kill().await.expect("stop redis-server");
    }

    /// Starts it again after [`stop`](Self::stop), on its port and as it was (a cluster's
    /// master rejoins through its configuration file), with nothing it held.
    pub async fn start_again(&mut self) {
        let port = self.port;
        *self = Redis::try_start_on(port, self.args.clone())
            .await
            .unwrap_or_else(|| panic!("redis-server could not listen on port {port} again"));
    }
}

/// A Redis Cluster of three masters and no replicas, each a `redis-server` of its own on
/// free loopback ports (its client port and its cluster bus port), made with
/// `redis-cli --cluster create`.
pub struct Cluster {
    pub masters: Vec<Redis>,
    /// The nodes' cluster configuration files, which a restarted master reads to rejoin.
    dir: PathBuf,
}

impl Cluster {
    pub async fn start() -> Cluster {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "redis-cluster-{}-{}",
            std::process::id(),
            free_port().await
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut masters = Vec::new();
        for _ in 0..3 {
            let bus = free_port().await;
            let dir = dir.display().to_string();
            let redis = Redis::start_with(|port| {
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-port",
                    &bus.to_string(),
                    "--cluster-config-file",
                    &format!("nodes-{port}.conf"),
                    // Quick to notice a master gone, as the tests kill some.
                    "--cluster-node-timeout",
                    "1000",
                    "--dir",
                    &dir,
                ]
                .map(String::from)
                .into()
            })
            .await;
            masters.push(redis);
        }
        let addrs: Vec<String> = masters
            .iter()
            .map(|master| format!("127.0.0.1:{}", master.port))
            .collect();
        let created = timed(
            "redis-cli --cluster create",
            Command::new("redis-cli")
                .args(["--cluster", "create"])
                .args(&addrs)
                .args(["--cluster-replicas", "0", "--cluster-yes"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status(),
        )
        .await
        .expect("run redis-cli");
        assert!(created.success(), "redis-cli --cluster create failed");
        let cluster = Cluster { masters, dir };
        cluster.until_ok().await;
        cluster
    }

    /// Until every master says the cluster is up and agrees on where every slot is.
    pub async fn until_ok(&self) {
        for master in &self.masters {
            until("the cluster to be up", async || {
                let info = master.cli(&["CLUSTER", "INFO"]).await;
                info.contains("cluster_state:ok")
            })
            .await;
        }
    }

    /// Every master's URL, comma-separated, as `--redis-cluster` takes them.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.masters.iter().map(Redis::url).collect();
        urls.join(",")
    }

    /// The master serving `key` (or a sharded channel), as the cluster says.
    pub async fn master_of(&self, key: &str) -> usize {
        let slot = last_number(&self.masters[0].cli(&["CLUSTER", "KEYSLOT", key]).await);
        let nodes = self.masters[0].cli(&["CLUSTER", "NODES"]).await;
        // `ID HOST:PORT@BUS FLAGS MASTER PING PONG EPOCH LINK SLOTS..`, slots as `A-B` or `A`.
        for node in nodes.lines() {
            let fields: Vec<&str> = node.split(' ').collect();
            let serves = fields.iter().skip(8).any(|range| {
                let (start, end) = range.split_once('-').unwrap_or((range, range));
                match (start.parse::<u64>(), end.parse::<u64>()) {
                    (Ok(start), Ok(end)) => (start..=end).contains(&slot),
                    _ => false, // a slot being moved: `[SLOT->-ID]`
                }
            });
            if serves {
                let port: u16 = fields[1].split([':', '@']).nth(1).unwrap().parse().unwrap();
                return self.masters.iter().position(|m| m.port == port).unwrap();
            }
        }
        panic!("no master serves slot {slot}: {nodes}");
    }

    /// Moves the slot of `key` to master `to`, with its keys, as a resharding does: the
    /// slot's importing and migrating states, `MIGRATE`, then every master told the new owner.
    pub async fn move_slot(&self, key: &str, to: usize) {
        let from = self.master_of(key).await;
        let slot = last_number(&self.masters[from].cli(&["CLUSTER", "KEYSLOT", key]).await);
        let slot = slot.to_string();
        let id = async |master: usize| {
            let id = self.masters[master].cli(&["CLUSTER", "MYID"]).await;
            id.trim().to_owned()
        };
        let (from_id, to_id) = (id(from).await, id(to).await);
        let (source, target) = (&self.masters[from], &self.masters[to]);
        target
            .cli(&["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id])
            .await;
        source
            .cli(&["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id])
            .await;
        let keys = source
            .cli(&["CLUSTER", "GETKEYSINSLOT", &slot, "1000"])
            .await;
        let keys: Vec<&str> = keys.lines().filter(|key| !key.is_empty()).collect();
        if !keys.is_empty() {
            let port = target.port.to_string();
            let mut migrate = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
            migrate.extend(&keys);
            let answer = source.cli(&migrate).await;
            assert_eq!(answer.trim(), "OK", "MIGRATE {keys:?}");
        }
        for master in [target, source].into_iter().chain(&self.masters) {
            master
                .cli(&["CLUSTER", "SETSLOT", &slot, "NODE", &to_id])
                .await;
        }
        assert_eq!(self.master_of(key).await, to);
    }

    /// How many connections are subscribed to a sharded `channel` on its master
    /// (`PUBSUB SHARDNUMSUB`).
    pub async fn subscribers(&self, channel: &str) -> u64 {
        let master = &self.masters[self.master_of(channel).await];
        last_number(&master.cli(&["PUBSUB", "SHARDNUMSUB", channel]).await)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A single Redis or a cluster: most Redis tests run on both.
pub enum Backend {
    Single(Redis),
    Cluster(Cluster),
}

impl Backend {
    pub async fn single() -> Backend {
        Backend::Single(Redis::start().await)
    }

    pub async fn cluster() -> Backend {
        Backend::Cluster(Cluster::start().await)
    }

    /// What `spec_server` and `chat` take to use it.
    pub fn args(&self) -> [String; 2] {
        match self {
            Backend::Single(redis) => ["--redis".into(), redis.url()],
            Backend::Cluster(cluster) => ["--redis-cluster".into(), cluster.urls()],
        }
    }

    pub fn broker(&self) -> RedisBrokerBuilder {
        match self {
            Backend::Single(redis) => RedisBroker::builder(&redis.url()),
            Backend::Cluster(cluster) => RedisBroker::cluster(cluster.urls().split(',')),
        }
    }

    /// How many connections are subscribed to `channel`: what the processes hold open for a
    /// group or topic.
    pub async fn subscribers(&self, channel: &str) -> u64 {
        match self {
            Backend::Single(redis) => redis.subscribers(channel).await,
            Backend::Cluster(cluster) => cluster.subscribers(channel).await,
        }
    }

    /// The Redis serving `key`: the one, or the key's master.
    pub async fn server_of(&mut self, key: &str) -> &mut Redis {
        match self {
            Backend::Single(redis) => redis,
            Backend::Cluster(cluster) => {
                let master = cluster.master_of(key).await;
                &mut cluster.masters[master]
            }
        }
    }
}

pub async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// What `redis-cli` prints for `args` sent to the Redis on `port`.
async fn cli(port: u16, args: &[&str]) -> String {
    let output = timed(
        "redis-cli",
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .stderr(Stdio::inherit())
            .output(),
    )
    .await
    .expect("run redis-cli (Debian: redis-tools, which redis-server brings)");
    String::from_utf8(output.stdout).expect("redis-cli prints text")
}

/// The last line of `redis-cli`'s answer, a number.
fn last_number(answer: &str) -> u64 {
    let last = answer.lines().last().unwrap_or_default();
    last.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {answer:?}"))
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
