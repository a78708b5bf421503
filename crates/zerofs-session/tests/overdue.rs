//! Overdue requests: a server that answers everything (liveness probes included) except one
//! request. The connection looks alive, so stall detection never closes it; the request
//! timeout recovers the call instead: the request is flushed and resent on the same
//! connection when `Rflush` arrives, or, where the flush is refused or unanswered or the
//! request cannot be flushed, the connection is closed and the request resent on the next.
//! Scripted server over in-memory duplex streams, in paused (simulated) time: the two-minute
//! timeout costs no wall time, and a hang is caught by a one-hour simulated bound.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{DuplexConnector, Peer, data, names, opts, qid};
use zerofs_session::proto::consts::errno;
use zerofs_session::proto::*;
use zerofs_session::{Options, Session};

/// The request timeout of these tests (the default).
const TIMEOUT: Duration = Duration::from_secs(120);
/// The liveness window (the default).
const WINDOW: Duration = Duration::from_secs(3);
/// A hang guard in simulated time: far beyond every bound here.
const HANG: Duration = Duration::from_secs(3600);

/// What the server does with a `Tflush`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    Answer,
    Refuse,
    Ignore,
}

/// Requests the server saw after the handshake: (connection number, type).
#[derive(Debug, Default)]
struct Seen {
    frames: Vec<(usize, MessageType)>,
    connections: usize,
}

impl Seen {
    fn count(&self, ty: MessageType) -> usize {
        self.frames.iter().filter(|(_, t)| *t == ty).count()
    }
    fn on(&self, conn: usize, ty: MessageType) -> usize {
        self.frames.iter().filter(|&&f| f == (conn, ty)).count()
    }
}

/// A server that never answers the first `n` requests of type `skip` (counted over every
/// connection) and answers everything else, `Tflush` as `flush` says.
fn start(skip: MessageType, n: usize, flush: Flush) -> (DuplexConnector, Arc<Mutex<Seen>>) {
    let (connector, mut rx) = DuplexConnector::new();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let st = seen.clone();
    tokio::spawn(async move {
        while let Some(io) = rx.recv().await {
            let conn = {
                let mut s = st.lock().unwrap();
                s.connections += 1;
                s.connections
            };
            tokio::spawn(serve(Peer::new(io), conn, (skip, n), flush, st.clone()));
        }
    });
    (connector, seen)
}

async fn serve(
    mut peer: Peer,
    conn: usize,
    (skip, n): (MessageType, usize),
    flush: Flush,
    seen: Arc<Mutex<Seen>>,
) {
    peer.handshake(Dialect::Plain).await;
    while let Some(f) = peer.recv().await {
        let ty = f.message.msg_type();
        let nth = {
            let mut s = seen.lock().unwrap();
            s.frames.push((conn, ty));
            s.count(ty)
        };
        if ty == skip && nth <= n {
            continue; // never answered
        }
        let reply = match &f.message {
            Message::Tflush(_) => match flush {
                Flush::Answer => Message::Rflush,
                Flush::Refuse => Message::error(errno::EOPNOTSUPP),
                Flush::Ignore => continue,
            },
            Message::Tread(r) => Message::Rread(Rread {
                data: data(r.count.min(100) as usize, 9),
            }),
            Message::Tgetattr(g) => Message::Rgetattr(Rgetattr {
                valid: g.request_mask,
                stat: Stat {
                    qid: qid(0, true),
                    ..Stat::default()
                },
            }),
            Message::Twalk(w) => Message::Rwalk(Rwalk {
                wqids: (0..w.wnames.len())
                    .map(|i| qid(i as u64 + 10, false))
                    .collect(),
            }),
            Message::Tclunk(_) => Message::Rclunk,
            _ => Message::error(errno::ENOSYS),
        };
        peer.send(f.tag, reply).await;
    }
}

fn options() -> Options {
    Options {
        request_timeout: Some(TIMEOUT),
        backoff: zerofs_session::Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            jitter: 0.5,
        },
        ..opts()
    }
}

/// Reads 100 bytes at offset 0 of the root fid (the server does not mind); returns the bytes
/// and the simulated time the call took.
async fn read_timed(s: &Session) -> (bytes::Bytes, Duration) {
    let start = tokio::time::Instant::now();
    let got = tokio::time::timeout(HANG, s.read(s.root(), 0, 100))
        .await
        .expect("the call returned (no hang)")
        .expect("the call succeeded");
    (got, start.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_skipped_read_is_flushed_and_resent_on_the_same_connection() {
    let (connector, seen) = start(MessageType::Tread, 1, Flush::Answer);
    let s = Session::connect_with(connector, options()).await.unwrap();
    let (got, took) = read_timed(&s).await;
    assert_eq!(got, data(100, 9));
    assert!(
        took >= TIMEOUT && took < TIMEOUT + WINDOW,
        "recovered at the request timeout: took {took:?}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.connections, 1, "the live connection was kept");
    assert_eq!(seen.on(1, MessageType::Tflush), 1);
    assert_eq!(seen.on(1, MessageType::Tread), 2, "resent after Rflush");
    assert!(
        seen.on(1, MessageType::Tgetattr) >= 2,
        "liveness probes were answered meanwhile"
    );
    assert_eq!(s.stats().reconnects, 0);
    assert_eq!(s.stats().resends, 1);
    assert_eq!(s.stats().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn a_refused_flush_closes_the_connection_and_the_read_is_resent_on_the_next() {
    let (connector, seen) = start(MessageType::Tread, 1, Flush::Refuse);
    let s = Session::connect_with(connector, options()).await.unwrap();
    let (got, took) = read_timed(&s).await;
    assert_eq!(got, data(100, 9));
    assert!(
        took >= TIMEOUT + WINDOW && took < TIMEOUT + WINDOW + Duration::from_secs(2),
        "closed when the flush was not settled within the window: took {took:?}"
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.connections, 2, "reconnected");
        assert_eq!(seen.on(1, MessageType::Tflush), 1);
        assert_eq!(
            seen.on(2, MessageType::Tread),
            1,
            "resent on the new connection"
        );
    }
    assert_eq!(s.stats().reconnects, 1);
}

/// The refusal is remembered: the resent read, skipped again, is not flushed; its
/// connection is closed at its deadline, which is twice the timeout for a second attempt.
#[tokio::test(start_paused = true)]
async fn a_request_skipped_twice_gets_twice_the_time_and_a_refused_flush_is_not_retried() {
    let (connector, seen) = start(MessageType::Tread, 2, Flush::Refuse);
    let s = Session::connect_with(connector, options()).await.unwrap();
    let (got, took) = read_timed(&s).await;
    assert_eq!(got, data(100, 9));
    let bound = TIMEOUT + WINDOW + 2 * TIMEOUT;
    assert!(
        took >= bound && took < bound + Duration::from_secs(2),
        "took {took:?}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.count(MessageType::Tflush), 1, "asked once");
    assert_eq!(seen.connections, 3);
    assert_eq!(seen.on(3, MessageType::Tread), 1);
    assert_eq!(s.stats().reconnects, 2);
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_flush_closes_the_connection_and_the_read_is_resent_on_the_next() {
    let (connector, seen) = start(MessageType::Tread, 1, Flush::Ignore);
    let s = Session::connect_with(connector, options()).await.unwrap();
    let (got, took) = read_timed(&s).await;
    assert_eq!(got, data(100, 9));
    assert!(
        took >= TIMEOUT + WINDOW && took < TIMEOUT + WINDOW + Duration::from_secs(2),
        "took {took:?}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.connections, 2);
    assert_eq!(seen.on(2, MessageType::Tread), 1);
    assert_eq!(s.stats().reconnects, 1);
    assert_eq!(s.stats().resends, 1);
}

/// A walk creates a fid: flushing it could hide a fid the server made, so its connection is
/// closed at the deadline (a new connection frees whatever the server kept) and it is resent.
#[tokio::test(start_paused = true)]
async fn a_skipped_fid_creating_request_closes_the_connection_at_once() {
    let (connector, seen) = start(MessageType::Twalk, 1, Flush::Answer);
    let s = Session::connect_with(connector, options()).await.unwrap();
    let start = tokio::time::Instant::now();
    let (fid, qids) = tokio::time::timeout(HANG, s.walk(s.root(), &names(&["a"])))
        .await
        .expect("no hang")
        .unwrap();
    let took = start.elapsed();
    assert_eq!(qids.len(), 1);
    assert!(
        took >= TIMEOUT && took < TIMEOUT + Duration::from_secs(2),
        "took {took:?}"
    );
    assert!(!fid.is_stale());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.count(MessageType::Tflush), 0, "never flushed");
    assert_eq!(seen.connections, 2);
    assert_eq!(seen.on(2, MessageType::Twalk), 1);
}

/// The control: with the request timeout off, the skipped read is never recovered (the
/// probes keep the connection alive): after an hour of simulated time it still waits.
#[tokio::test(start_paused = true)]
async fn without_a_request_timeout_the_skipped_read_waits_forever() {
    let (connector, seen) = start(MessageType::Tread, 1, Flush::Answer);
    let o = Options {
        request_timeout: None,
        ..options()
    };
    let s = Session::connect_with(connector, o).await.unwrap();
    let r = tokio::time::timeout(HANG, s.read(s.root(), 0, 100)).await;
    assert!(r.is_err(), "the skipped read was answered: {r:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.connections, 1);
    assert_eq!(seen.count(MessageType::Tflush), 0);
    assert!(seen.on(1, MessageType::Tgetattr) > 100, "probed all along");
}
