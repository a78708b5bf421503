//! The `.Z` mutation ledger (PROTOCOL.md §3.5.1).

mod support;

use support::{Client, b, errno};
use zerofs_9p_proto::consts::{envelope, errno as e};
use zerofs_9p_proto::{
    Envelope, Message, MessageType, OpId, Tlcreateattr, Tmkdir, Tunlinkat, Twalk, Twrite,
};
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss, ServerHandle};

async fn setup() -> (ServerHandle, Client) {
    let server = MemServer::start(Config::new(Generation::Z)).await.unwrap();
    let c = connect(&server).await;
    (server, c)
}

async fn connect(server: &ServerHandle) -> Client {
    let mut c = Client::to(server).await;
    c.version(65536, "9P2000.L.Z").await;
    c.attach(1, "").await;
    c
}

fn env(id: u8, flags: u8) -> Envelope {
    Envelope {
        op_id: OpId([id; 16]),
        flags,
        origin_epoch: 0,
    }
}

fn mkdir(name: &str) -> Message {
    Message::Tmkdir(Tmkdir {
        dfid: 1,
        name: b(name),
        mode: 0o755,
        gid: 0,
    })
}

async fn exists(c: &mut Client, name: &str) -> bool {
    let m = c
        .call(Message::Twalk(Twalk {
            fid: 1,
            newfid: 50,
            wnames: vec![b(name)],
        }))
        .await;
    let found = matches!(m, Message::Rwalk(_));
    c.call(Message::Tclunk(zerofs_9p_proto::Tclunk { fid: 50 }))
        .await;
    found
}

#[tokio::test]
async fn a_seen_op_id_replays_its_outcome_without_applying() {
    let (server, mut c) = setup().await;
    let first = c.call_env(env(1, 0), mkdir("d")).await;
    let Message::Rmkdir(r1) = &first else {
        panic!("{first:?}")
    };
    // The same op-id again (with or without RETRY): the recorded Rmkdir, not EEXIST.
    assert_eq!(c.call_env(env(1, envelope::RETRY), mkdir("d")).await, first);
    assert_eq!(c.call_env(env(1, 0), mkdir("d")).await, first);
    // A different op-id really applies: EEXIST.
    assert_eq!(errno(&c.call_env(env(2, 0), mkdir("d")).await), e::EEXIST);
    // An error outcome is replayed too, even after the cause is gone.
    let unlink = |name: &str| {
        Message::Tunlinkat(Tunlinkat {
            dirfid: 1,
            name: b(name),
            flags: 0,
        })
    };
    assert_eq!(
        errno(&c.call_env(env(3, 0), unlink("missing")).await),
        e::ENOENT
    );
    c.call_env(
        env(4, 0),
        Message::Tlcreateattr(Tlcreateattr {
            dfid: 1,
            newfid: 9,
            name: b("missing"),
            flags: 2,
            mode: 0o644,
            gid: 0,
        }),
    )
    .await;
    assert_eq!(
        errno(&c.call_env(env(3, envelope::RETRY), unlink("missing")).await),
        e::ENOENT
    );
    assert!(exists(&mut c, "missing").await, "the replay did not unlink");
    let _ = r1;
    server.shutdown().await;
}

#[tokio::test]
async fn unseen_retry_and_unknown_flags_are_estale() {
    let (server, mut c) = setup().await;
    assert_eq!(
        errno(&c.call_env(env(7, envelope::RETRY), mkdir("x")).await),
        e::ESTALE
    );
    assert!(!exists(&mut c, "x").await);
    assert_eq!(
        errno(&c.call_env(env(8, 0x02), mkdir("x")).await),
        e::ESTALE
    );
    assert_eq!(
        errno(&c.call_env(env(0, 0x80), mkdir("x")).await),
        e::ESTALE
    );
    assert!(!exists(&mut c, "x").await);
    server.shutdown().await;
}

#[tokio::test]
async fn the_zero_op_id_is_never_deduplicated() {
    let (server, mut c) = setup().await;
    assert!(matches!(
        c.call_env(Envelope::NONE, mkdir("z")).await,
        Message::Rmkdir(_)
    ));
    assert_eq!(
        errno(&c.call_env(Envelope::NONE, mkdir("z")).await),
        e::EEXIST,
        "applied twice"
    );
    // Writes apply twice too: both land.
    c.call_env(
        Envelope::NONE,
        Message::Tlcreateattr(Tlcreateattr {
            dfid: 1,
            newfid: 2,
            name: b("f"),
            flags: 2,
            mode: 0o644,
            gid: 0,
        }),
    )
    .await;
    for off in [0u64, 3] {
        let w = Message::Twrite(Twrite {
            fid: 2,
            offset: off,
            data: b("abc"),
        });
        assert!(matches!(
            c.call_env(Envelope::NONE, w).await,
            Message::Rwrite(_)
        ));
    }
    let r = c
        .call(Message::Tread(zerofs_9p_proto::Tread {
            fid: 2,
            offset: 0,
            count: 100,
        }))
        .await;
    assert_eq!(
        r,
        Message::Rread(zerofs_9p_proto::Rread { data: b("abcabc") })
    );
    server.shutdown().await;
}

/// The reply-lost case: applied, recorded, connection dropped; the retry on a new connection
/// gets the recorded outcome; the ledger outlives the connection.
#[tokio::test]
async fn a_lost_reply_is_recorded_and_replayed_on_a_new_connection() {
    let (server, mut c) = setup().await;
    server.lose_reply_after(ReplyLoss::next(MessageType::Tmkdir));
    let tag = c.tag();
    c.send(&zerofs_9p_proto::Frame::with_envelope(
        tag,
        env(9, 0),
        mkdir("lost"),
    ))
    .await;
    assert!(c.closed().await, "the connection drops instead of replying");
    let mut c = connect(&server).await;
    assert!(exists(&mut c, "lost").await, "the request was applied");
    let replay = c.call_env(env(9, envelope::RETRY), mkdir("lost")).await;
    assert!(
        matches!(replay, Message::Rmkdir(_)),
        "recorded outcome, not EEXIST: {replay:?}"
    );
    server.shutdown().await;
}

/// A replayed create-and-open opens the new fid on the recorded file (ZeroFS's behaviour).
#[tokio::test]
async fn a_replayed_lcreateattr_opens_the_new_fid() {
    let (server, mut c) = setup().await;
    let create = |newfid| {
        Message::Tlcreateattr(Tlcreateattr {
            dfid: 1,
            newfid,
            name: b("f"),
            flags: 2,
            mode: 0o644,
            gid: 0,
        })
    };
    let first = c.call_env(env(5, 0), create(2)).await;
    let again = c.call_env(env(5, envelope::RETRY), create(3)).await;
    assert_eq!(first, again);
    let w = Message::Twrite(Twrite {
        fid: 3,
        offset: 0,
        data: b("via replay"),
    });
    assert!(
        matches!(c.call_env(Envelope::NONE, w).await, Message::Rwrite(_)),
        "fid 3 is open for writing"
    );
    assert_eq!(errno(&c.call_env(env(6, 0), create(4)).await), e::EEXIST);
    server.shutdown().await;
}
