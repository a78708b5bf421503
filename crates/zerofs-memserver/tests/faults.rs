//! Fault injection and counters of the server handle.

mod support;

use std::time::Duration;

use support::{Client, b, errno};
use zerofs_9p_proto::consts::errno as e;
use zerofs_9p_proto::{Frame, Message, MessageType, Tgetattr, Tmkdir, Twalk};
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss};

async fn ready(c: &mut Client) {
    c.version(65536, "9P2000.L").await;
    c.attach(1, "").await;
}

fn mkdir(name: &str) -> Message {
    Message::Tmkdir(Tmkdir {
        dfid: 1,
        name: b(name),
        mode: 0o755,
        gid: 0,
    })
}

#[tokio::test]
async fn drop_connections_closes_every_live_connection() {
    let server = MemServer::start(Config::new(Generation::Gen2).ephemeral_unix())
        .await
        .unwrap();
    let mut a = Client::to(&server).await;
    let mut u = Client::unix(server.unix_path().unwrap()).await;
    ready(&mut a).await;
    ready(&mut u).await;
    server.drop_connections();
    assert!(a.closed().await && u.closed().await);
    // The server keeps accepting.
    let mut again = Client::to(&server).await;
    ready(&mut again).await;
    server.shutdown().await;
}

#[tokio::test]
async fn stop_and_resume_listening_keeps_the_filesystem_and_address() {
    let server = MemServer::start(Config::new(Generation::Z).ephemeral_unix())
        .await
        .unwrap();
    let addr = server.tcp_addr().unwrap();
    let mut c = Client::to(&server).await;
    ready(&mut c).await;
    assert!(matches!(c.call(mkdir("kept")).await, Message::Rmkdir(_)));
    server.stop_listening().await;
    server.drop_connections();
    assert!(c.closed().await);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens"
    );
    assert!(
        tokio::net::UnixStream::connect(server.unix_path().unwrap())
            .await
            .is_err()
    );
    server.resume_listening().await.unwrap();
    assert_eq!(server.tcp_addr(), Some(addr));
    for mut c in [
        Client::tcp(addr).await,
        Client::unix(server.unix_path().unwrap()).await,
    ] {
        ready(&mut c).await;
        let walk = c
            .call(Message::Twalk(Twalk {
                fid: 1,
                newfid: 2,
                wnames: vec![b("kept")],
            }))
            .await;
        assert!(
            matches!(walk, Message::Rwalk(ref w) if w.wqids.len() == 1),
            "{walk:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_lost_reply_is_applied_but_the_connection_drops() {
    let server = MemServer::start(Config::new(Generation::Plain))
        .await
        .unwrap();
    let mut c = Client::to(&server).await;
    ready(&mut c).await;
    server.lose_reply_after(ReplyLoss::matching(
        1,
        |f: &Frame| matches!(&f.message, Message::Tmkdir(m) if m.name.as_ref() == b"b"),
    ));
    assert!(
        matches!(c.call(mkdir("a")).await, Message::Rmkdir(_)),
        "not matching: answered"
    );
    let tag = c.tag();
    c.send(&Frame::new(tag, mkdir("b"))).await;
    assert!(c.closed().await);
    let mut c = Client::to(&server).await;
    ready(&mut c).await;
    assert_eq!(
        errno(&c.call(mkdir("b")).await),
        e::EEXIST,
        "it was applied"
    );
    // The rule is used up.
    assert!(matches!(c.call(mkdir("c")).await, Message::Rmkdir(_)));
    // next_n counts, and clear_reply_loss removes rules.
    server.lose_reply_after(ReplyLoss::next_n(MessageType::Tmkdir, 5));
    server.clear_reply_loss();
    assert!(matches!(c.call(mkdir("d")).await, Message::Rmkdir(_)));
    server.shutdown().await;
}

#[tokio::test]
async fn reply_delays_apply_and_clear() {
    let server = MemServer::start(Config::new(Generation::Gen1))
        .await
        .unwrap();
    let mut c = Client::to(&server).await;
    ready(&mut c).await;
    server.set_reply_delay(Some(Duration::from_secs(30)));
    server.set_reply_delay_for(MessageType::Tgetattr, Some(Duration::from_millis(1)));
    let getattr = Message::Tgetattr(Tgetattr {
        fid: 1,
        request_mask: 1,
    });
    assert!(
        matches!(c.call(getattr.clone()).await, Message::Rgetattr(_)),
        "per-type delay wins"
    );
    let tag = c.tag();
    c.send(&Frame::new(
        tag,
        Message::Tstatfs(zerofs_9p_proto::Tstatfs { fid: 1 }),
    ))
    .await;
    assert!(
        c.recv_within(tag, Duration::from_millis(200))
            .await
            .is_err(),
        "globally delayed"
    );
    server.set_reply_delay(None);
    server.set_reply_delay_for(MessageType::Tgetattr, None);
    assert!(matches!(c.call(getattr).await, Message::Rgetattr(_)));
    server.shutdown().await;
}

#[tokio::test]
async fn counters_count_frames_per_type_and_connections() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let mut c = Client::to(&server).await;
    ready(&mut c).await;
    for _ in 0..3 {
        c.call(Message::Tgetattr(Tgetattr {
            fid: 1,
            request_mask: 1,
        }))
        .await;
    }
    c.send_raw(&[7, 0, 0, 0, 6, 1, 0]).await;
    assert_eq!(errno(&c.recv(1).await.message), e::ENOSYS);
    let n = server.counters();
    assert_eq!(n.frames(MessageType::Tgetattr), 3);
    assert_eq!(n.frames(MessageType::Tversion), 1);
    assert_eq!(n.frames(MessageType::Tattach), 1);
    assert_eq!(n.frames(MessageType::Twalk), 0);
    assert_eq!(n.unknown_frames(), 1);
    assert_eq!(n.total_frames(), 6);
    assert_eq!(n.connections_accepted(), 1);
    server.reset_counters();
    assert_eq!(server.counters().total_frames(), 0);
    let mut second = Client::to(&server).await;
    second.version(65536, "9P2000.L").await;
    c.call(Message::Tgetattr(Tgetattr {
        fid: 1,
        request_mask: 1,
    }))
    .await;
    let n = server.counters();
    assert_eq!(
        (n.frames(MessageType::Tgetattr), n.connections_accepted()),
        (1, 1)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn locks_are_released_when_a_connection_drops() {
    use zerofs_9p_proto::{LockStatus, LockType, Rlock, Tlock};
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let mut a = Client::to(&server).await;
    let mut bcl = Client::to(&server).await;
    ready(&mut a).await;
    ready(&mut bcl).await;
    let lock = |flags| {
        Message::Tlock(Tlock {
            fid: 1,
            ty: LockType::Write,
            flags,
            start: 0,
            length: 0,
            proc_id: 1,
            client_id: b("c"),
        })
    };
    assert_eq!(
        a.call(lock(0)).await,
        Message::Rlock(Rlock {
            status: LockStatus::Success
        })
    );
    assert_eq!(errno(&bcl.call(lock(0)).await), e::EAGAIN);
    assert_eq!(
        bcl.call(lock(1)).await,
        Message::Rlock(Rlock {
            status: LockStatus::Blocked
        })
    );
    drop(a);
    // The server notices the close and releases; poll (bounded) until the lock is free.
    let mut granted = false;
    for _ in 0..100 {
        if bcl.call(lock(0)).await
            == Message::Rlock(Rlock {
                status: LockStatus::Success,
            })
        {
            granted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(granted);
    server.shutdown().await;
}
