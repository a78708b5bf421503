//! Concurrent execution, out-of-order replies and Tflush per generation (PROTOCOL.md §5.2-§5.3).

mod support;

use std::time::Duration;

use support::{Client, QUIET, errno};
use zerofs_9p_proto::consts::errno as e;
use zerofs_9p_proto::{Frame, Message, MessageType, Tflush, Tgetattr, Tstatfs};
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

const SLOW: Duration = Duration::from_millis(300);

async fn setup(g: Generation) -> (ServerHandle, Client) {
    let server = MemServer::start(Config::new(g)).await.unwrap();
    let mut c = Client::to(&server).await;
    c.version(65536, g.best_dialect().version()).await;
    c.attach(1, "").await;
    server.set_reply_delay_for(MessageType::Tgetattr, Some(SLOW));
    (server, c)
}

fn getattr(tag: u16) -> Frame {
    Frame::new(
        tag,
        Message::Tgetattr(Tgetattr {
            fid: 1,
            request_mask: 0x3fff,
        }),
    )
}

fn flush(tag: u16, oldtag: u16) -> Frame {
    Frame::new(tag, Message::Tflush(Tflush { oldtag }))
}

#[tokio::test]
async fn a_slow_request_does_not_block_a_later_one() {
    for g in Generation::ALL {
        let (server, mut c) = setup(g).await;
        c.send(&getattr(1)).await;
        c.send(&Frame::new(2, Message::Tstatfs(Tstatfs { fid: 1 })))
            .await;
        let first = c.recv_any().await;
        assert_eq!(first.tag, 2, "{g}: the fast reply comes first");
        assert!(matches!(first.message, Message::Rstatfs(_)));
        assert!(matches!(c.recv(1).await.message, Message::Rgetattr(_)));
        server.shutdown().await;
    }
}

#[tokio::test]
async fn many_requests_in_flight_all_answered() {
    let (server, mut c) = setup(Generation::Z).await;
    server.set_reply_delay_for(MessageType::Tgetattr, None);
    for tag in 1..=200u16 {
        c.send(&getattr(tag)).await;
    }
    for tag in 1..=200u16 {
        assert!(
            matches!(c.recv(tag).await.message, Message::Rgetattr(_)),
            "tag {tag}"
        );
    }
    server.shutdown().await;
}

/// A client that stops reading while it keeps sending: replies back up through the socket
/// into the server's reply queue, requests keep being executed, and once the client reads
/// again every one is answered, in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_backed_up_behind_a_client_that_does_not_read_are_all_delivered() {
    let dir = std::env::temp_dir().join(format!("zerofs-backlog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let server = MemServer::start(Config::new(Generation::Gen2).unix(Some(sock.clone())))
        .await
        .unwrap();
    let (mut c, gate) = Client::unix_gated(&sock).await;
    c.version(65536, Generation::Gen2.best_dialect().version())
        .await;
    c.attach(1, "").await;
    gate.send_replace(false);
    // ~6 MiB of replies: more than the socket buffers and the server's queue hold.
    const N: u16 = 40_000;
    for tag in 1..=N {
        c.send(&getattr(tag)).await;
    }
    gate.send_replace(true);
    for tag in 1..=N {
        assert!(
            matches!(c.recv(tag).await.message, Message::Rgetattr(_)),
            "tag {tag}"
        );
    }
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn flush_on_plain_is_eopnotsupp_and_the_target_still_replies() {
    let (server, mut c) = setup(Generation::Plain).await;
    c.send(&getattr(1)).await;
    c.send(&flush(2, 1)).await;
    let first = c.recv_any().await;
    assert_eq!(first.tag, 2, "0.19.1 answers Tflush at once");
    assert_eq!(errno(&first.message), e::EOPNOTSUPP);
    assert!(matches!(c.recv(1).await.message, Message::Rgetattr(_)));
    server.shutdown().await;
}

#[tokio::test]
async fn flush_on_gen1_and_gen2_answers_only_the_latest() {
    for g in [Generation::Gen1, Generation::Gen2] {
        let (server, mut c) = setup(g).await;
        c.send(&getattr(1)).await;
        c.send(&flush(20, 1)).await;
        c.send(&flush(21, 1)).await;
        let first = c.recv_any().await;
        assert_eq!(first.tag, 1, "{g}: the target's reply first");
        assert!(matches!(first.message, Message::Rgetattr(_)));
        assert_eq!(c.recv(21).await.message, Message::Rflush, "{g}");
        assert!(
            c.recv_within(20, QUIET).await.is_err(),
            "{g}: the earlier Tflush gets no reply"
        );
        // Flushing a tag not in flight answers at once.
        c.send(&flush(22, 999)).await;
        assert_eq!(c.recv(22).await.message, Message::Rflush);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn flush_on_z_answers_every_one_in_order_after_the_target() {
    let (server, mut c) = setup(Generation::Z).await;
    c.send(&getattr(1)).await;
    c.send(&flush(20, 1)).await;
    c.send(&flush(21, 1)).await;
    let order: Vec<u16> = [c.recv_any().await, c.recv_any().await, c.recv_any().await]
        .iter()
        .map(|f| f.tag)
        .collect();
    assert_eq!(order, vec![1, 20, 21]);
    c.send(&flush(23, 999)).await;
    assert_eq!(c.recv(23).await.message, Message::Rflush);
    server.shutdown().await;
}
