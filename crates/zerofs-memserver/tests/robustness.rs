//! A misbehaving client never crashes or wedges the server: random frames of every type.

mod support;

use support::Client;
use zerofs_9p_proto::{Message, MessageType, Tclunk};
use zerofs_memserver::{Config, Generation, MemServer};

/// A small deterministic PRNG (xorshift64*), so a failure is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[tokio::test]
async fn random_frames_get_answers_and_the_server_survives() {
    for (seed, g) in Generation::ALL.into_iter().enumerate() {
        let server = MemServer::start(Config::new(g)).await.unwrap();
        let mut c = Client::to(&server).await;
        c.version(65536, g.best_dialect().version()).await;
        c.attach(1, "").await;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (seed as u64 + 1));
        let types: Vec<u8> = MessageType::ALL
            .iter()
            .map(|t| t.id())
            .chain([0, 6, 106, 112, 124, 200])
            .collect();
        for tag in 1..=400u16 {
            let ty = types[(rng.next() % types.len() as u64) as usize];
            if ty == MessageType::Tversion.id() || ty == MessageType::Tflush.id() {
                continue; // they change the session or wait on others; covered elsewhere
            }
            let len = (rng.next() % 48) as usize;
            let mut frame = vec![0u8; 7 + len];
            frame[..4].copy_from_slice(&((7 + len) as u32).to_le_bytes());
            frame[4] = ty;
            frame[5..7].copy_from_slice(&tag.to_le_bytes());
            for b in &mut frame[7..] {
                // Small fids (likely to exist) and small numbers dominate.
                *b = if rng.next() % 3 == 0 {
                    (rng.next() % 4) as u8
                } else {
                    rng.next() as u8
                };
            }
            c.send_raw(&frame).await;
            // Every request is answered in time (an Rlerror at least); a reply the client
            // cannot decode in its dialect is fine, a timeout or a closed connection is not.
            if let Err(err) = c.recv_within(tag, support::TIMEOUT).await {
                assert!(
                    !err.contains("timeout") && !err.contains("closed"),
                    "{g} type {ty} tag {tag}: {err}"
                );
            }
        }
        assert_eq!(
            c.call(Message::Tclunk(Tclunk { fid: 424242 })).await,
            Message::Rclunk
        );
        let mut fresh = Client::to(&server).await;
        fresh.version(65536, "9P2000.L").await;
        fresh.attach(1, "").await;
        server.shutdown().await;
    }
}
