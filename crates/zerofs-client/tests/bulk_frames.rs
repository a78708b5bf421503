//! Frames per bulk call on the `.Z` memserver (issue 19): a 1 MiB `read_at` is one `Tread` of
//! exactly 1 MiB with the default msize (ZeroFS's own client cuts it into `msize − 11` bytes
//! and an 11-byte second request).

use std::sync::{Arc, Mutex};

use zerofs_9p_proto::{Frame, Message, MessageType};
use zerofs_client::{Client, OpenOptions};
use zerofs_memserver::{Config, Generation, MemServer, ReplyLoss};

const MIB: u32 = 1 << 20;

#[tokio::test]
async fn a_one_mib_read_at_is_one_tread_of_one_mib() {
    let s = MemServer::start(Config::new(Generation::Z).ephemeral_unix())
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
    assert_eq!(*counts.lock().unwrap(), [MIB; 4]);
    let n = s.counters();
    assert_eq!(n.frames(MessageType::Tread), 4);
    assert_eq!(n.total_frames(), 4, "nothing but the reads");
}
