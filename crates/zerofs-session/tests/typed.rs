//! Typed calls (`Session::call_typed`, `Session::readdir`): the reply's body comes back, an
//! `Rlerror` is the server's error, a reply of the wrong type on the wire recycles the
//! connection and the request gets its own reply after the reconnect, and requests whose
//! reply a typed call cannot promise are refused.

mod support;

use bytes::Bytes;
use support::*;
use zerofs_session::proto::consts::{errno, getattr, open};
use zerofs_session::proto::*;
use zerofs_session::{Entries, Session, SessionError};

fn getattr_body(fid: u32) -> Tgetattr {
    Tgetattr {
        fid,
        request_mask: getattr::ALL,
    }
}

#[tokio::test]
async fn a_wrong_reply_on_the_wire_is_a_violation_and_the_call_still_gets_its_reply() {
    let (conn, mut rx) = DuplexConnector::new();
    let server = tokio::spawn(async move {
        let mut p = Peer::new(rx.recv().await.unwrap());
        p.handshake(Dialect::Plain).await;
        let f = p.recv().await.unwrap();
        assert!(matches!(f.message, Message::Tgetattr(_)), "{f:?}");
        // Not the reply to a Tgetattr.
        p.send(f.tag, Message::Rstatfs(Rstatfs::default())).await;
        // The session recycles the connection, dials again, replays and resends.
        let mut p2 = Peer::new(rx.recv().await.unwrap());
        p2.handshake(Dialect::Plain).await;
        let f = p2.recv().await.unwrap();
        assert!(matches!(f.message, Message::Tgetattr(_)), "{f:?}");
        let stat = Stat {
            size: 42,
            ..Stat::default()
        };
        p2.send(f.tag, Message::Rgetattr(Rgetattr { valid: 1, stat }))
            .await;
        // A second call is refused by the server.
        let f = p2.recv().await.unwrap();
        p2.send(f.tag, Message::error(errno::ENOENT)).await;
        (p, p2)
    });
    let s = Session::connect_with(conn, opts()).await.unwrap();
    let root = s.root().id();
    let r: Rgetattr = within(s.call_typed::<kind::Tgetattr>(getattr_body(root)))
        .await
        .unwrap();
    assert_eq!(r.stat.size, 42);
    assert_eq!(s.stats().protocol_violations, 1);
    assert_eq!(s.stats().reconnects, 1);
    let e = within(s.call_typed::<kind::Tgetattr>(getattr_body(root)))
        .await
        .unwrap_err();
    assert!(matches!(e, SessionError::Server(errno::ENOENT)), "{e}");
    drop(server);
}

#[tokio::test]
async fn typed_calls_refuse_what_they_cannot_keep_right() {
    let Pair { session: s, .. } = Pair::start(zerofs_memserver::Generation::Gen1).await;
    let walk = Twalk {
        fid: s.root().id(),
        newfid: 99,
        wnames: Vec::new(),
    };
    let e = s.call_typed::<kind::Twalk>(walk).await.unwrap_err();
    assert!(
        matches!(
            e,
            SessionError::Usage {
                message: MessageType::Twalk,
                instead: "walk"
            }
        ),
        "{e}"
    );
    let listing = Treaddir {
        fid: s.root().id(),
        offset: 0,
        count: 100,
    };
    let e = s
        .call_typed::<kind::Treaddirattr>(listing)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            SessionError::Usage {
                message: MessageType::Treaddirattr,
                instead: "readdir"
            }
        ),
        "{e}"
    );
    // A request the session may send answers with its typed reply.
    let r = s
        .call_typed::<kind::Tgetattr>(getattr_body(s.root().id()))
        .await
        .unwrap();
    assert!(r.stat.qid.ty.is_dir());
}

/// `readdir` asks for stats where the dialect has them, and says which kind of page came.
#[tokio::test]
async fn readdir_returns_stats_where_the_dialect_has_them() {
    for (g, stats) in [
        (zerofs_memserver::Generation::Plain, false),
        (zerofs_memserver::Generation::Gen1, true),
        (zerofs_memserver::Generation::Z, true),
    ] {
        let (server, s) = in_memory(g, root_opts()).await;
        let body = Tmkdir {
            dfid: s.root().id(),
            name: Bytes::from_static(b"d"),
            mode: 0o755,
            gid: 0,
        };
        let made: Rmkdir = s.call_typed::<kind::Tmkdir>(body).await.unwrap();
        assert!(made.qid.ty.is_dir());
        let listing = s.clone_fid(s.root()).await.unwrap();
        s.lopen(&listing, open::RDONLY | open::DIRECTORY)
            .await
            .unwrap();
        let names: Vec<Bytes> = match s.readdir(&listing, 0, 8192, true).await.unwrap() {
            Entries::Stats(r) => {
                assert!(stats, "{g:?}");
                let d = r.entries.iter().find(|e| &e.name[..] == b"d").unwrap();
                assert_eq!(d.stat.qid.path, made.qid.path);
                r.entries.into_iter().map(|e| e.name).collect()
            }
            Entries::Names(r) => {
                assert!(!stats, "{g:?}");
                r.entries.into_iter().map(|e| e.name).collect()
            }
        };
        assert!(names.iter().any(|n| &n[..] == b"d"), "{g:?}: {names:?}");
        // Without asking for stats: names only, whatever the dialect.
        assert!(matches!(
            s.readdir(&listing, 0, 8192, false).await.unwrap(),
            Entries::Names(_)
        ));
        drop((listing, s));
        server.shutdown().await;
    }
}
