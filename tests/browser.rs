//! The chat example's page in real headless Chromium, driven over the DevTools protocol: two
//! pages in one room, a message typed in one appears in the other, a closed page is seen
//! leaving. Once on the in-process broker, once across two processes on Redis and on a Redis
//! Cluster; and a page whose server restarts keeps every message. Screenshots go to
//! `target/tmp/`. Without `chromium` (and `redis-server`) installed these fail.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use base64::Engine;
use common::redis::Backend;
use common::running::Running;
use common::{Ws, timed, until};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Headless Chromium with a fresh profile, and a DevTools connection to it.
struct Browser {
    child: Child,
    devtools: Ws,
    next_id: u64,
    profile: PathBuf,
}

/// A page, and the DevTools session attached to it.
struct Page {
    target: Value,
    session: Value,
}

impl Browser {
    async fn launch() -> Browser {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let profile = std::env::temp_dir().join(format!("chat-test-profile-{nanos}"));
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start chromium ({err}): install it (Debian: chromium)")
            });
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = timed("Chromium's DevTools address", async {
            loop {
                let line = stderr.next_line().await.unwrap().expect("Chromium exited");
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return url.to_owned();
                }
            }
        })
        .await;
        // Chromium keeps logging; read it so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
        Browser {
            child,
            devtools: Ws::connect(&url).await,
            next_id: 0,
            profile,
        }
    }

    /// Sends a DevTools command, to a page or to the browser; its result.
    async fn command(&mut self, page: Option<&Page>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let mut command = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(page) = page {
            command["sessionId"] = page.session.clone();
        }
        self.devtools.send_text(&command.to_string()).await;
        loop {
            // Events (no id) are not needed here.
            let answer = self.devtools.recv_json().await;
            if answer["id"] == self.next_id {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    async fn open(&mut self, url: &str) -> Page {
        let target = self
            .command(None, "Target.createTarget", json!({"url": url}))
            .await;
        let target = target["targetId"].clone();
        let attach = json!({"targetId": target, "flatten": true});
        let session = self.command(None, "Target.attachToTarget", attach).await;
        Page {
            target,
            session: session["sessionId"].clone(),
        }
    }

    async fn eval(&mut self, page: &Page, expression: &str) -> Value {
        let params = json!({"expression": expression, "returnByValue": true, "awaitPromise": true});
        let result = self.command(Some(page), "Runtime.evaluate", params).await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Waits until the page's `#id` element shows `text`.
    async fn wait_for_text(&mut self, page: &Page, id: &str, text: &str) {
        let expression =
            format!("document.getElementById({id:?})?.innerText.includes({text:?}) ?? false",);
        until(&format!("{text:?} in #{id}"), async || {
            self.eval(page, &expression).await == true
        })
        .await;
    }

    /// Waits until the page lists exactly `names` as the room's members.
    async fn wait_for_members(&mut self, page: &Page, names: &str) {
        let expression = format!("document.getElementById(\"members\")?.innerText === {names:?}");
        until(&format!("members {names:?}"), async || {
            self.eval(page, &expression).await == true
        })
        .await;
    }

    /// Types `text` into the page's `#id` field, as keystrokes do, then presses Enter.
    async fn type_into(&mut self, page: &Page, id: &str, text: &str) {
        self.eval(page, &format!("document.getElementById({id:?}).focus()"))
            .await;
        self.command(Some(page), "Input.insertText", json!({"text": text}))
            .await;
        for kind in ["keyDown", "keyUp"] {
            let key = json!({"type": kind, "key": "Enter", "code": "Enter",
                             "windowsVirtualKeyCode": 13, "text": "\r"});
            self.command(Some(page), "Input.dispatchKeyEvent", key)
                .await;
        }
    }

    async fn join(&mut self, page: &Page, name: &str) {
        self.wait_for_text(page, "status", "connected").await;
        self.type_into(page, "name", name).await;
        self.wait_for_text(page, "status", &format!("in lobby as {name}"))
            .await;
    }

    /// Saves a PNG of the page to `target/tmp/NAME`.
    async fn screenshot(&mut self, page: &Page, name: &str) -> PathBuf {
        let shot = self
            .command(
                Some(page),
                "Page.captureScreenshot",
                json!({"format": "png"}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .expect("base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    async fn close(&mut self, page: Page) {
        let target = json!({"targetId": page.target});
        self.command(None, "Target.closeTarget", target).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium first, or it writes into the profile while it is being removed.
        let _ = self.child.start_kill();
        for _ in 0..100 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Ann and Bob meet in the lobby, on `ann_url`'s and `bob_url`'s servers.
async fn two_pages_chat(ann_url: &str, bob_url: &str, screenshot: &str) {
    let mut browser = Browser::launch().await;
    let ann = browser.open(ann_url).await;
    let bob = browser.open(bob_url).await;
    browser.join(&ann, "ann").await;
    browser.join(&bob, "bob").await;
    browser.wait_for_text(&ann, "log", "bob joined lobby").await;
    // Bob's list is read on joining, from both processes; Ann's grows as Bob arrives.
    browser.wait_for_members(&bob, "ann, bob").await;
    browser.wait_for_members(&ann, "ann, bob").await;

    browser.type_into(&ann, "text", "hello from ann").await;
    browser.wait_for_text(&bob, "log", "ann:").await;
    browser.wait_for_text(&bob, "log", "hello from ann").await;
    browser.wait_for_text(&ann, "log", "hello from ann").await;
    browser.type_into(&bob, "text", "hi ann").await;
    browser.wait_for_text(&ann, "log", "hi ann").await;

    // Closing a page closes its WebSocket: the room sees ann leave.
    browser.close(ann).await;
    browser.wait_for_text(&bob, "log", "ann left lobby").await;
    browser.wait_for_members(&bob, "bob").await;
    let path = browser.screenshot(&bob, screenshot).await;
    println!("screenshot: {}", path.display());
}

fn page(chat: &Running) -> String {
    format!("http://{}/", chat.addr)
}

#[tokio::test]
async fn two_pages_in_one_room_see_each_others_messages() {
    let chat = Running::start("chat", &[]).await;
    two_pages_chat(&page(&chat), &page(&chat), "chat.png").await;
}

#[tokio::test]
async fn two_pages_on_two_processes_share_a_room_through_redis() {
    two_pages_on_two_processes(Backend::single().await, "chat-redis.png").await;
}

#[tokio::test]
async fn two_pages_on_two_processes_share_a_room_through_a_redis_cluster() {
    two_pages_on_two_processes(Backend::cluster().await, "chat-redis-cluster.png").await;
}

async fn two_pages_on_two_processes(backend: Backend, screenshot: &str) {
    let [option, url] = backend.args();
    let (one, two) = (
        Running::start("chat", &[&option, &url]).await,
        Running::start("chat", &[&option, &url]).await,
    );
    two_pages_chat(&page(&one), &page(&two), screenshot).await;
}

/// Ann's server restarts (killed, started again on its port) while Bob, on the other process,
/// goes on talking: Ann's page connects again by itself and is sent what the room said
/// meanwhile, from Redis, once each.
#[tokio::test]
async fn a_page_keeps_every_message_across_a_restart_of_its_server() {
    let backend = Backend::single().await;
    let [option, url] = backend.args();
    let (ann_server, bob_server) = (
        Running::start("chat", &[&option, &url]).await,
        Running::start("chat", &[&option, &url]).await,
    );
    let ann_addr = ann_server.addr.to_string();
    let mut browser = Browser::launch().await;
    let ann = browser.open(&page(&ann_server)).await;
    let bob = browser.open(&page(&bob_server)).await;
    browser.join(&ann, "ann").await;
    browser.join(&bob, "bob").await;
    browser.type_into(&bob, "text", "before").await;
    browser.wait_for_text(&ann, "log", "before").await;

    ann_server.kill().await;
    browser.wait_for_text(&ann, "status", "reconnecting").await;
    browser.wait_for_text(&bob, "log", "ann left lobby").await;
    for text in ["while you were away", "and again"] {
        browser.type_into(&bob, "text", text).await;
        browser.wait_for_text(&bob, "log", text).await;
    }
    let _ann_server = Running::start_on("chat", &ann_addr, &[&option, &url]).await;
    browser
        .wait_for_text(&ann, "status", "in lobby as ann")
        .await;
    browser.wait_for_text(&ann, "log", "and again").await;
    let count = |text: &str| {
        format!(
            "[...document.querySelectorAll('#log li')].filter(li => li.innerText.endsWith({text:?})).length"
        )
    };
    // Its own leaving too, which the survivor announced while it was away.
    for text in [
        "before",
        "ann left lobby",
        "while you were away",
        "and again",
    ] {
        assert_eq!(browser.eval(&ann, &count(text)).await, 1, "{text:?} once");
    }
    browser.type_into(&ann, "text", "back").await;
    browser.wait_for_text(&bob, "log", "back").await;
    let path = browser.screenshot(&ann, "chat-restart.png").await;
    println!("screenshot: {}", path.display());
}
