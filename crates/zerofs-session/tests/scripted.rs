//! More tests over a memserver [`Pair`] (and a scripted peer): the remaining typed
//! operations, msize shrinking across a reconnect, refused re-attaches, counters and tracing
//! spans, and lifecycle races.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use support::*;
use zerofs_memserver::{Generation, ReplyLoss};
use zerofs_session::proto::consts::{errno, open};
use zerofs_session::proto::*;
use zerofs_session::{Options, Session, SessionError};

/// Every request of type `ty`, as long as the rule lasts.
fn every(ty: MessageType) -> ReplyLoss {
    ReplyLoss::next_n(ty, u32::MAX)
}

#[tokio::test(start_paused = true)]
async fn lcreateattr_creates_an_open_fid_that_survives_replay() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    server.create_dir_all("d1").unwrap();
    let base = s.outstanding_fids();
    let (dir, _) = s.walk(s.root(), &names(&["d1"])).await.unwrap();
    let (file, r) = s
        .lcreateattr(
            &dir,
            Bytes::from_static(b"new"),
            open::RDWR | open::CREAT | open::EXCL | open::TRUNC,
            0o100644,
            0,
        )
        .await
        .unwrap();
    assert_eq!(r.stat.mode, 0o100644);
    assert_eq!(
        file.qid(),
        Some(r.stat.qid),
        "the fid records the new file's qid"
    );
    assert_ne!(file.id(), dir.id(), "dfid is left unchanged");
    assert_eq!(server.live_fids(), 3);
    assert_eq!(
        s.write(&file, 0, Bytes::from_static(b"hello"))
            .await
            .unwrap(),
        5
    );
    s.force_reconnect();
    assert_eq!(
        within(s.write(&file, 5, Bytes::from_static(b"again")))
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        server.seen(MessageType::Trebind),
        2,
        "dir and file rebound by inode"
    );
    assert_eq!(
        server.seen(MessageType::Tlopen),
        1,
        "reopened once, after the rebind"
    );
    assert_eq!(&s.read(&file, 0, 100).await.unwrap()[..], b"helloagain");
    drop((file, dir));
    assert!(settled(|| s.outstanding_fids() == base && server.live_fids() == 1).await);
}

#[tokio::test(start_paused = true)]
async fn xattrwalk_fids_are_recorded_released_and_never_replayed() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    seed_file(&server, "f");
    server
        .set_xattr("f", b"user.a", b"sixteen bytes...")
        .unwrap();
    let base = s.outstanding_fids();
    let (file, _) = s.walk(s.root(), &names(&["f"])).await.unwrap();
    let (x, size) = s
        .xattrwalk(&file, Bytes::from_static(b"user.a"))
        .await
        .unwrap();
    assert_eq!(size, 16);
    assert_eq!(server.live_fids(), 3);
    let value = s.call(Message::Tread(Tread {
        fid: x.id(),
        offset: 0,
        count: 100,
    }));
    assert!(
        matches!(value.await.unwrap(), Message::Rread(r) if &r.data[..] == b"sixteen bytes...")
    );
    let clunks = server.seen(MessageType::Tclunk);
    drop(x);
    assert!(
        settled(|| server.seen(MessageType::Tclunk) == clunks + 1 && server.live_fids() == 2).await
    );

    let e = s
        .xattrwalk(&file, Bytes::from_static(b"user.none"))
        .await
        .unwrap_err();
    assert!(matches!(e, SessionError::Server(errno::ENODATA)), "{e}");
    assert_eq!(
        s.outstanding_fids(),
        base + 1,
        "a refused xattrwalk leaves no fid"
    );

    // An xattr fid cannot be restored: it goes stale, the file fid does not.
    let (x, _) = s.xattrwalk(&file, Bytes::new()).await.unwrap();
    s.force_reconnect();
    within(s.call(getattr_of(file.id()))).await.unwrap();
    assert!(x.is_stale());
    let e = s
        .call(Message::Tread(Tread {
            fid: x.id(),
            offset: 0,
            count: 10,
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SessionError::Stale { fid } if fid == x.id()),
        "{e}"
    );
    drop((x, file));
    assert!(settled(|| s.outstanding_fids() == base && server.live_fids() == 1).await);
}

#[tokio::test(start_paused = true)]
async fn remove_releases_the_fid_on_success_and_clunks_it_on_failure() {
    let Pair { server, session: s } = Pair::start(Generation::Plain).await;
    seed_file(&server, "gone");
    seed_file(&server, "kept");
    let base = s.outstanding_fids();
    let (f, _) = s.walk(s.root(), &names(&["gone"])).await.unwrap();
    s.remove(f).await.unwrap();
    assert_eq!(server.seen(MessageType::Tremove), 1);
    assert!(
        s.walk(s.root(), &names(&["gone"])).await.is_err(),
        "removed"
    );
    assert!(settled(|| s.outstanding_fids() == base).await);
    assert_eq!(
        server.seen(MessageType::Tclunk),
        0,
        "a removed fid needs no clunk"
    );
    assert_eq!(server.live_fids(), 1);

    // ZeroFS answers ENOSYS and keeps the fid: it must be clunked.
    server.refuse(every(MessageType::Tremove), errno::ENOSYS);
    let (g, _) = s.walk(s.root(), &names(&["kept"])).await.unwrap();
    let e = s.remove(g).await.unwrap_err();
    assert!(matches!(e, SessionError::Server(errno::ENOSYS)), "{e}");
    assert!(settled(|| s.outstanding_fids() == base && server.live_fids() == 1).await);
    assert_eq!(server.seen(MessageType::Tclunk), 1);
}

#[tokio::test(start_paused = true)]
async fn chunks_follow_an_msize_that_shrinks_across_a_reconnect() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    seed_file(&server, "f");
    let (f, _) = s.walk(s.root(), &names(&["f"])).await.unwrap();
    s.lopen(&f, open::RDWR).await.unwrap();
    assert_eq!(s.read(&f, 0, 200_000).await.unwrap(), expected(0..200_000));
    assert_eq!(server.largest_io(), 65536 - 24);

    // Requests cut for 64 KiB are in flight (unanswered) when the server comes back smaller.
    let (g, _) = s.walk(s.root(), &names(&["f"])).await.unwrap();
    s.lopen(&g, open::RDONLY).await.unwrap();
    server.set_silent(true);
    let reader = {
        let s = s.clone();
        tokio::spawn(async move { s.read(&g, 1000, 250_000).await })
    };
    assert!(settled(|| s.stats().in_flight >= 3).await);
    server.set_max_msize(Some(8192));
    server.clear_recorded();
    server.set_silent(false);
    s.force_reconnect();
    let data = within(reader).await.unwrap().unwrap();
    assert_eq!(data, expected(1000..251_000));
    assert_eq!(s.msize(), 8192);
    assert!(
        server.largest_io() <= 8192 - 24,
        "resent reads were re-cut: {}",
        server.largest_io()
    );
    assert_eq!(s.stats().protocol_violations, 0);

    let payload = Bytes::from(vec![7u8; 100_000]);
    assert_eq!(s.write(&f, 0, payload).await.unwrap(), 100_000);
    assert!(server.largest_io() <= 8192 - 24);
    assert_eq!(s.write_chunk(&f), 8192 - 24);

    // A later reconnect to a server offering more does not grow it back.
    server.set_max_msize(None);
    s.force_reconnect();
    within(s.call(getattr_of(f.id()))).await.unwrap();
    assert_eq!(s.msize(), 8192, "msize may only shrink");
}

#[tokio::test]
async fn a_refused_reattach_with_an_aname_fails_closed() {
    let o = Options {
        aname: "/export".into(),
        ..opts()
    };
    // 0.19.1 ignores the aname.
    let prepare = |server: &zerofs_memserver::ServerHandle| {
        seed_file(server, "d1/f");
    };
    let Pair { server, session: s } = Pair::start_with(Generation::Plain, prepare, o).await;
    let (f, _) = s.walk(s.root(), &names(&["d1", "f"])).await.unwrap();
    let walks = server.seen(MessageType::Twalk);
    server.refuse(every(MessageType::Tattach), errno::EACCES);
    s.force_reconnect();
    let e = within(s.call(getattr_of(s.root().id()))).await.unwrap_err();
    assert!(
        matches!(e, SessionError::Stale { fid } if fid == s.root().id()),
        "{e}"
    );
    assert!(s.root().is_stale());
    let e = s.call(getattr_of(f.id())).await.unwrap_err();
    assert!(matches!(e, SessionError::Stale { .. }), "{e}");
    let e = s.walk(s.root(), &names(&["d1"])).await.unwrap_err();
    assert!(matches!(e, SessionError::Stale { .. }), "{e}");
    assert_eq!(e.errno(), errno::ESTALE);
    let anames: Vec<Bytes> = (server.recorded().into_iter())
        .filter_map(|r| match r.frame.message {
            Message::Tattach(a) => Some(a.aname),
            _ => None,
        })
        .collect();
    assert_eq!(anames.len(), 2, "one attach per connection, no fallback");
    assert!(
        anames.iter().all(|a| &a[..] == b"/export"),
        "never re-attached with another aname: {anames:?}"
    );
    assert_eq!(
        server.seen(MessageType::Twalk),
        walks,
        "nothing walked on the refused export"
    );
    assert_eq!(s.stats().fids_stale, 2);
}

#[tokio::test(start_paused = true)]
async fn counters_count_bytes_requests_reconnects_and_in_flight() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    seed_file(&server, "f");
    let before = s.stats();
    assert!(
        before.bytes_sent > 0 && before.bytes_received > 0,
        "handshake counted"
    );
    assert_eq!(before.in_flight, 0);
    assert_eq!(before.reconnects, 0);
    let msg = getattr_of(s.root().id());
    let mut reply_len = 0;
    for _ in 0..3 {
        let r = s.call(msg.clone()).await.unwrap();
        reply_len = Frame::new(0, r).encoded_len(Dialect::Zerofs2);
    }
    let request_len = Frame::new(0, msg).encoded_len(Dialect::Zerofs2);
    let after = s.stats();
    assert_eq!(after.requests, before.requests + 3);
    assert_eq!(after.bytes_sent, before.bytes_sent + 3 * request_len as u64);
    assert_eq!(
        after.bytes_received,
        before.bytes_received + 3 * reply_len as u64
    );

    let (f, _) = s.walk(s.root(), &names(&["f"])).await.unwrap();
    s.force_reconnect();
    within(s.call(getattr_of(f.id()))).await.unwrap();
    let again = s.stats();
    assert_eq!(again.reconnects, 1);
    assert_eq!(again.fids_replayed, 2, "root and f");

    server.set_silent(true);
    let pending = (0..5)
        .map(|_| {
            let s = s.clone();
            let m = getattr_of(f.id());
            tokio::spawn(async move { s.call(m).await })
        })
        .collect::<Vec<_>>();
    assert!(settled(|| s.stats().in_flight == 5).await);
    server.set_silent(false);
    s.force_reconnect();
    for p in pending {
        within(p).await.unwrap().unwrap();
    }
    assert!(settled(|| s.stats().in_flight == 0).await);
    assert_eq!(s.stats().reconnects, 2);
}

/// The in-flight gauge never wraps below zero (it used to be raised after the slot was
/// published, so a fast reply could lower it first) and never exceeds the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_gauge_stays_within_bounds_under_load() {
    let options = Options {
        max_in_flight: 8,
        ..opts()
    };
    let Pair { session: s, .. } = Pair::start_with(Generation::Gen2, |_| {}, options).await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A plain thread samples as fast as it can, outside the runtime's scheduling.
    let sampler = {
        let s = s.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut worst = 0;
            for _ in 0..50_000_000u64 {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                worst = worst.max(s.stats().in_flight);
            }
            worst
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..300 {
                s.call(getattr_of(s.root().id())).await.unwrap();
            }
        }));
    }
    for t in tasks {
        within(t).await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let worst = sampler.join().unwrap();
    assert!(worst <= 8, "in_flight peaked at {worst}");
    assert_eq!(s.stats().in_flight, 0);
}

/// Replies that create fids race with a reconnect forced from another thread: a fid a walk
/// returns must be usable (it used to be recorded live on the dead connection after replay
/// had taken its snapshot, and the new server did not know it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fids_created_while_a_connection_dies_are_usable() {
    let Pair { server, session: s } = Pair::start(Generation::Plain).await;
    seed_file(&server, "d1/f");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let s = s.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            for _ in 0..10_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                s.force_reconnect();
                tokio::time::sleep(Duration::from_micros(300)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for t in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..60 {
                let (f, _) = s.walk(s.root(), &names(&["d1", "f"])).await.unwrap();
                if let Err(e) = s.call(getattr_of(f.id())).await {
                    panic!("task {t} round {i}: fresh fid unusable: {e}");
                }
            }
        }));
    }
    for t in tasks {
        within(t).await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    within(killer).await.unwrap();
    assert!(s.stats().reconnects > 0);
    // Every walked fid was released before its task ended, so its clunk is queued (or, on a
    // connection still replaying, queued by the publish before any caller can send): the
    // responder answers in order, so once a later request is answered they all are.
    within(s.call(getattr_of(s.root().id()))).await.unwrap();
    assert_eq!(s.outstanding_fids(), 1);
}

/// Dropping the last `Session` while a reconnect attempt waits on a server that never answers
/// (and no connect timeout) closes that connection instead of leaking it forever.
#[tokio::test]
async fn dropping_the_session_abandons_a_hanging_reconnect() {
    let (conn, mut rx) = DuplexConnector::new();
    let server = tokio::spawn(async move {
        let mut p = Peer::new(rx.recv().await.unwrap());
        p.handshake(Dialect::Plain).await;
        let mut p2 = Peer::new(rx.recv().await.unwrap());
        // Read the Tversion and never answer it.
        assert!(p2.recv().await.is_some());
        (p, p2)
    });
    let s = Session::connect_with(
        conn,
        Options {
            connect_timeout: None,
            ..opts()
        },
    )
    .await
    .unwrap();
    s.force_reconnect();
    let (_p1, mut p2) = within(server).await.unwrap();
    drop(s);
    assert!(
        within(p2.recv()).await.is_none(),
        "the abandoned attempt's connection is closed"
    );
}

#[tokio::test]
async fn bulk_io_bounds_are_caller_input_not_allocations_or_offsets() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    seed_file(&server, "f");
    let (f, _) = s.walk(s.root(), &names(&["f"])).await.unwrap();
    s.lopen(&f, open::RDWR).await.unwrap();
    // "Read everything": no up-front allocation of usize::MAX bytes.
    let all = s.read(&f, 0, usize::MAX).await.unwrap();
    assert_eq!(all.len() as u64, FILE_SIZE);
    // Offsets near the end of the offset space never overflow.
    let tail = s.read(&f, u64::MAX - 10, 1 << 20).await.unwrap();
    assert!(tail.is_empty());
    // Only the addressable bytes are sent (a real file refuses them: too big).
    let e = s
        .write(&f, u64::MAX - 5, Bytes::from(vec![1u8; 300_000]))
        .await
        .unwrap_err();
    assert!(matches!(e, SessionError::Server(errno::EFBIG)), "{e}");
    assert_eq!(server.written(), 5, "only the addressable bytes");
    assert_eq!(
        s.write(&f, u64::MAX, Bytes::from_static(b"x"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(server.written(), 5, "nothing sent past the last offset");
}

/// Spans: one per request (with its type) and one per reconnect (attempt, cause, duration,
/// fids replayed).
#[tokio::test]
async fn tracing_spans_describe_requests_and_reconnects() {
    let capture = Capture::default();
    let spans = capture.spans.clone();
    let _guard = tracing::subscriber::set_default(capture);
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    seed_file(&server, "f");
    let (f, _) = s.walk(s.root(), &names(&["f"])).await.unwrap();
    s.force_reconnect();
    within(s.call(getattr_of(f.id()))).await.unwrap();
    let spans = spans.lock().unwrap().clone();
    let field = |span: &CapturedSpan, name: &str| {
        span.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let requests: Vec<_> = spans.iter().filter(|s| s.name == "9p.request").collect();
    assert!(
        requests
            .iter()
            .any(|s| field(s, "ty").as_deref() == Some("Twalk"))
    );
    assert!(
        requests
            .iter()
            .any(|s| field(s, "ty").as_deref() == Some("Tgetattr"))
    );
    let reconnects: Vec<_> = spans.iter().filter(|s| s.name == "9p.reconnect").collect();
    assert_eq!(reconnects.len(), 1, "{reconnects:?}");
    let r = reconnects[0];
    assert_eq!(field(r, "attempt").as_deref(), Some("0"));
    assert!(
        field(r, "cause").is_some_and(|c| c.contains("reconnect requested")),
        "{r:?}"
    );
    assert!(field(r, "duration_ms").is_some(), "{r:?}");
    assert_eq!(field(r, "replayed").as_deref(), Some("2"), "{r:?}");
    assert_eq!(field(r, "stale").as_deref(), Some("0"), "{r:?}");
}

#[derive(Debug, Clone)]
struct CapturedSpan {
    name: &'static str,
    fields: Vec<(String, String)>,
}

/// A minimal subscriber recording every span's name and fields (including later `record`s).
#[derive(Default)]
struct Capture {
    spans: Arc<Mutex<Vec<CapturedSpan>>>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut spans = self.spans.lock().unwrap();
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        spans.push(CapturedSpan {
            name: attrs.metadata().name(),
            fields,
        });
        tracing::span::Id::from_u64(spans.len() as u64)
    }
    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some(s) = spans.get_mut(span.into_u64() as usize - 1) {
            values.record(&mut Fields(&mut s.fields));
        }
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
