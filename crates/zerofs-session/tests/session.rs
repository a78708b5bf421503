//! Deterministic tests over an in-memory scripted peer and a memserver [`Pair`].

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::*;
use zerofs_memserver::{Generation, ReplyLoss, ServerHandle};
use zerofs_session::proto::consts::{errno, open};
use zerofs_session::proto::*;
use zerofs_session::{Options, Session, SessionError};

/// A `Tgetattr` of the attach root.
fn getattr_root(s: &Session) -> Message {
    getattr_of(s.root().id())
}

#[tokio::test]
async fn negotiates_the_best_dialect_of_every_generation() {
    let as_is = |_: &ServerHandle| {};
    type Prepare<'a> = &'a dyn Fn(&ServerHandle);
    let cases: [(Generation, Prepare<'_>, Dialect); 5] = [
        (Generation::Plain, &as_is, Dialect::Plain),
        (Generation::Gen1, &as_is, Dialect::Zerofs),
        (Generation::Gen2, &as_is, Dialect::Zerofs2),
        (Generation::Z, &as_is, Dialect::Z),
        (Generation::Z, &diod, Dialect::Plain),
    ];
    for (g, prepare, want) in cases {
        let Pair { server, session: s } = Pair::start_with(g, prepare, opts()).await;
        assert_eq!(s.dialect(), want, "{g:?}");
        assert_eq!(s.msize(), 65536);
        assert_eq!(s.lineage().is_some(), want == Dialect::Z);
        assert_eq!(server.seen(MessageType::Tattach), 1);
        assert!(matches!(
            s.call(getattr_root(&s)).await.unwrap(),
            Message::Rgetattr(_)
        ));
    }
}

#[tokio::test]
async fn refuses_msize_below_4096_and_a_refused_plain_version() {
    for (msize, version) in [(1000u32, "9P2000.L"), (65536, "unknown")] {
        let (conn, mut rx) = DuplexConnector::new();
        let server = tokio::spawn(async move {
            let mut p = Peer::new(rx.recv().await.unwrap());
            for _ in 0..4 {
                let Some(f) = p.recv().await else { return };
                let v = Bytes::from_static(version.as_bytes());
                p.send(f.tag, Message::Rversion(Rversion { msize, version: v }))
                    .await;
            }
        });
        let err = Session::connect_with(conn, opts()).await.unwrap_err();
        assert!(matches!(err, SessionError::Connect { .. }), "{err}");
        server.abort();
    }
}

#[tokio::test]
async fn attach_refusal_is_a_connect_error_with_errno() {
    let (conn, mut rx) = DuplexConnector::new();
    tokio::spawn(async move {
        let mut p = Peer::new(rx.recv().await.unwrap());
        for _ in 0..3 {
            let f = p.recv().await.unwrap();
            match f.message {
                Message::Tversion(v) => {
                    p.send(
                        f.tag,
                        Message::Rversion(Rversion {
                            msize: v.msize,
                            version: "9P2000.L".into(),
                        }),
                    )
                    .await
                }
                _ => p.send(f.tag, Message::error(errno::EACCES)).await,
            }
        }
    });
    let opts = Options {
        aname: "/export".into(),
        ..opts()
    };
    match Session::connect_with(conn, opts).await.unwrap_err() {
        SessionError::Connect { errno, .. } => assert_eq!(errno, Some(errno::EACCES)),
        e => panic!("{e}"),
    }
}

#[tokio::test]
async fn out_of_order_replies_reach_their_callers() {
    let (conn, mut rx) = DuplexConnector::new();
    let server = tokio::spawn(async move {
        let mut p = Peer::new(rx.recv().await.unwrap());
        p.handshake(Dialect::Zerofs2).await;
        let mut reqs = Vec::new();
        for _ in 0..3 {
            reqs.push(p.recv().await.unwrap());
        }
        let tags: std::collections::HashSet<u16> = reqs.iter().map(|f| f.tag).collect();
        assert_eq!(tags.len(), 3, "distinct tags in flight");
        for f in reqs.into_iter().rev() {
            let Message::Tread(r) = f.message else {
                panic!()
            };
            p.send(
                f.tag,
                Message::Rread(Rread {
                    data: Bytes::from(vec![r.offset as u8; r.count as usize]),
                }),
            )
            .await;
        }
        p
    });
    let s = Session::connect_with(conn, opts()).await.unwrap();
    let root = s.root().id();
    let read = |off: u64| {
        Message::Tread(Tread {
            fid: root,
            offset: off,
            count: 3,
        })
    };
    let (a, b, c) = tokio::join!(s.call(read(1)), s.call(read(2)), s.call(read(3)));
    for (r, off) in [(a, 1u8), (b, 2), (c, 3)] {
        match r.unwrap() {
            Message::Rread(r) => assert_eq!(&r.data[..], &[off; 3]),
            m => panic!("{m:?}"),
        }
    }
    drop(server);
}

/// After the first connection misbehaves with `fault`, the session reconnects, replays the
/// root attach and answers the next call.
async fn violation_recovers(fault: Vec<u8>) {
    let (conn, mut rx) = DuplexConnector::new();
    let server = tokio::spawn(async move {
        let mut p = Peer::new(rx.recv().await.unwrap());
        p.handshake(Dialect::Plain).await;
        let f = p.recv().await.unwrap();
        p.send_raw(&fault).await;
        // The client must hang up and come back on a new connection.
        assert!(
            p.recv().await.is_none(),
            "client must close the faulty connection"
        );
        let mut p2 = Peer::new(rx.recv().await.unwrap());
        p2.handshake(Dialect::Plain).await; // the replayed root attach
        let g = p2.recv().await.unwrap();
        assert_eq!(g.message, f.message, "the in-flight request is resent");
        p2.send(
            g.tag,
            Message::Rgetattr(Rgetattr {
                valid: 1,
                stat: Stat {
                    size: 42,
                    ..Stat::default()
                },
            }),
        )
        .await;
        p2
    });
    let s = Session::connect_with(conn, opts()).await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(20), s.call(getattr_root(&s)))
        .await
        .unwrap();
    match r.unwrap() {
        Message::Rgetattr(r) => assert_eq!(r.stat.size, 42),
        m => panic!("{m:?}"),
    }
    assert!(s.stats().reconnects >= 1);
    assert!(s.stats().protocol_violations >= 1);
    let _p2 = server.await.unwrap();
}

#[tokio::test]
async fn unknown_tag_tears_down_and_recovers() {
    violation_recovers(vec![7, 0, 0, 0, 121, 0x34, 0x12]).await; // Rclunk with tag 0x1234
}

#[tokio::test]
async fn garbage_frame_tears_down_and_recovers() {
    violation_recovers(vec![8, 0, 0, 0, 0, 0, 0, 9]).await; // type 0 does not exist
}

#[tokio::test]
async fn oversized_frame_tears_down_and_recovers() {
    violation_recovers((1u32 << 30).to_le_bytes().to_vec()).await;
}

#[tokio::test]
async fn undersized_frame_tears_down_and_recovers() {
    violation_recovers(vec![3, 0, 0, 0]).await;
}

#[tokio::test(start_paused = true)]
async fn silent_peer_leaves_callers_pending_without_panics() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    let base = s.outstanding_fids();
    server.set_silent(true);
    let r = tokio::time::timeout(Duration::from_millis(50), s.call(getattr_root(&s))).await;
    assert!(r.is_err(), "still pending");
    let w = tokio::time::timeout(Duration::from_millis(50), s.walk(s.root(), &names(&["a"]))).await;
    assert!(w.is_err());
    assert!(s.is_connected());
    // Abandoned requests keep their tags; the getattr was flushed too (a Tflush in flight),
    // the walk creates a fid and is not.
    assert_eq!(s.stats().in_flight, 3, "abandoned requests keep their tags");
    server.set_silent(false);
    // Unblock: a reconnect resends nothing abandoned and releases the walk's fid.
    s.force_reconnect();
    assert!(settled(|| s.outstanding_fids() == base && s.stats().in_flight == 0).await);
    assert!(matches!(
        s.call(getattr_root(&s)).await.unwrap(),
        Message::Rgetattr(_)
    ));
}

#[tokio::test]
async fn raw_call_refuses_fid_creating_messages() {
    let Pair { session: s, .. } = Pair::start(Generation::Plain).await;
    let walk = Message::Twalk(Twalk {
        fid: 1,
        newfid: 2,
        wnames: vec![],
    });
    assert!(matches!(
        s.call(walk).await,
        Err(SessionError::Usage { .. })
    ));
    let clunk = Message::Tclunk(Tclunk { fid: 1 });
    assert!(matches!(
        s.call(clunk).await,
        Err(SessionError::Usage { .. })
    ));
    let bad = Message::Tgetattr(Tgetattr {
        fid: 999,
        request_mask: 1,
    });
    assert!(matches!(
        s.call(bad).await,
        Err(SessionError::UnknownFid(999))
    ));
}

#[tokio::test(start_paused = true)]
async fn dropped_fids_are_clunked_and_recycled() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    seed_file(&server, "d1/f");
    seed_file(&server, "x");
    assert_eq!(s.outstanding_fids(), 1);
    let mut fids = Vec::new();
    for _ in 0..50 {
        fids.push(s.walk(s.root(), &names(&["d1", "f"])).await.unwrap().0);
    }
    assert_eq!(server.live_fids(), 51);
    let ids: Vec<u32> = fids.iter().map(|f| f.id()).collect();
    drop(fids);
    assert!(settled(|| s.outstanding_fids() == 1 && server.live_fids() == 1).await);
    assert_eq!(server.seen(MessageType::Tclunk), 50);
    // Numbers are reused (LIFO).
    let again = s.walk(s.root(), &names(&["x"])).await.unwrap().0;
    assert!(ids.contains(&again.id()));
}

#[tokio::test(start_paused = true)]
async fn failed_walks_leave_no_fid_and_partial_walks_report_progress() {
    let Pair { server, session: s } = Pair::start(Generation::Gen1).await;
    server.create_dir_all("d1").unwrap();
    let e = s.walk(s.root(), &names(&["nope"])).await.unwrap_err();
    assert!(matches!(e, SessionError::Server(errno::ENOENT)), "{e}");
    let e = s.walk(s.root(), &names(&["d1", "nope"])).await.unwrap_err();
    assert!(
        matches!(
            e,
            SessionError::PartialWalk {
                walked: 1,
                requested: 2
            }
        ),
        "{e}"
    );
    assert!(settled(|| s.outstanding_fids() == 1 && server.live_fids() == 1).await);
    assert_eq!(
        server.seen(MessageType::Tclunk),
        0,
        "gen1 servers create no fid on a failed walk"
    );
}

#[tokio::test(start_paused = true)]
async fn diod_partial_walk_newfid_is_clunked() {
    let Pair { server, session: s } = Pair::diod().await;
    assert_eq!(s.dialect(), Dialect::Plain);
    server.create_dir_all("d1").unwrap();
    let e = s.walk(s.root(), &names(&["d1", "nope"])).await.unwrap_err();
    assert!(matches!(e, SessionError::PartialWalk { .. }), "{e}");
    assert!(settled(|| s.outstanding_fids() == 1).await);
    assert_eq!(
        server.seen(MessageType::Tclunk),
        1,
        "plain servers may keep a partial walk's newfid"
    );
}

#[tokio::test]
async fn long_walks_are_chunked_by_sixteen() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    let path: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("d{i}"))).collect();
    let dirs: Vec<String> = (0..40).map(|i| format!("d{i}")).collect();
    server.create_dir_all(&dirs.join("/")).unwrap();
    let (fid, qids) = s.walk(s.root(), &path).await.unwrap();
    assert_eq!(qids.len(), 40);
    assert_eq!(server.seen(MessageType::Twalk), 3);
    let (_f2, stat) = s.walk_getattr(s.root(), &path).await.unwrap();
    assert_eq!(stat.qid, *qids.last().unwrap());
    assert_eq!(server.seen(MessageType::Twalkgetattr), 1);
    drop(fid);
}

#[tokio::test(start_paused = true)]
async fn cancellation_at_every_await_point_leaks_nothing() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    seed_file(&server, "d1/file");
    let base = s.outstanding_fids();
    for round in 0..120u32 {
        let polls = round % 12;
        let s2 = s.clone();
        let op = async move {
            let (fid, _) = s2.walk(s2.root(), &names(&["d1", "file"])).await?;
            s2.lopen(&fid, open::RDONLY).await?;
            let (dup, _) = s2.lopenat(&fid, open::RDONLY).await?;
            let data = s2.read(&dup, 0, 200_000).await?;
            Ok::<_, SessionError>(data.len())
        };
        let mut op = Box::pin(op);
        for _ in 0..polls {
            if futures::poll!(op.as_mut()).is_ready() {
                break;
            }
            tokio::task::yield_now().await;
        }
        drop(op);
    }
    assert!(
        settled(|| s.outstanding_fids() == base && server.live_fids() == base).await,
        "fids back to baseline: session {} server {}",
        s.outstanding_fids(),
        server.live_fids()
    );
    assert!(settled(|| s.stats().in_flight == 0).await);
}

#[tokio::test]
async fn pipelined_bulk_read_and_write() {
    let options = Options {
        bulk_window: 4,
        ..opts()
    };
    let prepare = |server: &ServerHandle| {
        seed_file(server, "f");
    };
    let Pair { server, session: s } = Pair::start_with(Generation::Z, prepare, options).await;
    let (fid, _) = s.walk(s.root(), &names(&["f"])).await.unwrap();
    s.lopen(&fid, open::RDWR).await.unwrap();
    let data = s.read(&fid, 10, 400_000).await.unwrap();
    assert_eq!(data.len() as u64, FILE_SIZE - 10, "stops at EOF");
    assert!(
        data.iter()
            .enumerate()
            .all(|(i, b)| *b == pattern(i as u64 + 10))
    );
    assert!(server.seen(MessageType::Tread) >= 5, "chunked by msize");
    let small = s.read(&fid, 0, 100).await.unwrap();
    assert_eq!(small.len(), 100);
    assert!(s.read(&fid, FILE_SIZE + 5, 10).await.unwrap().is_empty());
    let payload = Bytes::from(vec![9u8; 250_000]);
    assert_eq!(s.write(&fid, 0, payload.clone()).await.unwrap(), 250_000);
    assert_eq!(server.written(), 250_000, "each byte written once");
    assert_eq!(s.read(&fid, 0, 250_000).await.unwrap(), payload);
    let chunk = s.write_chunk(&fid) as usize;
    assert_eq!(chunk, 65536 - 48, ".Z writes carry a 25-byte envelope");
}

#[tokio::test]
async fn replay_rewalks_paths_on_plain_servers() {
    let Pair { server, session: s } = Pair::start(Generation::Plain).await;
    seed_file(&server, "d1/file");
    let (fid, _) = s.walk(s.root(), &names(&["d1", "file"])).await.unwrap();
    s.lopen(&fid, open::RDONLY | open::TRUNC).await.unwrap();
    let walks = server.seen(MessageType::Twalk);
    // The read is applied, then the connection closes instead of answering.
    server.lose_reply_after(ReplyLoss::next(MessageType::Tread));
    let data = tokio::time::timeout(Duration::from_secs(20), s.read(&fid, 0, 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(data, expected(0..10));
    assert_eq!(server.counters().connections_accepted(), 2);
    assert!(
        server.seen(MessageType::Twalk) > walks,
        "the fid was re-walked"
    );
    assert_eq!(server.seen(MessageType::Trebind), 0);
    assert_eq!(server.seen(MessageType::Tattach), 2, "root re-attached");
    assert_eq!(s.stats().fids_replayed, 2);
}

#[tokio::test]
async fn replay_rebinds_by_inode_where_the_dialect_can() {
    for g in [Generation::Gen1, Generation::Z] {
        let Pair { server, session: s } = Pair::start(g).await;
        seed_file(&server, "file");
        let (fid, _) = s.walk(s.root(), &names(&["file"])).await.unwrap();
        s.lopen(&fid, open::RDONLY).await.unwrap();
        s.force_reconnect();
        let data = tokio::time::timeout(Duration::from_secs(20), s.read(&fid, 5, 5))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(data, expected(5..10));
        // The gen 1/2 and `.Z` layouts share the type byte.
        assert_eq!(server.seen(MessageType::Trebind), 1, "{g:?}");
        assert_eq!(server.seen(MessageType::Tlopen), 2, "reopened after rebind");
    }
}

#[tokio::test(start_paused = true)]
async fn unrestorable_fids_become_stale_and_others_continue() {
    let Pair { server, session: s } = Pair::start(Generation::Plain).await;
    seed_file(&server, "dx/f");
    seed_file(&server, "dy/g");
    let (moved, _) = s.walk(s.root(), &names(&["dx", "f"])).await.unwrap();
    let (kept, _) = s.walk(s.root(), &names(&["dy", "g"])).await.unwrap();
    // Another file now has the name: the re-walk reaches another inode.
    server.remove("dx/f").unwrap();
    seed_file(&server, "dx/f");
    s.force_reconnect();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        s.call(Message::Tgetattr(Tgetattr {
            fid: kept.id(),
            request_mask: 1,
        })),
    )
    .await
    .unwrap();
    assert!(r.is_ok());
    let e = s
        .call(Message::Tgetattr(Tgetattr {
            fid: moved.id(),
            request_mask: 1,
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(e, SessionError::Stale { fid } if fid == moved.id()),
        "{e}"
    );
    assert!(moved.is_stale());
    assert_eq!(s.stats().fids_stale, 1);
    assert!(
        settled(|| server.live_fids() == 2).await,
        "root and kept on the server"
    );
    drop(moved);
    drop(kept);
    assert!(settled(|| s.outstanding_fids() == 1 && server.live_fids() == 1).await);
}

#[tokio::test]
async fn requests_wait_while_disconnected_and_resume() {
    let Pair { server, session: s } = Pair::start(Generation::Gen2).await;
    seed_file(&server, "f");
    let (fid, _) = s.walk(s.root(), &names(&["f"])).await.unwrap();
    s.lopen(&fid, open::RDONLY).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let s2 = s.clone();
        let id = fid.id();
        tasks.push(tokio::spawn(async move {
            let m = Message::Tread(Tread {
                fid: id,
                offset: i,
                count: 1,
            });
            s2.call(m).await
        }));
        if i == 10 {
            s.force_reconnect();
        }
    }
    for (i, t) in tasks.into_iter().enumerate() {
        match tokio::time::timeout(Duration::from_secs(20), t)
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Message::Rread(r) => assert_eq!(&r.data[..], &[pattern(i as u64)]),
            m => panic!("{m:?}"),
        }
    }
    assert!(server.counters().connections_accepted() >= 2);
}
