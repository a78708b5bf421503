//! The `tokio-io` cursor: write-behind (coalesced, pipelined, errors at the next call) and
//! sequential read-ahead, checked by content and by the frames the server saw.

use std::io::SeekFrom;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use zerofs_client::{Client, OpenOptions};
use zerofs_memserver::zerofs_9p_proto::MessageType;
use zerofs_memserver::{Config, Generation, MemServer};

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) ^ (i >> 11) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_writes_are_coalesced_into_chunks_and_read_back_ahead() {
    let s = MemServer::start(Config::new(Generation::Z)).await.unwrap();
    let c = Client::connect(&s.target()).await.unwrap();
    let f = c.create("/f").await.unwrap();
    let content = data(5 << 20, 1);
    let chunk = c.capabilities().max_write_chunk as usize;
    s.reset_counters();
    let mut w = f.cursor();
    for piece in content.chunks(8 << 10) {
        w.write_all(piece).await.unwrap();
    }
    w.flush().await.unwrap();
    let writes = s.counters().frames(MessageType::Twrite);
    assert!(
        writes <= (content.len() / chunk + 2) as u64,
        "{writes} Twrites for {} bytes",
        content.len()
    );
    assert_eq!(c.read("/f").await.unwrap(), content);

    // tokio::io::copy out of a cursor: whole chunks read ahead (not one request per 8 KiB
    // buffer); at most a window of reads (8) past the end before the short one is seen.
    s.reset_counters();
    let mut r = f.cursor();
    let mut back = Vec::new();
    tokio::io::copy(&mut r, &mut back).await.unwrap();
    assert!(back == content);
    let reads = s.counters().frames(MessageType::Tread);
    let rchunk = c.capabilities().max_read_chunk as usize;
    assert!(
        reads <= (content.len() / rchunk + 2 + 8) as u64,
        "{reads} Treads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_seeks_and_writes_interleave_consistently() {
    let s = MemServer::start(Config::new(Generation::Plain).max_msize(64 << 10))
        .await
        .unwrap();
    let c = Client::connect(&s.target()).await.unwrap();
    let mut model = data(700_000, 7);
    c.write("/g", &model).await.unwrap();
    let f = c.open("/g", OpenOptions::read_write()).await.unwrap();
    let mut cur = f.cursor();
    let mut x = 12345u64;
    for step in 0..300 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = (x >> 33) % model.len() as u64;
        let len = ((x >> 13) % 100_000) as usize + 1;
        match step % 3 {
            0 => {
                cur.seek(SeekFrom::Start(at)).await.unwrap();
                let mut buf = vec![0u8; len];
                let n = cur.read(&mut buf).await.unwrap();
                let want = &model[at as usize..(at as usize + n).min(model.len())];
                assert_eq!(&buf[..n], want, "step {step}");
                assert_eq!(cur.position(), at + n as u64);
            }
            1 => {
                // Sequential reads continuing where the last ended (read-ahead in use).
                let pos = cur.position() as usize;
                let mut buf = vec![0u8; len.min(model.len() - pos)];
                cur.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf[..], &model[pos..pos + buf.len()], "step {step}");
            }
            _ => {
                let pos = cur.position() as usize;
                let bytes = data(len.min(model.len() - pos), step as u8);
                cur.write_all(&bytes).await.unwrap();
                model[pos..pos + bytes.len()].copy_from_slice(&bytes);
                // The cursor reads its own pending writes.
                cur.seek(SeekFrom::Start(pos as u64)).await.unwrap();
                let mut back = vec![0u8; bytes.len()];
                cur.read_exact(&mut back).await.unwrap();
                assert_eq!(back, bytes, "step {step}");
            }
        }
    }
    cur.flush().await.unwrap();
    assert!(c.read("/g").await.unwrap() == model);
    assert_eq!(
        cur.seek(SeekFrom::End(-1)).await.unwrap(),
        model.len() as u64 - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_behind_is_reported_at_the_next_write_flush_and_shutdown() {
    let s = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let c = Client::connect(&s.target()).await.unwrap();
    c.write("/ro", b"read only").await.unwrap();
    // Opened for reading only: the server refuses every write.
    let f = c.open("/ro", OpenOptions::read_only()).await.unwrap();
    let mut w = f.cursor();
    // Accepted into the write-behind buffer...
    w.write_all(b"x").await.unwrap();
    // ...and refused on its way out.
    assert!(w.flush().await.is_err());
    assert!(w.write_all(b"y").await.is_err());
    assert!(w.shutdown().await.is_err());
    assert_eq!(&c.read("/ro").await.unwrap()[..], b"read only");
}
