//! The handle's test switches: refusals, silence, a run-time msize cap, the request log, live
//! fids, seeding without a client, and the opt-in `Tremove` and `Txattrwalk`.

mod support;

use std::time::Duration;

use support::{Client, b, clunk, errno, getattr, lopen, read, walk};
use zerofs_9p_proto::consts::{errno as e, open};
use zerofs_9p_proto::{Frame, Message, MessageType, Tremove, Txattrwalk};
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss, ServerHandle};

async fn start(config: Config) -> (ServerHandle, Client) {
    let server = MemServer::start(config).await.unwrap();
    let mut c = Client::to(&server).await;
    c.version(65536, "9P2000.L").await;
    c.attach(1, "").await;
    (server, c)
}

#[tokio::test]
async fn refused_requests_are_answered_with_the_errno_and_not_applied() {
    let (server, mut c) = start(Config::new(Generation::Gen2)).await;
    server.refuse(ReplyLoss::next(MessageType::Tmkdir), e::EACCES);
    let mkdir = |name: &str| Message::Tmkdir(support::tmkdir(1, name, 0o755, 0));
    assert_eq!(errno(&c.call(mkdir("a")).await), e::EACCES);
    assert_eq!(
        errno(&c.call(walk(1, 2, &["a"])).await),
        e::ENOENT,
        "not made"
    );
    assert!(
        matches!(c.call(mkdir("a")).await, Message::Rmkdir(_)),
        "one use"
    );
    // A lasting rule on Tversion: diod's negotiation.
    server.refuse(
        ReplyLoss::matching(
            u32::MAX,
            |f: &Frame| matches!(&f.message, Message::Tversion(v) if &v.version[..] != b"9P2000.L"),
        ),
        e::EIO,
    );
    let mut d = Client::to(&server).await;
    assert_eq!(errno(&d.version(65536, "9P2000.L.zerofs2").await), e::EIO);
    assert_eq!(errno(&d.version(65536, "9P2000.L.zerofs").await), e::EIO);
    assert!(matches!(
        d.version(65536, "9P2000.L").await,
        Message::Rversion(_)
    ));
    server.clear_refusals();
    assert!(matches!(
        d.version(65536, "9P2000.L.zerofs2").await,
        Message::Rversion(r) if &r.version[..] == b"9P2000.L.zerofs2"
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_server_counts_requests_and_never_answers_them() {
    let (server, mut c) = start(Config::new(Generation::Z)).await;
    server.set_silent(true);
    let tag = c.tag();
    c.send(&Frame::new(tag, getattr(1, 0x7ff))).await;
    assert!(
        c.recv_within(tag, Duration::from_millis(200))
            .await
            .is_err()
    );
    assert_eq!(server.counters().frames(MessageType::Tgetattr), 1);
    server.set_silent(false);
    assert!(matches!(
        c.call(getattr(1, 0x7ff)).await,
        Message::Rgetattr(_)
    ));
    assert!(
        c.recv_within(tag, Duration::from_millis(100))
            .await
            .is_err(),
        "the dropped request stays unanswered"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_msize_cap_can_change_for_later_negotiations() {
    let (server, mut c) = start(Config::new(Generation::Gen1)).await;
    server.set_max_msize(Some(8192));
    let msize = |m: Message| match m {
        Message::Rversion(r) => r.msize,
        other => panic!("{other:?}"),
    };
    assert_eq!(msize(c.version(65536, "9P2000.L").await), 8192);
    server.set_max_msize(None);
    assert_eq!(msize(c.version(65536, "9P2000.L").await), 65536);
    server.shutdown().await;
}

#[tokio::test]
async fn the_log_records_requests_and_live_fids_follow_connections() {
    let server = MemServer::start(Config::new(Generation::Plain).in_memory())
        .await
        .unwrap();
    assert!(server.tcp_addr().is_none() && server.target().is_empty());
    server.create_dir_all("d/e").unwrap();
    let mut c = Client::in_memory(&server);
    server.set_recording(true);
    c.version(65536, "9P2000.L").await;
    c.attach(1, "").await;
    assert!(matches!(
        c.call(walk(1, 2, &["d", "e"])).await,
        Message::Rwalk(_)
    ));
    assert_eq!(server.live_fids(), 2);
    let walked: Vec<_> = (server.recorded().into_iter())
        .filter_map(|r| match r.frame.message {
            Message::Twalk(w) => Some((r.connection, w.wnames)),
            _ => None,
        })
        .collect();
    assert_eq!(walked, vec![(1, vec![b("d"), b("e")])]);
    server.clear_recorded();
    server.set_recording(false);
    assert!(matches!(c.call(clunk(2)).await, Message::Rclunk));
    assert!(server.recorded().is_empty(), "not recording");
    assert_eq!(server.live_fids(), 1);
    server.drop_connections();
    let mut gone = false;
    for _ in 0..1000 {
        if server.live_fids() == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(gone, "a closed connection's fids stop counting");
    server.shutdown().await;
}

#[tokio::test]
async fn seeded_files_are_what_clients_see() {
    let (server, mut c) = start(Config::new(Generation::Gen2).root_owner(1000, 1000)).await;
    server.create_dir_all("a/b").unwrap();
    let ino = server.write_file("a/b/f", b"hello").unwrap();
    assert!(
        server.write_file("missing/f", b"").is_err(),
        "parents must exist"
    );
    let Message::Rwalk(w) = c.call(walk(1, 2, &["a", "b", "f"])).await else {
        panic!()
    };
    assert_eq!(w.wqids[2].path, ino);
    assert!(matches!(
        c.call(lopen(2, open::RDONLY)).await,
        Message::Rlopen(_)
    ));
    assert!(matches!(c.call(read(2, 0, 100)).await, Message::Rread(r) if &r.data[..] == b"hello"));
    let Message::Rgetattr(g) = c.call(getattr(2, 0x7ff)).await else {
        panic!()
    };
    assert_eq!((g.stat.uid, g.stat.mode), (1000, 0o100644));
    server.remove("a/b/f").unwrap();
    let gone = c.call(walk(1, 3, &["a", "b", "f"])).await;
    assert!(
        matches!(gone, Message::Rwalk(w) if w.wqids.len() == 2),
        "a partial walk"
    );
    assert_ne!(server.write_file("a/b/f", b"").unwrap(), ino);
    server.shutdown().await;
}

#[tokio::test]
async fn tremove_and_xattrwalk_are_served_only_when_configured() {
    let remove = |fid| Message::Tremove(Tremove { fid });
    let xattrwalk = |name: &str| {
        Message::Txattrwalk(Txattrwalk {
            fid: 2,
            newfid: 3,
            name: b(name),
        })
    };
    for on in [false, true] {
        let config = Config::new(Generation::Z)
            .serve_tremove(on)
            .serve_xattrs(on);
        let (server, mut c) = start(config).await;
        server.write_file("f", b"data").unwrap();
        server.set_xattr("f", b"user.a", b"value").unwrap();
        server.set_xattr("f", b"user.b", b"").unwrap();
        assert!(matches!(
            c.call(walk(1, 2, &["f"])).await,
            Message::Rwalk(_)
        ));
        if !on {
            assert_eq!(errno(&c.call(xattrwalk("user.a")).await), e::EOPNOTSUPP);
            assert_eq!(errno(&c.call(remove(2)).await), e::ENOSYS);
            assert_eq!(server.live_fids(), 2, "the fid stays");
            server.shutdown().await;
            continue;
        }
        assert!(matches!(c.call(xattrwalk("user.a")).await, Message::Rxattrwalk(r) if r.size == 5));
        assert!(
            matches!(c.call(read(3, 1, 100)).await, Message::Rread(r) if &r.data[..] == b"alue")
        );
        assert!(matches!(c.call(clunk(3)).await, Message::Rclunk));
        assert!(matches!(c.call(xattrwalk("")).await, Message::Rxattrwalk(r) if r.size == 14));
        assert!(
            matches!(c.call(read(3, 0, 100)).await, Message::Rread(r) if &r.data[..] == b"user.a\0user.b\0")
        );
        assert!(matches!(c.call(clunk(3)).await, Message::Rclunk));
        assert_eq!(errno(&c.call(xattrwalk("user.none")).await), e::ENODATA);
        assert_eq!(server.live_fids(), 2, "no fid for a missing attribute");
        assert!(matches!(c.call(remove(2)).await, Message::Rremove));
        assert_eq!(server.live_fids(), 1, "the fid is clunked");
        assert_eq!(
            errno(&c.call(walk(1, 2, &["f"])).await),
            e::ENOENT,
            "removed"
        );
        assert_eq!(
            errno(&c.call(remove(1)).await),
            e::EBUSY,
            "the root has no name"
        );
        assert_eq!(server.live_fids(), 0, "clunked even when refused");
        server.shutdown().await;
    }
}
