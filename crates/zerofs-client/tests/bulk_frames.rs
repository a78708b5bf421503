//! Frames per bulk call (issue 19): a 1 MiB `read_at` is two `Tread`s of 512 KiB in flight at
//! once on `.Z` (ZeroFS 2.x serves them on two cores; its own client sends `msize − 11` bytes
//! and then an 11-byte second request), and one `Tread` of exactly 1 MiB on the other
//! dialects, with the default msize.

use std::sync::{Arc, Mutex};

use zerofs_9p_proto::{Frame, Message, MessageType};
use zerofs_client::{Client, OpenOptions};
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss};

const MIB: u32 = 1 << 20;

/// The `Tread` counts the server receives for four 1 MiB `read_at` calls (checking the data).
async fn tread_counts(generation: Generation) -> Vec<u32> {
    let s = MemServer::start(Config::new(generation).ephemeral_unix())
        .await
        .unwrap();
    let c = Client::connect(&s.unix_target().unwrap()).await.unwrap();
    let data: Vec<u8> = (0..4 * MIB).map(|i| (i % 251) as u8).collect();
    c.write("/big", &data).await.unwrap();
    let f = c.open("/big", OpenOptions::read_only()).await.unwrap();
    let counts: Arc<Mutex<Vec<u32>>> = Arc::default();
    let sink = counts.clone();
    s.lose_reply_after(ReplyLoss::matching(u32::MAX, move |fr: &Frame| {
        if let Message::Tread(t) = &fr.message {
            sink.lock().unwrap().push(t.count);
        }
        false
    }));
    s.reset_counters();
    for k in 0..4u32 {
        let got = f.read_at(u64::from(k * MIB), MIB).await.unwrap();
        assert_eq!(
            &got[..],
            &data[(k * MIB) as usize..((k + 1) * MIB) as usize]
        );
    }
    s.clear_reply_loss();
    let n = s.counters();
    let counts = counts.lock().unwrap().clone();
    assert_eq!(n.frames(MessageType::Tread), counts.len() as u64);
    assert_eq!(
        n.total_frames(),
        counts.len() as u64,
        "nothing but the reads"
    );
    counts
}

#[tokio::test]
async fn a_one_mib_read_at_is_two_treads_of_half_a_mib_on_z() {
    let half = zerofs_session::Z_READ_PIECE as u32;
    assert_eq!(half, MIB / 2);
    assert_eq!(tread_counts(Generation::Z).await, [half; 8]);
}

#[tokio::test]
async fn a_one_mib_read_at_is_one_tread_of_one_mib_elsewhere() {
    for g in [Generation::Gen1, Generation::Gen2] {
        assert_eq!(tread_counts(g).await, [MIB; 4], "{g:?}");
    }
}
