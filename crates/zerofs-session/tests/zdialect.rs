//! `.Z` session rules: the retry horizon, the plain (non-attr) mutation forms under lost
//! replies, `Tlopenatread` as a typed op, and HA probing.

use std::time::Duration;

use bytes::Bytes;
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss, ServerHandle};
use zerofs_session::proto::consts::open;
use zerofs_session::proto::{Message, MessageType, Tmkdir, Tsymlink};
use zerofs_session::{Backoff, Options, Session, SessionError, TargetSet};

fn opts() -> Options {
    Options {
        uid: 0,
        gid: 0,
        uname: "root".into(),
        backoff: Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(20),
            jitter: 0.5,
        },
        ..Options::default()
    }
}

/// A `.Z` server config on a private unix socket.
fn z_config() -> Config {
    Config::new(Generation::Z).ephemeral_unix()
}

/// A `.Z` server on a private unix socket.
async fn z_server() -> ServerHandle {
    MemServer::start(z_config()).await.unwrap()
}

/// A leader and a follower `.Z` server, each on a private unix socket.
async fn z_pair() -> (ServerHandle, ServerHandle) {
    MemServer::start_pair(z_config(), z_config()).await.unwrap()
}

/// A session to `server` over its unix socket.
async fn connect(server: &ServerHandle, opts: Options) -> Session {
    Session::connect(&server.unix_target().unwrap(), opts)
        .await
        .unwrap()
}

fn mkdir(s: &Session, name: String) -> Message {
    Message::Tmkdir(Tmkdir {
        dfid: s.root().id(),
        name: Bytes::from(name),
        mode: 0o755,
        gid: 0,
    })
}

#[tokio::test]
async fn an_unanswerable_mutation_fails_as_outcome_unknown_at_the_horizon() {
    let server = z_server().await;
    let horizon = Options {
        retry_horizon: Duration::from_millis(200),
        ..opts()
    };
    let s = connect(&server, horizon).await;
    server.stop_listening().await;
    server.lose_reply_after(ReplyLoss::next(MessageType::Tmkdir));
    let err = s.call(mkdir(&s, "gone".into())).await.unwrap_err();
    assert!(
        matches!(err, SessionError::OutcomeUnknown { horizon } if horizon == Duration::from_millis(200)),
        "{err:?}"
    );
    assert_eq!(err.errno(), 110);
    assert!(err.to_string().contains("may or may not have been applied"));
    // It was applied: the server comes back and the directory is there, once.
    server.resume_listening().await.unwrap();
    let again = s.call(mkdir(&s, "gone".into())).await;
    assert!(matches!(again, Err(SessionError::Server(17))), "{again:?}");
}

#[tokio::test]
async fn plain_forms_under_lost_replies_apply_exactly_once() {
    let server = z_server().await;
    let s = connect(&server, opts()).await;
    for i in 0..1000 {
        server.lose_reply_after(ReplyLoss::next(MessageType::Tmkdir));
        assert!(matches!(
            s.call(mkdir(&s, format!("d{i}"))).await,
            Ok(Message::Rmkdir(_))
        ));
        server.lose_reply_after(ReplyLoss::next(MessageType::Tsymlink));
        let sym = Message::Tsymlink(Tsymlink {
            dfid: s.root().id(),
            name: Bytes::from(format!("s{i}")),
            symtgt: Bytes::from_static(b"t"),
            gid: 0,
        });
        assert!(matches!(s.call(sym).await, Ok(Message::Rsymlink(_))));
    }
    assert!(server.counters().frames(MessageType::Tmkdir) >= 2000);
    assert!(server.counters().frames(MessageType::Tsymlink) >= 2000);
}

#[tokio::test]
async fn lopenatread_opens_a_fid_and_prefetches() {
    let server = z_server().await;
    let s = connect(&server, opts()).await;
    let (dir, _) = s.walk(s.root(), &[]).await.unwrap();
    s.lcreate(&dir, Bytes::from_static(b"f"), open::RDWR, 0o644, 0)
        .await
        .unwrap();
    s.write(&dir, 0, Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    let (f, _) = s.walk(s.root(), &[Bytes::from_static(b"f")]).await.unwrap();
    let (opened, r) = s.lopenatread(&f, open::RDONLY, 1 << 20).await.unwrap();
    assert!(r.eof);
    assert_eq!(&r.data[..], b"0123456789");
    let (_, part) = s.lopenatread(&f, open::RDONLY, 4).await.unwrap();
    assert!(!part.eof, "a partial prefetch is not the whole file");
    // The new fid is open and survives a reconnect (replayed).
    s.force_reconnect();
    assert_eq!(&s.read(&opened, 2, 3).await.unwrap()[..], b"234");
}

#[tokio::test]
async fn a_set_with_no_leader_is_probed_until_one_appears() {
    let (a, b) = z_pair().await;
    a.demote();
    let set = TargetSet::parse(&format!(
        "{},{}",
        a.unix_target().unwrap(),
        b.unix_target().unwrap()
    ))
    .unwrap();
    let promoter = {
        let b = b.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            b.promote()
        })
    };
    let s = Session::connect_with(set, opts()).await.unwrap();
    assert_eq!(promoter.await.unwrap(), 2);
    assert_eq!(s.lineage().unwrap().writer_epoch, 2);
    assert!(s.call(mkdir(&s, "x".into())).await.is_ok());
    assert!(a.counters().frames(MessageType::Tgetlineage) >= 1);
}

#[tokio::test]
async fn requests_fail_as_not_leader_when_no_server_leads_for_the_horizon() {
    let (a, b) = z_pair().await;
    let s = Session::connect_multi(
        &[a.unix_target().unwrap(), b.unix_target().unwrap()],
        Options {
            retry_horizon: Duration::from_millis(150),
            ..opts()
        },
    )
    .await
    .unwrap();
    a.demote();
    let err = s.call(mkdir(&s, "x".into())).await.unwrap_err();
    assert!(matches!(err, SessionError::NotLeader), "{err:?}");
    assert_eq!(err.errno(), 108);
}

/// A TCP listener on 127.0.0.1 that accepts connections (the kernel completes the handshake)
/// but never reads or answers: a black-holed node.
async fn silent_node() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    (l, target)
}

/// Generous bound for a test step that must not stall.
const BOUND: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_black_holed_node_is_passed_over_at_the_probe_timeout() {
    let (a, _b) = z_pair().await;
    let (silent, hole) = silent_node().await;
    // Without a probe timeout the black hole holds the first connection (control).
    let stalled = Session::connect(
        &format!("{hole},{}", a.unix_target().unwrap()),
        Options {
            probe_timeout: None,
            connect_timeout: Some(Duration::from_millis(300)),
            ..opts()
        },
    )
    .await;
    assert!(
        matches!(stalled, Err(SessionError::Connect { .. })),
        "{stalled:?}"
    );
    // With one, the probe moves on to the leader.
    let probing = Options {
        probe_timeout: Some(Duration::from_millis(200)),
        connect_timeout: None,
        ..opts()
    };
    let s = tokio::time::timeout(
        BOUND,
        Session::connect(&format!("{hole},{}", a.unix_target().unwrap()), probing),
    )
    .await
    .expect("leader discovery completes")
    .unwrap();
    assert!(s.call(mkdir(&s, "x".into())).await.is_ok());
    assert!(a.counters().frames(MessageType::Tattach) >= 1);
    let probed = tokio::time::timeout(BOUND, silent.accept()).await;
    assert!(
        matches!(probed, Ok(Ok(_))),
        "the black hole was dialled first"
    );
}

#[tokio::test]
async fn a_black_holed_node_is_passed_over_when_the_set_is_reprobed() {
    let (a, b) = z_pair().await;
    let (silent, hole) = silent_node().await;
    let s = Session::connect_multi(
        &[a.unix_target().unwrap(), hole, b.unix_target().unwrap()],
        Options {
            probe_timeout: Some(Duration::from_millis(200)),
            ..opts()
        },
    )
    .await
    .unwrap();
    assert!(s.call(mkdir(&s, "before".into())).await.is_ok());
    // The leader moves to the last node; the re-probe passes a, then the black hole.
    a.demote();
    assert_eq!(b.promote(), 2);
    let r = tokio::time::timeout(BOUND, s.call(mkdir(&s, "after".into())))
        .await
        .expect("the re-probe completes");
    assert!(matches!(r, Ok(Message::Rmkdir(_))), "{r:?}");
    assert!(b.counters().frames(MessageType::Tmkdir) >= 1);
    assert_eq!(s.lineage().unwrap().writer_epoch, 2);
    let probed = tokio::time::timeout(BOUND, silent.accept()).await;
    assert!(matches!(probed, Ok(Ok(_))), "the black hole was re-probed");
}
