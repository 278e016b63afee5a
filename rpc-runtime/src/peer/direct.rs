//! A server connection's TCP stream, written by whoever has bytes for it.
//!
//! A burst pushed to a connection whose queue is empty and whose task is not writing goes
//! straight to the socket from the pushing task: no queue entry, no wake of the connection's
//! task, no poll of it; when the socket takes it all (the usual case), that is the whole cost.
//! The connection's task writes through the same [`Direct`], and everything anyone writes is
//! taken whole, in order, under one lock: onto the socket as far as it takes it without waiting,
//! the rest kept behind, for the task's next flush. Frames are only ever handed over whole
//! (tungstenite writes its buffer of whole frames, a burst is whole frames), so the stream
//! never has one writer's bytes inside another's frame.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::Sleep;

/// Past this, what was kept behind is given back to the allocator once it has been written, so
/// that a backlog's buffer does not outlive it.
const KEPT_CAPACITY: usize = 64 * 1024;

/// The writing side of a connection's stream, shared by its task and whoever pushes to it.
pub(crate) struct Direct {
    writer: Mutex<Writer>,
}

struct Writer {
    half: OwnedWriteHalf,
    /// What was taken and not yet on the socket, oldest first.
    behind: BytesMut,
    /// How long a flush may find the socket taking nothing before it fails.
    timeout: Duration,
    /// Armed when a flush finds the socket full, disarmed by one that progresses.
    stalled: Option<Pin<Box<Sleep>>>,
}

/// What a direct write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// All of it is on the socket.
    All,
    /// Some of it waits behind, for the connection's task to flush.
    Behind,
}

impl Direct {
    fn lock(&self) -> MutexGuard<'_, Writer> {
        // Every change to the writer is complete before the lock is released.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `bytes` now, if nothing is waiting before them; `None` if something is, so that
    /// the caller queues them instead and what waits stays bounded by one write.
    pub(crate) fn try_write(&self, bytes: &[u8]) -> Option<io::Result<Written>> {
        let mut writer = self.lock();
        if !writer.behind.is_empty() {
            return None;
        }
        Some(writer.take(bytes).map(|()| match writer.behind.is_empty() {
            true => Written::All,
            false => Written::Behind,
        }))
    }
}

impl Writer {
    /// Takes all of `bytes`: onto the socket as far as it takes them without waiting, the rest
    /// behind what already waits.
    fn take(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut written = 0;
        if self.behind.is_empty() {
            match self.half.try_write(bytes) {
                Ok(n) => written = n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
        }
        self.behind.extend_from_slice(&bytes[written..]);
        Ok(())
    }

    /// Writes what waits; fails once the socket has taken nothing for the timeout.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.behind.is_empty() {
            match Pin::new(&mut self.half).poll_write(cx, &self.behind) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.behind.advance(n);
                    self.stalled = None;
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    let timeout = self.timeout;
                    let stalled = self
                        .stalled
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                    ready!(stalled.as_mut().poll(cx));
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the peer took no bytes within the write timeout",
                    )));
                }
            }
        }
        self.stalled = None;
        if self.behind.capacity() > KEPT_CAPACITY {
            self.behind = BytesMut::new();
        }
        Poll::Ready(Ok(()))
    }
}

/// The connection's task's side of the stream: reads, and writes through the [`Direct`] it
/// shares. A write is always taken whole at once; a flush waits until the socket has it all.
pub(crate) struct DirectIo {
    direct: Arc<Direct>,
    read: OwnedReadHalf,
    /// Read past the upgrade's request by hyper, and so first in line.
    unread: Bytes,
}

impl DirectIo {
    /// Splits `stream`: its reading side and the task's writes (with `unread`, what was read past
    /// the handshake), and the writer it shares with whoever pushes to the connection.
    pub(crate) fn new(stream: TcpStream, unread: Bytes, timeout: Duration) -> Self {
        let (read, write) = stream.into_split();
        // Copied: a slice would keep the whole of hyper's read buffer alive, even empty.
        let unread = match unread.is_empty() {
            true => Bytes::new(),
            false => Bytes::copy_from_slice(&unread),
        };
        let direct = Arc::new(Direct {
            writer: Mutex::new(Writer {
                half: write,
                behind: BytesMut::new(),
                timeout,
                stalled: None,
            }),
        });
        DirectIo {
            direct,
            read,
            unread,
        }
    }

    /// The writer, for pushers: held weakly, so that the socket closes with the task.
    pub(crate) fn writer(&self) -> Weak<Direct> {
        Arc::downgrade(&self.direct)
    }
}

impl AsyncRead for DirectIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.unread.is_empty() {
            let n = self.unread.len().min(buf.remaining());
            buf.put_slice(&self.unread[..n]);
            self.unread.advance(n);
            if self.unread.is_empty() {
                self.unread = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for DirectIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.direct.lock().take(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.direct.lock().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut writer = self.direct.lock();
        ready!(writer.poll_flush(cx))?;
        Pin::new(&mut writer.half).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    async fn pair() -> (Arc<Direct>, DirectIo, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let io = DirectIo::new(
            server,
            Bytes::from_static(b"early "),
            Duration::from_secs(5),
        );
        (io.writer().upgrade().unwrap(), io, client)
    }

    #[tokio::test]
    async fn writes_from_both_sides_arrive_whole_and_in_order() {
        let (direct, mut io, mut client) = pair().await;
        io.write_all(b"task ").await.unwrap();
        assert_eq!(direct.try_write(b"push ").unwrap().unwrap(), Written::All);
        io.write_all(b"task").await.unwrap();
        io.flush().await.unwrap();
        let mut got = [0; 14];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"task push task");

        // What hyper read past the handshake comes first.
        client.write_all(b"late").await.unwrap();
        let mut read = [0; 10];
        io.read_exact(&mut read).await.unwrap();
        assert_eq!(&read, b"early late");
    }

    #[tokio::test]
    async fn a_full_socket_keeps_the_rest_behind_and_refuses_direct_writes_until_flushed() {
        let (direct, mut io, mut client) = pair().await;
        let chunk = vec![7u8; 1 << 20];
        // Far more than loopback's buffers hold while the client reads nothing.
        let mut written = Written::All;
        for _ in 0..64 {
            written = direct.try_write(&chunk).unwrap().unwrap();
            if written == Written::Behind {
                break;
            }
        }
        assert_eq!(written, Written::Behind);
        assert!(
            direct.try_write(b"x").is_none(),
            "something waits: queue instead"
        );
        let reading = tokio::spawn(async move {
            let mut all = Vec::new();
            client.read_to_end(&mut all).await.unwrap();
            all
        });
        tokio::time::timeout(Duration::from_secs(10), io.flush())
            .await
            .expect("the reader takes it all")
            .unwrap();
        // Nothing waits now: written directly again (all of it, or kept for the shutdown's flush).
        assert!(direct.try_write(b"!").unwrap().is_ok());
        io.shutdown().await.unwrap();
        drop((io, direct));
        let all = reading.await.unwrap();
        assert_eq!(all.last(), Some(&b'!'));
        assert!(all[..all.len() - 1].iter().all(|&b| b == 7));
        assert_eq!(
            all.len() % (1 << 20),
            1,
            "whole chunks and the mark, nothing lost"
        );
    }
}
