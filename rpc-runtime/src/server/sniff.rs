//! Which HTTP a plain connection speaks: HTTP/2 with prior knowledge (h2c) opens with a fixed
//! preface, anything else is HTTP/1. Over TLS, ALPN tells instead.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// What every HTTP/2 client sends first (RFC 9113, 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Version {
    Http1,
    Http2,
}

/// Reads until the bytes leave the preface or complete it, within `timeout` (the header read
/// timeout: a client that sends nothing is not held longer than one that sends half a
/// request). `None` if the client sent nothing in time or the read failed. What was read is
/// handed back in front of the rest.
pub(super) async fn sniff<I>(mut io: I, timeout: Duration) -> Option<(Version, Replay<I>)>
where
    I: AsyncRead + Unpin,
{
    let (mut read, mut filled) = ([0; PREFACE.len()], 0);
    let reading = async {
        loop {
            let got = io.read(&mut read[filled..]).await?;
            filled += got;
            if got == 0 || read[..filled] != PREFACE[..filled] {
                return Ok::<_, io::Error>(Version::Http1);
            }
            if filled == PREFACE.len() {
                return Ok(Version::Http2);
            }
        }
    };
    let version = match tokio::time::timeout(timeout, reading).await {
        Ok(Ok(version)) => version,
        Ok(Err(err)) => {
            tracing::debug!(%err, "reading a connection's first bytes failed");
            return None;
        }
        Err(_) => {
            tracing::debug!("a connection sent no request within the header read timeout");
            return None;
        }
    };
    Some((
        version,
        Replay {
            read: Bytes::copy_from_slice(&read[..filled]),
            io,
        },
    ))
}

/// A socket with the bytes already read from it put back in front.
pub(super) struct Replay<I> {
    read: Bytes,
    io: I,
}

impl<I> Replay<I> {
    /// The bytes not yet read again, and the socket.
    pub(super) fn into_parts(self) -> (Bytes, I) {
        (self.read, self.io)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Replay<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.read.is_empty() {
            let n = self.read.len().min(buf.remaining());
            buf.put_slice(&self.read[..n]);
            self.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Replay<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn sniffed(sent: &[&[u8]]) -> (Version, Vec<u8>) {
        let (mut client, server) = tokio::io::duplex(64);
        let sent: Vec<Vec<u8>> = sent.iter().map(|part| part.to_vec()).collect();
        let all = sent.concat();
        let writer = tokio::spawn(async move {
            for part in sent {
                client.write_all(&part).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            client
        });
        let (version, mut replay) = sniff(server, Duration::from_secs(5)).await.unwrap();
        let _client = writer.await.unwrap();
        let mut again = vec![0; all.len()];
        replay.read_exact(&mut again).await.unwrap();
        assert_eq!(again, all, "every byte read is read again, in order");
        (version, again)
    }

    #[tokio::test]
    async fn the_preface_is_http2_even_in_pieces_and_anything_else_http1() {
        assert_eq!(sniffed(&[PREFACE]).await.0, Version::Http2);
        assert_eq!(
            sniffed(&[&PREFACE[..3], &PREFACE[3..20], &PREFACE[20..]])
                .await
                .0,
            Version::Http2
        );
        assert_eq!(sniffed(&[b"POST / HTTP/1.1\r\n"]).await.0, Version::Http1);
        assert_eq!(sniffed(&[b"PRI * HTTP/1.1"]).await.0, Version::Http1);
    }

    #[tokio::test]
    async fn a_client_that_sends_nothing_is_let_go_after_the_timeout() {
        let (_client, server) = tokio::io::duplex(64);
        let sniffing = sniff(server, Duration::from_millis(50));
        let sniffed = tokio::time::timeout(Duration::from_secs(5), sniffing).await;
        assert!(sniffed.expect("the timeout ends it").is_none());
    }
}
