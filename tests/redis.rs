//! Push across server processes on a real `redis-server` and on a real Redis Cluster of three
//! masters: `spec_server --redis URL` (or `--redis-cluster URLS`) processes, real WebSocket
//! clients on each. Without `redis-server` installed these fail.
//!
//! Most tests run twice, in `single` and in `cluster` (see the end of this file).

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use common::redis::{Backend, Cluster, free_port};
use common::running::Running;
use common::{TestServer, Ws, example, spec, timed, until};
use rpc_runtime::Server;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// A `spec_server` process on the backend.
struct Node(Running);

impl Node {
    async fn start(backend: &Backend) -> Node {
        let [option, url] = backend.args();
        Node(Running::start("spec_server", &[&option, &url]).await)
    }

    /// With a topic `log` and groups that keep history.
    async fn with_history(backend: &Backend) -> Node {
        let [option, url] = backend.args();
        Node(Running::start("spec_server", &[&option, &url, "--history"]).await)
    }

    async fn client(&self) -> Client {
        Client::connect(self.0.addr).await
    }

    async fn kill(self) {
        self.0.kill().await;
    }
}

/// A WebSocket client that keeps the notifications arriving between answers.
struct Client {
    ws: Ws,
    next_id: u64,
    notifications: Vec<Value>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        Client::at(&format!("ws://{addr}/")).await
    }

    async fn at(url: &str) -> Client {
        Client {
            ws: Ws::connect(url).await,
            next_id: 0,
            notifications: Vec::new(),
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        self.ws.send_text(&request.to_string()).await;
        loop {
            let message = self.ws.recv_json().await;
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            self.notifications.push(message);
        }
    }

    /// The next notification, however it arrives.
    async fn notification(&mut self) -> Value {
        if !self.notifications.is_empty() {
            return self.notifications.remove(0);
        }
        self.ws.recv_json().await
    }

    /// Whether a notification has come by the time an answer to a later call does.
    async fn has_notification(&mut self) -> bool {
        self.call("echo", json!(["sync"])).await;
        !self.notifications.is_empty()
    }

    async fn groups(&mut self) -> Vec<String> {
        serde_json::from_value(self.call("groups", json!([])).await).unwrap()
    }

    /// The ids of a group's members on every live process.
    async fn members(&mut self, group: &str) -> Vec<Value> {
        let members = self.call("members", json!([group])).await;
        let members = members.as_array().unwrap().iter();
        members.map(|member| member["id"].clone()).collect()
    }

    async fn status(&mut self) -> Value {
        self.call("broker_status", json!([])).await
    }

    /// Subscribes to `log` keeping the position, from `since` if given: the answer, and the
    /// pushes that came before it (what was missed).
    async fn follow(&mut self, since: Option<&Value>) -> (Value, Vec<Value>) {
        let params = match since {
            Some(since) => json!({"topic": "log", "since": {"log": since}}),
            None => json!({"topic": "log", "positions": true}),
        };
        let answer = self.call("rpc.subscribe", params).await;
        (
            answer["log"].clone(),
            std::mem::take(&mut self.notifications),
        )
    }
}

/// `{"offset": N, "epoch": E}` of a subscribe's answer, with another offset.
fn at(position: &Value, offset: u64) -> Value {
    json!({"offset": offset, "epoch": position["epoch"]})
}

fn offsets(notes: &[Value]) -> Vec<u64> {
    notes
        .iter()
        .map(|note| note["offset"].as_u64().unwrap())
        .collect()
}

async fn lost(client: &mut Client) -> u64 {
    client.status().await["lost"].as_u64().unwrap()
}

/// Two spec_server processes on the backend, and a client on each.
async fn two_processes(backend: &Backend) -> ([Node; 2], Client, Client) {
    let (a, b) = (Node::start(backend).await, Node::start(backend).await);
    let (ann, bob) = (a.client().await, b.client().await);
    ([a, b], ann, bob)
}

// The processes and the Redis are killed when the test drops them.

async fn a_group_notification_reaches_members_on_both_processes(backend: Backend) {
    let ([_a, b], mut ann, mut bob) = two_processes(&backend).await;
    let mut eve = b.client().await;
    ann.call("join", json!(["room"])).await;
    bob.call("join", json!(["room"])).await;

    let reached = ann
        .call("notify_group", json!(["room", "said", ["hi"]]))
        .await;
    assert_eq!(reached, 1, "the count is of this process's members");
    let said = json!({"jsonrpc": "2.0", "method": "said", "params": ["hi"]});
    assert_eq!(timed("ann's own copy", ann.notification()).await, said);
    assert_eq!(timed("bob's copy, across", bob.notification()).await, said);
    assert!(!eve.has_notification().await, "eve is not in the room");
    assert_eq!(eve.groups().await, ["room"], "one group, listed once");

    bob.call("leave", json!(["room"])).await;
    ann.call("notify_group", json!(["room", "said", ["again"]]))
        .await;
    assert!(!bob.has_notification().await, "bob left the room");
}

async fn a_topic_publish_and_its_retained_value_cross_processes(backend: Backend) {
    let (_nodes, mut ann, mut bob) = two_processes(&backend).await;

    // Retained before anyone subscribes, on the other process.
    let reached = ann.call("publish", json!(["status", {"v": 1}, true])).await;
    assert_eq!(reached, 0);
    bob.call("rpc.subscribe", json!(["status", "news"])).await;
    let status = |v| json!({"jsonrpc": "2.0", "method": "status", "params": {"v": v}});
    assert_eq!(
        timed("the retained value", bob.notification()).await,
        status(1)
    );

    ann.call("publish", json!(["news", ["extra"]])).await;
    let news = json!({"jsonrpc": "2.0", "method": "news", "params": ["extra"]});
    assert_eq!(timed("the publish, across", bob.notification()).await, news);
    ann.call("publish", json!(["status", {"v": 2}, true])).await;
    assert_eq!(
        timed("the new retained value", bob.notification()).await,
        status(2)
    );

    // A process started later reads the retained value from Redis.
    let c = Node::start(&backend).await;
    let mut cat = c.client().await;
    cat.call("rpc.subscribe", json!(["status"])).await;
    assert_eq!(
        timed("the retained value, late", cat.notification()).await,
        status(2)
    );
}

async fn a_notification_to_a_connection_id_reaches_its_process(backend: Backend) {
    let (_nodes, mut ann, mut bob) = two_processes(&backend).await;
    let id = bob.call("connection_id", json!([])).await;
    let ann_id = ann.call("connection_id", json!([])).await;
    assert_ne!(id, ann_id, "ids are unique across processes");

    ann.call("notify_connection", json!([id, "direct", ["for bob"]]))
        .await;
    let direct = json!({"jsonrpc": "2.0", "method": "direct", "params": ["for bob"]});
    assert_eq!(
        timed("the direct notification", bob.notification()).await,
        direct
    );
    assert!(!ann.has_notification().await);
}

async fn a_killed_process_leaves_no_ghosts(backend: Backend) {
    let ([_a, b], mut ann, mut bob) = two_processes(&backend).await;
    ann.call("join", json!(["room"])).await;
    bob.call("join", json!(["room"])).await;
    let ann_id = ann.call("connection_id", json!([])).await;
    let bob_id = bob.call("connection_id", json!([])).await;
    let mut both = vec![ann_id.clone(), bob_id.clone()];
    both.sort_by_key(|id| id.to_string());
    let mut members = ann.members("room").await;
    members.sort_by_key(|id| id.to_string());
    assert_eq!(members, both, "both processes' members, read from either");
    until("the other process's heartbeat", async || {
        ann.status().await["other_nodes"] == 1
    })
    .await;

    // SIGKILL: no goodbye, only silence.
    b.kill().await;
    until("the dead process's members to be taken out", async || {
        ann.members("room").await == [ann_id.clone()]
    })
    .await;
    until("the dead process to be forgotten", async || {
        ann.status().await["other_nodes"] == 0
    })
    .await;

    // A push to one of its connections is counted as lost, not silently dropped.
    let before = lost(&mut ann).await;
    ann.call("notify_connection", json!([bob_id, "direct", []]))
        .await;
    until("the push to be counted", async || {
        lost(&mut ann).await > before
    })
    .await;
}

/// On a cluster, the master serving the group restarts (losing what it held), which the
/// processes see as they see a single Redis lost.
async fn a_redis_restart_is_survived(mut backend: Backend) {
    let (_nodes, mut ann, mut bob) = two_processes(&backend).await;
    ann.call("join", json!(["room"])).await;
    bob.call("join", json!(["room"])).await;

    let server = backend.server_of("{rpc:g:room}").await;
    server.stop().await;
    until("ann's process to notice", async || {
        ann.status().await["connected"] == false
    })
    .await;
    // Local delivery goes on; what was meant for bob's process is counted as lost.
    let before = lost(&mut ann).await;
    ann.call("notify_group", json!(["room", "said", ["while down"]]))
        .await;
    let while_down = json!({"jsonrpc": "2.0", "method": "said", "params": ["while down"]});
    assert_eq!(
        timed("ann's own copy", ann.notification()).await,
        while_down
    );
    assert_eq!(lost(&mut ann).await, before + 1);

    server.start_again().await;
    for client in [&mut ann, &mut bob] {
        until("reconnection", async || {
            client.status().await["connected"] == true
        })
        .await;
    }
    // Both subscribed again, and wrote their members anew on the empty Redis.
    until("the members to be written again", async || {
        ann.members("room").await.len() == 2
    })
    .await;
    ann.call("notify_group", json!(["room", "said", ["back"]]))
        .await;
    let back = json!({"jsonrpc": "2.0", "method": "said", "params": ["back"]});
    assert_eq!(
        timed("bob's copy after the restart", bob.notification()).await,
        back
    );
}

/// In this process, not two: the slow side needs a small `max_received`, which spec_server
/// does not take. On the current-thread runtime the redis crate's reader hands on a whole
/// burst of messages before the broker's task runs, so a small bound is surely passed.
async fn a_process_that_falls_behind_counts_what_it_missed_and_subscribes_again(backend: Backend) {
    let broker = backend.broker().max_received(16).connect().await.unwrap();
    // Room for the whole flood, which the member reads only afterwards.
    let builder = Server::builder()
        .outbound_queue(16 << 20)
        .hub(spec::hub().broker(broker).build());
    let slow = TestServer::start_router(builder, spec::router()).await;
    let fast = spec::hub()
        .broker(backend.broker().connect().await.unwrap())
        .build();
    let mut member = Client::connect(slow.addr).await;
    member.call("join", json!(["flood"])).await;

    const FLOOD: u64 = 20_000;
    for seq in 0..FLOOD {
        fast.notify_group("flood", "tick", [seq]).unwrap();
        // Within the fast side's own queue (4,096): its losses are not what this counts.
        if seq % 1_000 == 999 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let lost = || slow.hub().broker_status().unwrap().lost;
    until("the slow process to count what it dropped", async || {
        lost() > 0
    })
    .await;

    // Subscribed again, it gets what is sent after.
    timed("a push after the flood", async {
        loop {
            fast.notify_group("flood", "after", ()).unwrap();
            let next = Duration::from_millis(50);
            while let Ok(message) = tokio::time::timeout(next, member.notification()).await {
                if message["method"] == "after" {
                    return;
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_redis_at_start_is_a_clear_error() {
    let port = free_port().await;
    let url = format!("redis://127.0.0.1:{port}/");
    let stderr = failed_start(&["--redis", &url]).await;
    assert!(
        stderr.contains(&format!("cannot use Redis at 127.0.0.1:{port}")),
        "{stderr}"
    );
    let stderr = failed_start(&["--redis-cluster", &url]).await;
    assert!(
        stderr.contains(&format!("cannot use the Redis Cluster at 127.0.0.1:{port}")),
        "{stderr}"
    );
}

/// A broker for a single Redis pointed at a cluster's node would miss the other masters'
/// pushes and find its keys elsewhere: it is refused, saying what to use.
#[tokio::test]
async fn a_cluster_node_taken_for_a_single_redis_is_a_clear_error() {
    let cluster = Cluster::start().await;
    let stderr = failed_start(&["--redis", &cluster.masters[0].url()]).await;
    assert!(
        stderr.contains("is a node of a Redis Cluster: connect with RedisBroker::cluster"),
        "{stderr}"
    );
}

/// What `spec_server ARGS` prints as it fails to start.
async fn failed_start(args: &[&str]) -> String {
    let mut child = Command::new(example("spec_server"))
        .arg("127.0.0.1:0")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start spec_server");
    let status = timed("spec_server to give up", child.wait()).await.unwrap();
    assert!(!status.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    stderr
}

/// The race a join used to lose: a client on one process joins, and as soon as its answer
/// arrives a client on the other process sends to the group. Each round joins and leaves, so
/// that every join is the group's first on its process and waits for Redis.
async fn a_push_sent_right_after_a_join_is_answered_always_arrives(backend: Backend) {
    let (_nodes, mut ann, mut bob) = two_processes(&backend).await;
    for round in 0..1_000 {
        let room = format!("room-{}", round % 7);
        ann.call("join", json!([room])).await;
        let reached = bob
            .call("notify_group", json!([room, "said", [round]]))
            .await;
        assert_eq!(reached, 0, "bob's process has no members");
        let said = timed("the push after the join", ann.notification()).await;
        assert_eq!(said["params"], json!([round]), "round {round}");
        ann.call("leave", json!([room])).await;
    }
    assert_eq!(lost(&mut ann).await + lost(&mut bob).await, 0);
}

/// The same race for a topic: subscribe, publish from the other process, unsubscribe.
async fn a_publish_sent_right_after_a_subscribe_is_answered_always_arrives(backend: Backend) {
    let (_nodes, mut ann, mut bob) = two_processes(&backend).await;
    for round in 0..1_000 {
        ann.call("rpc.subscribe", json!(["news"])).await;
        bob.call("publish", json!(["news", [round]])).await;
        let news = timed("the publish after the subscribe", ann.notification()).await;
        assert_eq!(news["params"], json!([round]), "round {round}");
        ann.call("rpc.unsubscribe", json!(["news"])).await;
    }
    assert_eq!(lost(&mut ann).await + lost(&mut bob).await, 0);
}

/// A job that publishes and drops its hub at once: what it published still reaches the
/// subscriber on the other process, though the hub was dropped with its pushes still queued for
/// Redis (its broker's task writes them before it says goodbye).
async fn a_hub_dropped_right_after_publishing_loses_nothing(backend: Backend) {
    let (_node, mut reader) = news_reader(&backend).await;
    for round in 0..10u64 {
        let hub = spec::hub()
            .broker(backend.broker().connect().await.unwrap())
            .build();
        for n in 0..100 {
            hub.publish("news", [round, n]).unwrap();
        }
        drop(hub);
        read_round(&mut reader, round, "a publish of a dropped hub").await;
    }
}

/// A process with a client subscribed to `news`, for a job on another to publish to.
async fn news_reader(backend: &Backend) -> (Node, Client) {
    let node = Node::start(backend).await;
    let mut reader = node.client().await;
    reader.call("rpc.subscribe", json!(["news"])).await;
    (node, reader)
}

/// `[round, 0]` to `[round, 99]` on `news`, in order.
async fn read_round(reader: &mut Client, round: u64, what: &str) {
    for n in 0..100 {
        let news = timed(what, reader.notification()).await;
        assert_eq!(news["params"], json!([round, n]));
    }
}

/// A job that publishes, flushes and ends, its runtime (and the broker's task with it) gone
/// as soon as the flush returns: what it published had reached Redis, and so the subscriber.
async fn a_flushed_publish_outlives_its_runtime(backend: Backend) {
    let (_node, mut reader) = news_reader(&backend).await;
    for round in 0..5u64 {
        let broker = backend.broker();
        let job = tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let hub = spec::hub().broker(broker.connect().await.unwrap()).build();
                for n in 0..100 {
                    hub.publish("news", [round, n]).unwrap();
                }
                hub.flush().await;
            });
        });
        timed("the job", job).await.unwrap();
        read_round(&mut reader, round, "a flushed publish").await;
    }
}

/// Two publishers on two processes interleave their pushes into one group whose members are
/// on three processes: every member sees the same sequence.
async fn members_on_every_process_see_one_order(backend: Backend) {
    const EACH: u64 = 5_000;
    const CHUNK: u64 = 250;
    let nodes = [
        Node::start(&backend).await,
        Node::start(&backend).await,
        Node::start(&backend).await,
    ];
    let mut readers = Vec::new();
    for node in &nodes {
        let mut member = node.client().await;
        member.call("join", json!(["chat"])).await;
        readers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while seen.len() < 2 * EACH as usize {
                let said = timed("every push", member.notification()).await;
                seen.push((said["params"][0].clone(), said["params"][1].clone()));
            }
            seen
        }));
    }
    let mut publishers = Vec::new();
    for (name, node) in ["a", "b"].into_iter().zip(&nodes) {
        let mut publisher = node.client().await;
        publishers.push(tokio::spawn(async move {
            for chunk in 0..EACH / CHUNK {
                for i in chunk * CHUNK..(chunk + 1) * CHUNK {
                    let push = json!({"jsonrpc": "2.0", "method": "notify_group",
                        "params": ["chat", "said", [name, i]]});
                    publisher.ws.send_text(&push.to_string()).await;
                }
                // Paced within the broker's queue, whose overflow would be delivered here
                // directly and so out of the one order.
                publisher.call("echo", json!(["sync"])).await;
            }
            lost(&mut publisher).await
        }));
    }
    for publisher in publishers {
        assert_eq!(publisher.await.unwrap(), 0, "nothing lost");
    }
    let mut sequences = Vec::new();
    for reader in readers {
        sequences.push(reader.await.unwrap());
    }
    for name in ["a", "b"] {
        let own: Vec<u64> = sequences[0]
            .iter()
            .filter(|(from, _)| *from == name)
            .map(|(_, i)| i.as_u64().unwrap())
            .collect();
        assert_eq!(
            own,
            (0..EACH).collect::<Vec<_>>(),
            "{name}'s pushes, in its order"
        );
    }
    assert!(
        sequences.windows(2).all(|pair| pair[0] == pair[1]),
        "every member saw the same sequence"
    );
}

/// A retained publish that meets a topic's first subscriber on another process (the
/// subscriber's read of the kept value, and the publish through the channel, may both bring
/// it): the subscriber gets it once.
async fn a_retained_value_racing_a_first_subscriber_arrives_once(backend: Backend) {
    let builder = Server::builder().hub(
        spec::hub()
            .broker(backend.broker().connect().await.unwrap())
            .build(),
    );
    let server = TestServer::start_router(builder, spec::router()).await;
    let other = spec::hub()
        .broker(backend.broker().connect().await.unwrap())
        .build();
    let mut bob = Client::connect(server.addr).await;
    for v in 0..20 {
        other.publish_retained("status", json!({"v": v})).unwrap();
        bob.call("rpc.subscribe", json!(["status"])).await;
        let status = timed("the retained value", bob.notification()).await;
        assert_eq!(status["params"], json!({"v": v}));
        bob.call("rpc.unsubscribe", json!(["status"])).await;
        assert!(!bob.has_notification().await, "round {v}: once");
    }
}

/// What a member joined with is read back on every process, and goes with its leave.
async fn presence_reads_every_process_members_with_what_they_joined_with(backend: Backend) {
    use rpc_runtime::client::TestClient;

    let mut hubs = Vec::new();
    for _ in 0..2 {
        let broker = backend.broker().connect().await.unwrap();
        hubs.push(spec::hub().broker(broker).build());
    }
    let ann = TestClient::builder(spec::router())
        .hub(hubs[0].clone())
        .build();
    let bob = TestClient::builder(spec::router())
        .hub(hubs[1].clone())
        .build();
    let (ann_id, bob_id) = (
        ann.connection().unwrap().id(),
        bob.connection().unwrap().id(),
    );
    assert!(
        hubs[0]
            .join_with("lobby", ann_id, json!({"name": "ann"}))
            .await
            .unwrap()
    );
    assert!(hubs[1].join("lobby", bob_id).await.unwrap());
    for hub in &hubs {
        let present = hub.presence("lobby").await.unwrap();
        let seen: Vec<_> = present.iter().map(|m| (m.id, m.info.clone())).collect();
        let mut expected = vec![(ann_id, Some(json!({"name": "ann"}))), (bob_id, None)];
        expected.sort_by_key(|(id, _)| *id);
        assert_eq!(seen, expected);
    }
    // Joining again replaces the info; leaving takes the member out everywhere.
    assert!(
        !hubs[0]
            .join_with("lobby", ann_id, "ann again")
            .await
            .unwrap()
    );
    let again = hubs[1].presence("lobby").await.unwrap();
    assert!(
        again
            .iter()
            .any(|m| m.id == ann_id && m.info == Some(json!("ann again")))
    );
    hubs[0].leave("lobby", ann_id);
    // A leave is written in order after the join; the next join's wait covers it.
    hubs[1].join("other", bob_id).await.unwrap();
    hubs[0].join("other", ann_id).await.unwrap();
    let left = hubs[1].presence("lobby").await.unwrap();
    assert_eq!(left.iter().map(|m| m.id).collect::<Vec<_>>(), [bob_id]);
}

/// Presence events across processes (the chat example sends them): a member on a process
/// killed without a goodbye is announced as gone by the survivors, within six heartbeats.
async fn a_killed_process_s_members_are_announced_as_gone(backend: Backend) {
    let [option, url] = backend.args();
    let chats = [
        Running::start("chat", &[&option, &url]).await,
        Running::start("chat", &[&option, &url]).await,
    ];
    let url = |chat: &Running| format!("ws://{}/rpc", chat.addr);
    let mut ann = Client::at(&url(&chats[0])).await;
    let mut bob = Client::at(&url(&chats[1])).await;
    ann.call("chat.join", json!(["ann", "lobby"])).await;
    let present = bob.call("chat.join", json!(["bob", "lobby"])).await;
    let names: Vec<&str> = present["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{present}");
    assert!(
        names.contains(&"ann") && names.contains(&"bob"),
        "{present}"
    );
    let [ann_process, _two] = chats;
    ann_process.kill().await;
    drop(ann);
    let left = timed("ann's departure", async {
        loop {
            let note = bob.notification().await;
            if note["method"] == "rpc.left" {
                return note;
            }
        }
    })
    .await;
    assert_eq!(left["params"]["group"], "lobby");
    assert_eq!(left["params"]["info"], "ann");
}

/// A process holds a group's Redis channel while it has members in it, once however many,
/// and lets it go when the last one leaves.
async fn a_group_s_channel_is_held_while_it_has_members_here(backend: Backend) {
    let ([_a, b], mut ann, mut bob) = two_processes(&backend).await;
    let mut eve = b.client().await;
    let held = async || backend.subscribers("{rpc:g:room}").await;
    assert_eq!(held().await, 0, "nobody has joined");
    ann.call("join", json!(["room"])).await;
    assert_eq!(held().await, 1);
    bob.call("join", json!(["room"])).await;
    eve.call("join", json!(["room"])).await;
    assert_eq!(held().await, 2, "one subscription per process");
    bob.call("leave", json!(["room"])).await;
    assert_eq!(held().await, 2, "eve is still a member on bob's process");
    eve.call("leave", json!(["room"])).await;
    until("bob's process to let the channel go", async || {
        held().await == 1
    })
    .await;
    ann.call("leave", json!(["room"])).await;
    until("ann's process to let the channel go", async || {
        held().await == 0
    })
    .await;
}

/// A subscriber that comes back on another process from the position it last saw gets what
/// it missed from Redis, once and in order, then the live pushes.
async fn a_subscriber_coming_back_on_another_process_gets_what_it_missed(backend: Backend) {
    let (a, b) = (
        Node::with_history(&backend).await,
        Node::with_history(&backend).await,
    );
    let (mut ann, mut bob) = (a.client().await, b.client().await);
    let (start, _) = ann.follow(None).await;
    assert_eq!(start["offset"], 0);
    for n in 1..=3 {
        bob.call("publish", json!(["log", [n]])).await;
    }
    for n in 1..=3 {
        let note = timed("a numbered push", ann.notification()).await;
        assert_eq!(
            note,
            json!({"jsonrpc": "2.0", "method": "log", "params": [n], "offset": n})
        );
    }
    drop(ann);
    for n in 4..=5 {
        bob.call("publish", json!(["log", [n]])).await;
    }
    let mut back = b.client().await;
    let (position, missed) = back.follow(Some(&at(&start, 3))).await;
    assert_eq!(position["recovered"], true);
    assert_eq!(position["offset"], 5);
    assert_eq!(offsets(&missed), [4, 5]);
    bob.call("publish", json!(["log", [6]])).await;
    let live = timed("the next live one", back.notification()).await;
    assert_eq!((&live["offset"], &live["params"]), (&json!(6), &json!([6])));
    assert!(!back.has_notification().await, "once");
}

/// A publisher goes on, thousands a second, while a subscriber drops and comes back on the
/// other process, again and again: every push arrives once and in order, those published while
/// it was coming back included (they reach its process both live and in what it reads).
async fn pushes_published_during_a_reconnect_arrive_once_and_in_order(backend: Backend) {
    const PUSHES: u64 = 5_000;
    let nodes = [
        Node::with_history(&backend).await,
        Node::with_history(&backend).await,
    ];
    let publisher = spec::with_history(spec::hub())
        .broker(backend.broker().connect().await.unwrap())
        .build();
    let mut reader = nodes[1].client().await;
    let (mut position, _) = reader.follow(None).await;
    let publishing = tokio::spawn(async move {
        for n in 1..=PUSHES {
            publisher.publish("log", [n]).unwrap();
            // About 5,000 a second: within the history kept (1,000) while the reader is away.
            if n % 5 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        publisher.broker_status().unwrap().lost
    });
    let mut seen = Vec::new();
    let mut round = 0;
    while seen.last() != Some(&PUSHES) {
        // Read a few live, then drop and come back on the other process.
        for _ in 0..50 {
            let note = timed("a push", reader.notification()).await;
            seen.push(note["offset"].as_u64().unwrap());
            if seen.last() == Some(&PUSHES) {
                break;
            }
        }
        let last = *seen.last().unwrap();
        drop(reader);
        round += 1;
        reader = nodes[round % 2].client().await;
        let (answer, missed) = reader.follow(Some(&at(&position, last))).await;
        assert_eq!(answer["recovered"], true, "round {round}");
        position = answer;
        seen.extend(offsets(&missed));
    }
    assert_eq!(
        publishing.await.unwrap(),
        0,
        "nothing lost on the way to Redis"
    );
    if let Some(at) = seen.windows(2).position(|pair| pair[0] >= pair[1]) {
        let around = &seen[at.saturating_sub(3)..(at + 3).min(seen.len())];
        panic!("out of order or doubled at {at}: {around:?}");
    }
    assert_eq!(
        seen,
        (1..=PUSHES).collect::<Vec<_>>(),
        "each once, in order"
    );
    assert!(round > 20, "came back {round} times");
}

/// The process a subscriber was on restarts: the history is in Redis, so nothing is lost.
/// Redis losing its data starts a new epoch, which the subscriber is told of, not hidden.
async fn history_in_redis_outlives_a_process_and_a_lost_redis_is_reported(mut backend: Backend) {
    let a = Node::with_history(&backend).await;
    let mut ann = a.client().await;
    let (start, _) = ann.follow(None).await;
    ann.call("publish", json!(["log", [1]])).await;
    assert_eq!(timed("one", ann.notification()).await["offset"], 1);
    a.kill().await;
    let b = Node::with_history(&backend).await;
    let mut bob = b.client().await;
    bob.call("publish", json!(["log", [2]])).await;
    let c = Node::with_history(&backend).await;
    let mut back = c.client().await;
    let (position, missed) = back.follow(Some(&at(&start, 1))).await;
    assert_eq!(position["recovered"], true);
    assert_eq!(offsets(&missed), [2]);

    // The Redis holding the stream restarts empty.
    let server = backend.server_of("{rpc:t:log}").await;
    server.stop().await;
    server.start_again().await;
    for client in [&mut bob, &mut back] {
        until("reconnection", async || {
            client.status().await["connected"] == true
        })
        .await;
    }
    let mut late = c.client().await;
    let (position, missed) = late.follow(Some(&at(&start, 2))).await;
    assert_eq!(
        position["recovered"], false,
        "the history was lost with Redis"
    );
    assert_ne!(position["epoch"], start["epoch"], "a new epoch");
    assert!(missed.is_empty());
}

/// Group notifications are numbered in Redis too, for members that join with a position.
async fn a_member_coming_back_to_a_group_on_another_process_gets_what_it_missed(backend: Backend) {
    let (a, b) = (
        Node::with_history(&backend).await,
        Node::with_history(&backend).await,
    );
    let (mut ann, mut bob) = (a.client().await, b.client().await);
    let start = ann.call("join_from", json!(["room", null])).await;
    bob.call("notify_group", json!(["room", "said", ["one"]]))
        .await;
    assert_eq!(timed("one", ann.notification()).await["offset"], 1);
    drop(ann);
    bob.call("notify_group", json!(["room", "said", ["two"]]))
        .await;
    let mut back = b.client().await;
    let position = back.call("join_from", json!(["room", at(&start, 1)])).await;
    assert_eq!(position["recovered"], true);
    let missed = std::mem::take(&mut back.notifications);
    assert_eq!(offsets(&missed), [2]);
    assert_eq!(missed[0]["params"], json!(["two"]));
}

/// On a cluster, each group's channel and members live on the master serving its slot: groups
/// on each of the three masters reach members on both processes, and each is held and kept
/// there alone.
#[tokio::test]
async fn groups_on_every_master_of_a_cluster_reach_both_processes() {
    let backend = Backend::cluster().await;
    let Backend::Cluster(cluster) = &backend else {
        unreachable!()
    };
    // A group served by each master.
    let mut rooms = [None, None, None];
    for n in 0.. {
        let room = format!("room-{n}");
        let master = cluster.master_of(&format!("{{rpc:g:{room}}}")).await;
        rooms[master].get_or_insert(room);
        if rooms.iter().all(Option::is_some) {
            break;
        }
    }
    let ([_a, _b], mut ann, mut bob) = two_processes(&backend).await;
    for (master, room) in rooms.iter().flatten().enumerate() {
        ann.call("join", json!([room])).await;
        bob.call("join", json!([room])).await;
        ann.call("notify_group", json!([room, "said", [room]]))
            .await;
        let said = json!({"jsonrpc": "2.0", "method": "said", "params": [room]});
        assert_eq!(timed("ann's copy", ann.notification()).await, said);
        assert_eq!(timed("bob's copy, across", bob.notification()).await, said);

        let channel = format!("{{rpc:g:{room}}}");
        let members = format!("{channel}:members");
        for (other, redis) in cluster.masters.iter().enumerate() {
            let held = redis.cli(&["PUBSUB", "SHARDNUMSUB", &channel]).await;
            let expected = if other == master { "2" } else { "0" };
            assert_eq!(
                held.lines().last(),
                Some(expected),
                "{room}'s channel on master {other}"
            );
        }
        let kept = cluster.masters[master].cli(&["EXISTS", &members]).await;
        assert_eq!(kept.trim(), "1", "{room}'s members on its master");
    }
}

/// A resharding moves a group's slot to another master while both processes have members:
/// Redis unsubscribes them from the old master, and they subscribe again on the new one, so
/// pushes after the move reach every member, and the members moved with the slot.
#[tokio::test]
async fn a_group_whose_slot_moves_to_another_master_is_followed() {
    let backend = Backend::cluster().await;
    let Backend::Cluster(cluster) = &backend else {
        unreachable!()
    };
    let ([_a, _b], mut ann, mut bob) = two_processes(&backend).await;
    ann.call("join", json!(["room"])).await;
    bob.call("join", json!(["room"])).await;
    let channel = "{rpc:g:room}";
    let from = cluster.master_of(channel).await;
    let to = (from + 1) % 3;

    cluster.move_slot(channel, to).await;
    let on = |master: usize| async move {
        let counts = cluster.masters[master]
            .cli(&["PUBSUB", "SHARDNUMSUB", channel])
            .await;
        counts.lines().last().map(str::to_owned)
    };
    until(
        "both processes to subscribe on the new master",
        async || on(to).await.as_deref() == Some("2"),
    )
    .await;
    assert_eq!(
        on(from).await.as_deref(),
        Some("0"),
        "the old master let go"
    );
    for client in [&mut ann, &mut bob] {
        until("the processes to be connected again", async || {
            client.status().await["connected"] == true
        })
        .await;
    }
    bob.call("notify_group", json!(["room", "said", ["moved"]]))
        .await;
    let said = json!({"jsonrpc": "2.0", "method": "said", "params": ["moved"]});
    assert_eq!(
        timed("ann's copy after the move", ann.notification()).await,
        said
    );
    assert_eq!(
        timed("bob's copy after the move", bob.notification()).await,
        said
    );
    assert_eq!(ann.members("room").await.len(), 2, "the members moved too");
}

/// Each test runs on a single Redis (`single::NAME`) and on a Redis Cluster of three masters
/// (`cluster::NAME`).
macro_rules! on_single_and_cluster {
    ($($test:ident),* $(,)?) => {
        mod single {
            use super::common::redis::Backend;
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(Backend::single().await).await
                }
            )*
        }
        mod cluster {
            use super::common::redis::Backend;
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(Backend::cluster().await).await
                }
            )*
        }
    };
}

on_single_and_cluster!(
    a_group_notification_reaches_members_on_both_processes,
    a_topic_publish_and_its_retained_value_cross_processes,
    a_notification_to_a_connection_id_reaches_its_process,
    a_killed_process_leaves_no_ghosts,
    a_redis_restart_is_survived,
    a_process_that_falls_behind_counts_what_it_missed_and_subscribes_again,
    a_push_sent_right_after_a_join_is_answered_always_arrives,
    a_publish_sent_right_after_a_subscribe_is_answered_always_arrives,
    a_hub_dropped_right_after_publishing_loses_nothing,
    a_flushed_publish_outlives_its_runtime,
    members_on_every_process_see_one_order,
    a_retained_value_racing_a_first_subscriber_arrives_once,
    presence_reads_every_process_members_with_what_they_joined_with,
    a_killed_process_s_members_are_announced_as_gone,
    a_group_s_channel_is_held_while_it_has_members_here,
    a_subscriber_coming_back_on_another_process_gets_what_it_missed,
    pushes_published_during_a_reconnect_arrive_once_and_in_order,
    history_in_redis_outlives_a_process_and_a_lost_redis_is_reported,
    a_member_coming_back_to_a_group_on_another_process_gets_what_it_missed,
);
