//! Concurrent identical stats share round trips, and never answer from before the call.

use std::sync::Arc;
use std::time::Duration;

use zerofs_9p_proto::MessageType;
use zerofs_client::Client;
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

const DELAY: Duration = Duration::from_millis(30);

async fn setup() -> (ServerHandle, Arc<Client>) {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let client = Client::connect(&server.target()).await.unwrap();
    client.create_dir_all("/a/b", 0o755).await.unwrap();
    client.write("/a/b/f", b"12345").await.unwrap();
    (server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stats_of_one_path_share_round_trips() {
    let (server, client) = setup().await;
    server.set_reply_delay_for(MessageType::Twalkgetattr, Some(DELAY));
    server.reset_counters();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.stat("/a/b/f").await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().size, 5);
    }
    let sent = server.counters().frames(MessageType::Twalkgetattr);
    assert!(
        (1..=8).contains(&sent),
        "64 concurrent stats took {sent} Twalkgetattr"
    );
    // Different paths are not merged.
    client.write("/a/b/g", b"1").await.unwrap();
    server.reset_counters();
    let (f, g) = tokio::join!(client.stat("/a/b/f"), client.stat("/a/b/g"));
    assert_eq!((f.unwrap().size, g.unwrap().size), (5, 1));
    assert_eq!(server.counters().frames(MessageType::Twalkgetattr), 2);
}

/// A stat that starts after a change sees it, even while an older stat of the same path is
/// still in flight (its answer predates the change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stat_never_answers_from_before_it_started() {
    let (server, client) = setup().await;
    let file = client
        .open("/a/b/f", zerofs_client::OpenOptions::write_only())
        .await
        .unwrap();
    server.reset_counters();
    server.set_reply_delay_for(MessageType::Twalkgetattr, Some(10 * DELAY));
    let old = tokio::spawn({
        let c = client.clone();
        async move { c.stat("/a/b/f").await }
    });
    // The old stat is applied by the server (then its reply waits out the delay).
    let mut applied = false;
    for _ in 0..200 {
        if server.counters().frames(MessageType::Twalkgetattr) > 0 {
            applied = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(applied);
    tokio::time::sleep(Duration::from_millis(5)).await;
    file.write_at(5, b"6789").await.unwrap();
    let new = client.stat("/a/b/f").await.unwrap();
    assert_eq!(new.size, 9, "the later stat sees the write");
    assert_eq!(
        old.await.unwrap().unwrap().size,
        5,
        "the older one predates it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_shared_too() {
    let (server, client) = setup().await;
    server.set_reply_delay_for(MessageType::Twalkgetattr, Some(DELAY));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.exists("/a/b/missing").await })
        })
        .collect();
    for t in tasks {
        assert!(!t.await.unwrap().unwrap());
    }
    assert!(server.counters().frames(MessageType::Twalkgetattr) <= 4);
}
