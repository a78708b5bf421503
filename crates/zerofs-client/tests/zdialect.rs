//! The `9P2000.L.Z` features against the memserver: op-id envelopes, the one-round-trip read,
//! verified durability, fallocate, and high availability with an HA pair.

use std::sync::{Arc, Mutex};

use zerofs_9p_proto::{Envelope, Frame, MessageType};
use zerofs_client::{Client, OpenOptions, ZeroFsError};
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss, ServerHandle};

async fn server(generation: Generation) -> ServerHandle {
    MemServer::start(Config::new(generation).ephemeral_unix())
        .await
        .unwrap()
}

async fn client(s: &ServerHandle) -> Arc<Client> {
    Client::connect(&s.unix_target().unwrap()).await.unwrap()
}

/// Records (type, envelope) of every frame carrying an envelope, never losing a reply.
fn record_envelopes(s: &ServerHandle) -> Arc<Mutex<Vec<(MessageType, Envelope)>>> {
    let seen: Arc<Mutex<Vec<(MessageType, Envelope)>>> = Arc::default();
    let sink = seen.clone();
    s.lose_reply_after(ReplyLoss::matching(u32::MAX, move |f: &Frame| {
        if let Some(e) = f.envelope {
            sink.lock().unwrap().push((f.message.msg_type(), e));
        }
        false
    }));
    seen
}

#[tokio::test]
async fn every_covered_mutation_carries_a_fresh_op_id_and_the_epoch() {
    let s = server(Generation::Z).await;
    let c = client(&s).await;
    let seen = record_envelopes(&s);
    c.create_dir("/d", 0o755).await.unwrap();
    c.write("/d/f", b"abc").await.unwrap();
    c.symlink("f", "/d/l").await.unwrap();
    c.hard_link("/d/f", "/d/h").await.unwrap();
    c.chmod("/d/f", 0o600).await.unwrap();
    c.rename("/d/h", "/d/h2").await.unwrap();
    c.remove_file("/d/h2").await.unwrap();
    let seen = seen.lock().unwrap();
    let types: Vec<MessageType> = seen.iter().map(|(t, _)| *t).collect();
    for t in [
        MessageType::Tmkdirattr,
        MessageType::Tlcreateattr,
        MessageType::Twrite,
        MessageType::Tsymlinkattr,
        MessageType::Tlinkattr,
        MessageType::Tsetattrattr,
        MessageType::Trenameat,
        MessageType::Tunlinkat,
    ] {
        assert!(types.contains(&t), "{t:?} missing from {types:?}");
    }
    let mut ids = std::collections::HashSet::new();
    for (t, e) in seen.iter() {
        assert!(e.deduplicates(), "{t:?} went without an op-id");
        assert!(!e.is_retry(), "{t:?} first attempt flagged RETRY");
        assert_eq!(e.origin_epoch, 0, "standalone server: epoch 0");
        assert!(ids.insert(e.op_id), "op-id reused by {t:?}");
    }
}

#[tokio::test]
async fn small_whole_file_read_is_one_lopenatread_after_the_walk() {
    let s = server(Generation::Z).await;
    let c = client(&s).await;
    c.write("/small", b"hello, z").await.unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    c.write("/big", &big).await.unwrap();
    s.reset_counters();
    assert_eq!(&c.read("/small").await.unwrap()[..], b"hello, z");
    let n = s.counters();
    assert_eq!(n.frames(MessageType::Tlopenatread), 1);
    assert_eq!(n.frames(MessageType::Tlopen), 0);
    assert_eq!(
        n.frames(MessageType::Tread),
        0,
        "the prefetch was the whole file"
    );
    assert_eq!(
        n.total_frames(),
        2 + n.frames(MessageType::Tclunk),
        "walk + Tlopenatread (+ background clunks): {:?}",
        n.by_type()
    );
    s.reset_counters();
    assert_eq!(&c.read("/big").await.unwrap()[..], &big[..]);
    let n = s.counters();
    assert_eq!(n.frames(MessageType::Tlopenatread), 1);
    assert!(
        n.frames(MessageType::Tread) >= 2,
        "larger files fall back to reads"
    );
    assert_eq!(
        &c.read("/empty-not")
            .await
            .map(|_| ())
            .unwrap_err()
            .to_errno(),
        &2
    );
}

#[tokio::test]
async fn gen2_reads_keep_tlopen() {
    let s = server(Generation::Gen2).await;
    let c = client(&s).await;
    c.write("/small", b"x").await.unwrap();
    s.reset_counters();
    assert_eq!(&c.read("/small").await.unwrap()[..], b"x");
    assert_eq!(s.counters().frames(MessageType::Tlopenatread), 0);
    assert_eq!(s.counters().frames(MessageType::Tlopen), 1);
}

#[tokio::test]
async fn syncs_are_verified_barriers_and_a_lost_lineage_is_stale() {
    let s = server(Generation::Z).await;
    let c = client(&s).await;
    let f = c.create("/f").await.unwrap();
    f.write_at(0, b"data").await.unwrap();
    s.reset_counters();
    f.sync_all().await.unwrap();
    f.sync_data().await.unwrap();
    c.sync().await.unwrap();
    assert_eq!(s.counters().frames(MessageType::Tfsyncdur), 3);
    assert_eq!(s.counters().frames(MessageType::Tfsync), 0);
    s.rotate_lineage();
    f.write_at(0, b"more").await.unwrap();
    let err = f.sync_all().await.unwrap_err();
    assert_eq!(err, ZeroFsError::Stale { path: "/f".into() });
    assert!(err.to_string().contains("may not be durable"), "{err}");
    assert_eq!(err.to_errno(), 116);
    // The client was told once; it adopts the new lineage after a reconnect.
    s.drop_connections();
    c.sync().await.unwrap();
    f.sync_data().await.unwrap();
}

#[tokio::test]
async fn a_lineage_change_across_a_reconnect_is_still_reported() {
    let s = server(Generation::Z).await;
    let c = client(&s).await;
    let f = c.create("/f").await.unwrap();
    f.write_at(0, b"data").await.unwrap();
    s.rotate_lineage();
    s.drop_connections();
    assert!(matches!(c.sync().await, Err(ZeroFsError::Stale { .. })));
    c.sync().await.unwrap();
}

#[tokio::test]
async fn other_dialects_sync_with_tfsync() {
    let s = server(Generation::Gen2).await;
    let c = client(&s).await;
    let f = c.create("/f").await.unwrap();
    f.sync_all().await.unwrap();
    c.sync().await.unwrap();
    assert_eq!(s.counters().frames(MessageType::Tfsyncdur), 0);
    assert!(s.counters().frames(MessageType::Tfsync) >= 2);
}

#[tokio::test]
async fn allocate_punch_hole_and_zero_range() {
    let s = server(Generation::Z).await;
    let c = client(&s).await;
    let f = c.create("/f").await.unwrap();
    f.write_at(0, &[7u8; 100]).await.unwrap();
    f.allocate(0, 4096).await.unwrap();
    assert_eq!(f.metadata().await.unwrap().size, 4096);
    f.punch_hole(10, 20).await.unwrap();
    let data = c.read("/f").await.unwrap();
    assert_eq!(data.len(), 4096, "punching keeps the size");
    assert!(data[..10].iter().all(|b| *b == 7));
    assert!(data[10..30].iter().all(|b| *b == 0));
    assert!(data[30..100].iter().all(|b| *b == 7));
    f.zero_range(50, 10, true).await.unwrap();
    f.zero_range(4000, 1000, true).await.unwrap();
    assert_eq!(f.metadata().await.unwrap().size, 4096);
    f.zero_range(4000, 1000, false).await.unwrap();
    assert_eq!(f.metadata().await.unwrap().size, 5000);
    let data = c.read("/f").await.unwrap();
    assert!(data[50..60].iter().all(|b| *b == 0));
    assert!(data[60..100].iter().all(|b| *b == 7));
    let ro = c.open("/f", OpenOptions::read_only()).await.unwrap();
    assert_eq!(ro.allocate(0, 1).await.unwrap_err().to_errno(), 9, "EBADF");
}

#[tokio::test]
async fn lost_fallocate_replies_apply_exactly_once() {
    let s = server(Generation::Z).await;
    let c = client(&s).await;
    let f = c.create("/f").await.unwrap();
    for i in 1..=200u64 {
        s.lose_reply_after(ReplyLoss::next(MessageType::Tfallocate));
        f.allocate(0, i * 10).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().size, i * 10);
    }
    assert!(s.counters().frames(MessageType::Tfallocate) >= 400);
}

#[tokio::test]
async fn fallocate_elsewhere_is_eopnotsupp_without_a_round_trip() {
    for g in [Generation::Plain, Generation::Gen1, Generation::Gen2] {
        let s = server(g).await;
        let c = client(&s).await;
        let f = c.create("/f").await.unwrap();
        s.reset_counters();
        for r in [
            f.allocate(0, 10).await,
            f.punch_hole(0, 10).await,
            f.zero_range(0, 10, false).await,
        ] {
            assert!(
                matches!(r, Err(ZeroFsError::Io { errno: 95, .. })),
                "{g:?}: {r:?}"
            );
        }
        assert_eq!(s.counters().total_frames(), 0);
    }
}

#[tokio::test]
async fn eshutdown_is_resent_with_retry_and_applied_once() {
    let s = server(Generation::Z).await;
    let c = client(&s).await;
    let seen = record_envelopes(&s);
    for i in 0..50 {
        s.shutdown_reply_after(ReplyLoss::next(MessageType::Tmkdirattr));
        c.create_dir(format!("/d{i}"), 0o755).await.unwrap();
    }
    assert_eq!(c.read_dir("/").await.unwrap().len(), 50);
    let seen = seen.lock().unwrap();
    let mk: Vec<&Envelope> = seen
        .iter()
        .filter(|(t, _)| *t == MessageType::Tmkdirattr)
        .map(|(_, e)| e)
        .collect();
    assert_eq!(mk.len(), 100, "each mkdir sent twice");
    for pair in mk.chunks(2) {
        assert_eq!(pair[0].op_id, pair[1].op_id, "the resend keeps the op-id");
        assert!(!pair[0].is_retry() && pair[1].is_retry());
    }
}

async fn pair() -> (ServerHandle, ServerHandle, Vec<String>) {
    let (a, b) = MemServer::start_pair(
        Config::new(Generation::Z).ephemeral_unix(),
        Config::new(Generation::Z).ephemeral_unix(),
    )
    .await
    .unwrap();
    let targets = vec![b.unix_target().unwrap(), a.unix_target().unwrap()];
    (a, b, targets)
}

#[tokio::test]
async fn the_leader_of_a_set_is_found_from_a_comma_list_and_connect_multi() {
    let (a, b, targets) = pair().await;
    assert!(a.is_leader() && !b.is_leader());
    let c = Client::connect(&targets.join(",")).await.unwrap();
    c.write("/x", b"1").await.unwrap();
    assert_eq!(
        b.counters().frames(MessageType::Tattach),
        0,
        "the follower refused first"
    );
    assert!(
        b.counters().frames(MessageType::Tgetlineage) >= 1,
        "the follower was probed"
    );
    let c2 = Client::connect_multi(&targets).await.unwrap();
    assert_eq!(&c2.read("/x").await.unwrap()[..], b"1");
    let seen = record_envelopes(&a);
    c2.create_dir("/e", 0o755).await.unwrap();
    assert_eq!(
        seen.lock().unwrap()[0].1.origin_epoch,
        1,
        "the pair's writer epoch"
    );
}

#[tokio::test]
async fn enotconn_reroutes_to_the_new_leader() {
    let (a, b, targets) = pair().await;
    let c = Client::connect_multi(&targets).await.unwrap();
    let f = c.create("/f").await.unwrap();
    f.write_at(0, b"one").await.unwrap();
    // Demote without closing connections: the next request is refused before dispatch.
    a.demote();
    assert_eq!(b.promote(), 2);
    c.create_dir("/after", 0o755).await.unwrap();
    f.write_at(3, b"two").await.unwrap();
    assert_eq!(&c.read("/f").await.unwrap()[..], b"onetwo");
    assert!(b.counters().frames(MessageType::Tmkdirattr) >= 1);
    let seen = record_envelopes(&b);
    c.create_dir("/later", 0o755).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0].1.origin_epoch, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_mid_workload_loses_and_doubles_nothing() {
    let (a, b, targets) = pair().await;
    let c = Client::connect_multi(&targets).await.unwrap();
    const TASKS: usize = 4;
    const PER: usize = 150;
    let mut work = Vec::new();
    for t in 0..TASKS {
        let c = c.clone();
        work.push(tokio::spawn(async move {
            c.create_dir(format!("/t{t}"), 0o755).await.unwrap();
            let f = c.create(format!("/t{t}.log")).await.unwrap();
            for i in 0..PER {
                c.create_dir(format!("/t{t}/d{i}"), 0o755).await.unwrap();
                f.write_at(i as u64, &[b'a' + (i % 26) as u8])
                    .await
                    .unwrap();
                if i % 3 == 0 {
                    c.remove_dir(format!("/t{t}/d{i}")).await.unwrap();
                }
            }
        }));
    }
    // Fail over back and forth while the workload runs (bounded: 6 fail-overs).
    let (mut from, mut to) = (a.clone(), b.clone());
    for _ in 0..6 {
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        assert!(from.fail_over_to(&to).is_some());
        std::mem::swap(&mut from, &mut to);
    }
    for w in work {
        w.await.unwrap();
    }
    for t in 0..TASKS {
        let mut names: Vec<String> = c
            .read_dir(format!("/t{t}"))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        let mut expect: Vec<String> = (0..PER)
            .filter(|i| i % 3 != 0)
            .map(|i| format!("d{i}"))
            .collect();
        expect.sort();
        assert_eq!(names, expect, "task {t}");
        let log = c.read(format!("/t{t}.log")).await.unwrap();
        let want: Vec<u8> = (0..PER).map(|i| b'a' + (i % 26) as u8).collect();
        assert_eq!(&log[..], &want[..]);
    }
    assert_eq!(a.writer_epoch(), 7);
}

#[tokio::test]
async fn the_retry_horizon_is_a_builder_setting() {
    let (a, _b, targets) = pair().await;
    let c = zerofs_client::ClientBuilder::multi(&targets)
        .retry_horizon(std::time::Duration::from_millis(150))
        .connect()
        .await
        .unwrap();
    c.create_dir("/ok", 0o755).await.unwrap();
    a.demote();
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        c.create_dir("/refused", 0o755),
    )
    .await
    .expect("fails at the short horizon, not the default 120 s")
    .unwrap_err();
    assert!(matches!(err, ZeroFsError::NotLeader { .. }), "{err:?}");
}

#[tokio::test]
async fn connect_multi_passes_over_a_black_holed_node() {
    let (a, _b, _) = pair().await;
    // Accepts connections, never answers Tversion.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let c = tokio::time::timeout(
        std::time::Duration::from_secs(25),
        Client::connect_multi(&[hole, a.unix_target().unwrap()]),
    )
    .await
    .expect("the default 3 s probe moves on")
    .unwrap();
    c.write("/x", b"1").await.unwrap();
    assert_eq!(&c.read("/x").await.unwrap()[..], b"1");
    assert!(a.counters().frames(MessageType::Tattach) >= 1);
}
