//! Frames a caller writes itself (inline) and frames the writer task writes share one stream:
//! frames sent while a partly written frame waits go behind it, so every frame reaches the
//! server whole, also when the caller that started one is cancelled.

mod support;

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::future::BoxFuture;
use support::{create_file, data, within};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use zerofs_memserver::{Config, Generation, MemServer};
use zerofs_session::{Connector, Options, Session, Transport};

/// What the client wrote, and how many more bytes the stream takes before it reports
/// `Pending` (as a full socket would).
#[derive(Default)]
struct Tap {
    log: Mutex<Vec<u8>>,
    budget: AtomicUsize,
    /// Most bytes one write takes.
    step: AtomicUsize,
    parked: Mutex<Option<Waker>>,
}

impl Tap {
    fn open(&self) {
        self.budget.store(usize::MAX, Ordering::SeqCst);
        if let Some(w) = self.parked.lock().unwrap().take() {
            w.wake();
        }
    }

    /// The lengths of the whole frames written so far, and the bytes of a cut one after them.
    fn frames(&self) -> (Vec<usize>, usize) {
        let log = self.log.lock().unwrap();
        let (mut lens, mut at) = (Vec::new(), 0);
        while log.len() >= at + 4 {
            let n = u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
            if log.len() < at + n {
                break;
            }
            lens.push(n);
            at += n;
        }
        (lens, log.len() - at)
    }
}

/// A unix stream whose writes go through a [`Tap`].
struct Tapped {
    inner: UnixStream,
    tap: Arc<Tap>,
}

impl AsyncRead for Tapped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tapped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let budget = self.tap.budget.load(Ordering::SeqCst);
        if budget == 0 {
            *self.tap.parked.lock().unwrap() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf
            .len()
            .min(budget)
            .min(self.tap.step.load(Ordering::SeqCst));
        let tap = self.tap.clone();
        let r = Pin::new(&mut self.inner).poll_write(cx, &buf[..n]);
        if let Poll::Ready(Ok(k)) = r {
            tap.log.lock().unwrap().extend_from_slice(&buf[..k]);
            if budget != usize::MAX {
                tap.budget.fetch_sub(k, Ordering::SeqCst);
            }
        }
        r
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Gathered into one buffer, so a write may end anywhere in the frames.
        let most = self.tap.step.load(Ordering::SeqCst);
        let all: Vec<u8> = bufs
            .iter()
            .flat_map(|b| b.iter().copied())
            .take(most)
            .collect();
        self.poll_write(cx, &all)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[derive(Debug)]
struct TapConnector {
    path: std::path::PathBuf,
    tap: Arc<Tap>,
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").finish_non_exhaustive()
    }
}

impl Connector for TapConnector {
    fn connect(&self) -> BoxFuture<'_, io::Result<Transport>> {
        Box::pin(async move {
            let inner = UnixStream::connect(&self.path).await?;
            Ok(Transport::new(Tapped {
                inner,
                tap: self.tap.clone(),
            }))
        })
    }
    fn describe(&self) -> String {
        "tapped".into()
    }
}

async fn tapped_session() -> (zerofs_memserver::ServerHandle, Session, Arc<Tap>) {
    let server = MemServer::start(Config::new(Generation::Gen2).ephemeral_unix())
        .await
        .unwrap();
    let tap = Arc::new(Tap::default());
    tap.step.store(usize::MAX, Ordering::SeqCst);
    tap.open();
    let connector = TapConnector {
        path: server.unix_path().unwrap().to_path_buf(),
        tap: tap.clone(),
    };
    let opts = Options {
        msize: 512 * 1024,
        ..Options::default()
    };
    let s = Session::connect_with(connector, opts).await.unwrap();
    (server, s, tap)
}

/// A big write the socket takes only a part of leaves its rest queued; a request sent then
/// goes behind it, and cancelling the write's caller leaves the frame whole on the wire.
#[tokio::test(flavor = "current_thread")]
async fn a_cut_frame_is_finished_before_the_next_even_when_its_caller_is_gone() {
    let (_server, s, tap) = tapped_session().await;
    let f = create_file(&s, "f").await;
    let payload = data(300_000, 7);
    let mark = tap.frames().0.len();
    tap.budget.store(1000, Ordering::SeqCst);
    let mut w = Box::pin(s.write(&f, 0, payload.clone()));
    assert!(futures::poll!(w.as_mut()).is_pending());
    let mut r = Box::pin(s.read(&f, 0, 10));
    assert!(futures::poll!(r.as_mut()).is_pending());
    let (lens, cut) = tap.frames();
    assert_eq!(
        (lens.len(), cut),
        (mark, 1000),
        "only the head of the write went out, nothing after it"
    );
    drop(w);
    tap.open();
    // The read waits for the write's rest: it then sees the whole payload's first bytes.
    assert_eq!(within(r).await.unwrap(), payload.slice(..10));
    let back = within(s.read(&f, 0, payload.len())).await.unwrap();
    assert_eq!(
        back, payload,
        "the cancelled write reached the server whole"
    );
    let (_, cut) = tap.frames();
    assert_eq!(cut, 0);
    let st = s.stats();
    assert_eq!((st.reconnects, st.protocol_violations), (0, 0));
}

/// Many callers at once, big writes and small reads mixed, through a stream that takes a few
/// KiB per write: every byte arrives where it belongs and no frame is ever cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_and_big_writes_keep_frames_whole() {
    let (_server, s, tap) = tapped_session().await;
    tap.step.store(16 * 1024, Ordering::SeqCst);
    let s = Arc::new(s);
    let names: [&'static str; 4] = ["a", "b", "c", "d"];
    let mut tasks = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let f = create_file(&s, name).await;
            let payload = data(1_500_000 + i * 1000, i as u8);
            // Pipelined: the session splits it into msize-sized writes in flight at once.
            let n = s.write(&f, 0, payload.clone()).await.unwrap();
            assert_eq!(n, payload.len() as u64);
            for k in 0..20u64 {
                let got = s.read(&f, k * 1000, 100).await.unwrap();
                assert_eq!(
                    got,
                    payload.slice(k as usize * 1000..k as usize * 1000 + 100)
                );
            }
            let back = s.read(&f, 0, payload.len()).await.unwrap();
            assert_eq!(back, payload, "file {name}");
        }));
    }
    for t in tasks {
        within(t).await.unwrap();
    }
    let (_, cut) = tap.frames();
    assert_eq!(cut, 0);
    let st = s.stats();
    assert_eq!((st.reconnects, st.protocol_violations), (0, 0));
}
