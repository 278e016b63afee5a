//! A TCP proxy on a free loopback port, between a client and a server, that can cut every
//! connection through it at once (with a reset, as a lost network does), refuse new ones for a
//! while, and send new ones elsewhere: what a client that reconnects is tested against.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

struct Shared {
    target: Mutex<SocketAddr>,
    /// Cancelled to cut the connections now open; replaced for those that follow.
    cut: Mutex<CancellationToken>,
    refusing: AtomicBool,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            target: Mutex::new(target),
            cut: Mutex::new(CancellationToken::new()),
            refusing: AtomicBool::new(false),
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept(listener, shared.clone(), stop.clone()));
        Proxy { addr, shared, stop }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Resets every connection through the proxy now.
    pub fn cut(&self) {
        let mut cut = self.shared.cut.lock().unwrap();
        cut.cancel();
        *cut = CancellationToken::new();
    }

    /// While `refusing`, new connections are reset at once.
    pub fn refuse(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Sends new connections to `target`.
    pub fn point_to(&self, target: SocketAddr) {
        *self.shared.target.lock().unwrap() = target;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let client = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => continue,
            },
        };
        if shared.refusing.load(Ordering::SeqCst) {
            reset(client);
            continue;
        }
        let target = *shared.target.lock().unwrap();
        let cut = shared.cut.lock().unwrap().clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else {
                reset(client);
                return;
            };
            let (mut client, mut server) = (client, server);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                () = cut.cancelled() => {
                    reset(client);
                    reset(server);
                }
            }
        });
    }
}

/// Closes with a reset rather than an orderly close: the peer learns nothing more.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
