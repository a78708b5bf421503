//! A stream that takes a few bytes per write and is often not ready: frames written inline by
//! callers and by the writer task must still reach the server whole and in order.

mod support;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use support::{create_file, data, within};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use zerofs_memserver::{Config, Generation, MemServer};
use zerofs_session::{Connector, Options, Session, Transport};

/// Passes reads through; accepts at most `step` bytes per write, and answers every other
/// write poll with `Pending` (waking at once).
struct Trickle {
    inner: UnixStream,
    step: usize,
    flip: bool,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Trickle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.flip = !self.flip;
        if self.flip {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let n = buf.len().min(self.step);
        Pin::new(&mut self.inner).poll_write(cx, &buf[..n])
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[derive(Debug)]
struct TrickleConnector {
    path: std::path::PathBuf,
    step: usize,
}

impl Connector for TrickleConnector {
    fn connect(&self) -> BoxFuture<'_, io::Result<Transport>> {
        Box::pin(async move {
            let inner = UnixStream::connect(&self.path).await?;
            Ok(Transport::new(Trickle {
                inner,
                step: self.step,
                flip: false,
            }))
        })
    }
    fn describe(&self) -> String {
        "trickle".into()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_arrive_whole_through_a_trickling_stream() {
    for step in [1usize, 7, 4096] {
        let server = MemServer::start(Config::new(Generation::Gen2).ephemeral_unix())
            .await
            .unwrap();
        let connector = TrickleConnector {
            path: server.unix_path().unwrap().to_path_buf(),
            step,
        };
        let opts = Options {
            msize: 64 * 1024,
            ..Options::default()
        };
        let s = Arc::new(Session::connect_with(connector, opts).await.unwrap());
        let dir = create_file(&s, "f").await;
        let payload = data(if step == 1 { 20_000 } else { 300_000 }, step as u8);
        // Sequential requests (inline writes) and a pipelined bulk write (the writer task).
        assert_eq!(
            within(s.write(&dir, 0, payload.clone())).await.unwrap(),
            payload.len() as u64
        );
        let back = within(s.read(&dir, 0, payload.len() + 10)).await.unwrap();
        assert_eq!(back, payload, "step {step}");
        // Concurrent small requests, each answered for its own fid.
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    let (_f, stat) = s
                        .walk_getattr(s.root(), &[Bytes::from_static(b"f")])
                        .await?;
                    Ok::<_, zerofs_session::SessionError>(stat.size)
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(
                within(t).await.unwrap().unwrap(),
                payload.len() as u64,
                "step {step}"
            );
        }
        assert_eq!(
            s.stats().reconnects,
            0,
            "no frame was ever cut: step {step}"
        );
    }
}

/// On an idle connection, the clunk of a dropped fid waits for the next request and goes out
/// in the same write; with nothing after it, it still goes out (after the linger).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_clunks_ride_with_the_next_request() {
    const N: u64 = 200;
    let mut writes = Vec::new();
    for linger in [
        std::time::Duration::from_millis(500),
        std::time::Duration::ZERO,
    ] {
        let server = MemServer::start(Config::new(Generation::Gen2))
            .await
            .unwrap();
        let opts = Options {
            clunk_linger: linger,
            ..Options::default()
        };
        let s = Session::connect(&server.target(), opts).await.unwrap();
        let base = s.outstanding_fids();
        let before = s.stats().writes;
        for _ in 0..N {
            let (fid, _) = within(s.walk_getattr(s.root(), &[])).await.unwrap();
            drop(fid);
        }
        writes.push(s.stats().writes - before);
        // The last clunk goes out on its own.
        assert!(
            support::eventually(|| s.outstanding_fids() == base).await,
            "linger {linger:?}: the last fid was never clunked"
        );
        assert_eq!(
            server
                .counters()
                .frames(zerofs_session::proto::MessageType::Tclunk),
            N
        );
    }
    let (lazy, eager) = (writes[0], writes[1]);
    assert!(
        lazy <= N + N / 5,
        "{lazy} writes for {N} walks with lazy clunks"
    );
    assert!(
        eager > lazy,
        "eager clunks ({eager} writes) cost more writes than lazy ones ({lazy})"
    );
}
