//! The `tokio-io` cursor: write-behind (coalesced, pipelined, errors at the next call) and
//! sequential read-ahead, checked by content and by the frames the server saw.

use std::io::SeekFrom;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use zerofs_client::{Client, OpenOptions};
use zerofs_memserver::zerofs_9p_proto::MessageType;
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

/// A memserver of `generation` and a client of it.
async fn server(generation: Generation) -> (ServerHandle, Arc<Client>) {
    let s = MemServer::start(Config::new(generation)).await.unwrap();
    let c = Client::connect(&s.target()).await.unwrap();
    (s, c)
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) ^ (i >> 11) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_writes_are_coalesced_into_chunks_and_read_back_ahead() {
    let (s, c) = server(Generation::Z).await;
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
    let (_s, c) = server(Generation::Gen2).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_chunk_in_flight_is_reported_by_a_later_small_write_without_a_flush() {
    let (_s, c) = server(Generation::Gen2).await;
    c.write("/ro", b"read only").await.unwrap();
    let f = c.open("/ro", OpenOptions::read_only()).await.unwrap();
    let chunk = c.capabilities().max_write_chunk as usize;
    let mut w = f.cursor();
    // A whole chunk: sent at once (written behind), refused by the server. The refusal is
    // reported by the first write after its reply arrived (this one, if the file's chunk is
    // smaller, or one of the small writes after it), never only at the flush.
    let mut failed = w.write_all(&data(chunk, 3)).await.err();
    let mut accepted = 0;
    while failed.is_none() && accepted < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        match w.write(b"y").await {
            Err(e) => failed = Some(e),
            Ok(_) => accepted += 1,
        }
    }
    let e = failed.expect("no small write reported the failed chunk");
    assert!(e.to_string().contains("/ro"), "{e}");
    assert!(w.flush().await.is_err());
    assert!(w.shutdown().await.is_err());
    assert_eq!(&c.read("/ro").await.unwrap()[..], b"read only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeks_while_writes_are_in_flight_land_every_byte_in_its_place() {
    let (_s, c) = server(Generation::Gen2).await;
    let f = c.create("/s").await.unwrap();
    let mut model = data(3 << 20, 5);
    let mut cur = f.cursor();
    // Several chunks written behind, not flushed.
    cur.write_all(&model).await.unwrap();
    // Back into the middle of what is in flight, and over the end of it.
    assert_eq!(cur.seek(SeekFrom::Start(1 << 20)).await.unwrap(), 1 << 20);
    cur.write_all(b"middle").await.unwrap();
    model[1 << 20..(1 << 20) + 6].copy_from_slice(b"middle");
    assert_eq!(
        cur.seek(SeekFrom::End(-2)).await.unwrap(),
        model.len() as u64 - 2
    );
    cur.write_all(b"tail!").await.unwrap();
    model.truncate(model.len() - 2);
    model.extend_from_slice(b"tail!");
    assert_eq!(
        cur.seek(SeekFrom::Current(-5)).await.unwrap(),
        model.len() as u64 - 5
    );
    let mut back = [0u8; 5];
    cur.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"tail!");
    cur.shutdown().await.unwrap();
    assert!(c.read("/s").await.unwrap() == model);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_ahead_is_dropped_by_the_cursors_own_writes_and_seeks() {
    let (_s, c) = server(Generation::Gen2).await;
    let mut model = data(6 << 20, 9);
    c.write("/r", &model).await.unwrap();
    let f = c.open("/r", OpenOptions::read_write()).await.unwrap();
    let mut cur = f.cursor();
    // Two sequential reads: the second starts the read-ahead (chunks past 2 MiB in flight).
    let mut buf = vec![0u8; 100_000];
    cur.read_exact(&mut buf).await.unwrap();
    cur.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf[..], &model[100_000..200_000]);
    // Overwrite a stretch the read-ahead covers (at the position, and further on).
    cur.write_all(b"fresh").await.unwrap();
    model[200_000..200_005].copy_from_slice(b"fresh");
    // Reading on right after the write (no seek): the bytes after it, from the server.
    let mut next = [0u8; 10];
    cur.read_exact(&mut next).await.unwrap();
    assert_eq!(&next[..], &model[200_005..200_015]);
    cur.seek(SeekFrom::Start(3 << 20)).await.unwrap();
    cur.write_all(b"later").await.unwrap();
    model[3 << 20..(3 << 20) + 5].copy_from_slice(b"later");
    // Reading back through both: the new bytes, not what was read ahead.
    cur.seek(SeekFrom::Start(150_000)).await.unwrap();
    let mut rest = Vec::new();
    cur.read_to_end(&mut rest).await.unwrap();
    assert!(rest == model[150_000..], "stale read-ahead");
    // A seek backwards after reading ahead reads the right place.
    cur.seek(SeekFrom::Start(7)).await.unwrap();
    let mut head = [0u8; 64];
    cur.read_exact(&mut head).await.unwrap();
    assert_eq!(&head[..], &model[7..71]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_all_dropped_midway_loses_nothing_it_accepted() {
    let (_s, c) = server(Generation::Gen2).await;
    let f = c.create("/d").await.unwrap();
    let content = data(24 << 20, 2);
    let mut cur = f.cursor();
    // Cancelled while the write-behind window is full (or finished: either is fine).
    let _ =
        tokio::time::timeout(std::time::Duration::from_millis(2), cur.write_all(&content)).await;
    let done = cur.position() as usize;
    cur.write_all(&content[done..]).await.unwrap();
    cur.shutdown().await.unwrap();
    assert!(c.read("/d").await.unwrap() == content);
}
