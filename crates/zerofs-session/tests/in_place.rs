//! Large `Rread` payloads are received straight into the caller's buffer: multi-chunk reads
//! come back as one buffer with the right bytes, across short reads, EOF and reconnects.

mod support;

use bytes::{Bytes, BytesMut};
use support::{create_file, data, within};
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};
use zerofs_session::{Fid, Options, ReadBuffer, Session};

async fn file_with(s: &Session, payload: &Bytes) -> Fid {
    let file = create_file(s, "f").await;
    assert_eq!(
        within(s.write(&file, 0, payload.clone())).await.unwrap(),
        payload.len() as u64
    );
    file
}

/// A memserver of `generation` and a session to it at `msize`.
async fn serve(generation: Generation, msize: u32) -> (ServerHandle, Session) {
    let server = MemServer::start(Config::new(generation)).await.unwrap();
    let options = Options {
        msize,
        ..Options::default()
    };
    let s = Session::connect(&server.target(), options).await.unwrap();
    (server, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_chunk_reads_land_in_place() {
    let (_server, s) = serve(Generation::Gen2, 256 * 1024 + 4096).await;
    // Not a multiple of the chunk: the last reply is short (EOF inside the span).
    let payload = data(3_000_000 + 12_345, 5);
    let f = file_with(&s, &payload).await;
    let before = s.stats().bytes_received_in_place;
    let all = within(s.read(&f, 0, payload.len() + 1_000_000))
        .await
        .unwrap();
    assert_eq!(all, payload);
    let placed = s.stats().bytes_received_in_place - before;
    assert!(
        placed >= payload.len() as u64 - 300_000,
        "only {placed} of {} bytes in place",
        payload.len()
    );
    // An offset span in the middle.
    let mid = within(s.read(&f, 777_777, 1_500_000)).await.unwrap();
    assert_eq!(mid, payload.slice(777_777..2_277_777));
    // One chunk: the reply buffer itself, not in place.
    let before = s.stats().bytes_received_in_place;
    let one = within(s.read(&f, 10, 100_000)).await.unwrap();
    assert_eq!(one, payload.slice(10..100_010));
    assert_eq!(s.stats().bytes_received_in_place, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_into_fills_the_given_buffer() {
    let (_server, s) = serve(Generation::Plain, 1 << 20).await;
    let payload = data(500_000, 9);
    let f = file_with(&s, &payload).await;
    // Carve two places from one allocation; they join back in place.
    let mut room = BytesMut::with_capacity(200_000);
    let second = room.split_off(100_000);
    let first = within(s.read_into(&f, 0, room)).await.unwrap();
    let second = within(s.read_into(&f, 100_000, second)).await.unwrap();
    assert_eq!(first, payload[..100_000]);
    assert_eq!(second, payload[100_000..200_000]);
    let base = first.as_ptr();
    let mut joined = first;
    joined.unsplit(second);
    assert_eq!(
        joined.as_ptr(),
        base,
        "contiguous places join without a copy"
    );
    assert_eq!(joined, payload[..200_000]);
    // Past the end: empty; across it: short.
    let past = within(s.read_into(&f, 600_000, BytesMut::with_capacity(70_000)))
        .await
        .unwrap();
    assert!(past.is_empty());
    let tail = within(s.read_into(&f, 450_000, BytesMut::with_capacity(100_000)))
        .await
        .unwrap();
    assert_eq!(tail, payload[450_000..]);
}

/// Spans appended to one `ReadBuffer` sized for the whole file land in one allocation, and
/// the count each returns stops at the end of the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_spans_share_one_reservation() {
    let (_server, s) = serve(Generation::Gen2, 256 * 1024 + 4096).await;
    let payload = data(2_500_000, 3);
    let f = file_with(&s, &payload).await;
    let mut buf = ReadBuffer::new(payload.len());
    let first = within(s.read_append(&f, 0, 1_000_000, &mut buf))
        .await
        .unwrap();
    assert_eq!(first, 1_000_000);
    assert_eq!(buf.len(), 1_000_000);
    // Asks past the end: gets only the rest.
    let second = within(s.read_append(&f, 1_000_000, 4_000_000, &mut buf))
        .await
        .unwrap();
    assert_eq!(second, 1_500_000);
    let placed = s.stats().bytes_received_in_place;
    let all = buf.finish();
    assert_eq!(all, payload);
    assert!(placed >= 2_000_000, "only {placed} bytes in place");
    // Nothing to append past the end.
    let mut empty = ReadBuffer::new(10);
    assert_eq!(
        within(s.read_append(&f, 9_000_000, 600_000, &mut empty))
            .await
            .unwrap(),
        0
    );
    assert!(empty.is_empty());
}

/// A multi-chunk read ending at the last addressable offset never computes an offset past
/// it (no overflow): it is clamped, and past the end of the file it is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_at_the_end_of_offset_space_is_clamped() {
    let (_server, s) = serve(Generation::Plain, 64 * 1024).await;
    let f = file_with(&s, &data(1000, 2)).await;
    for len in [1usize, 70_000, 10 << 20] {
        let got = within(s.read(&f, u64::MAX - 100_000, len)).await.unwrap();
        assert!(got.is_empty(), "len {len}: {} bytes", got.len());
    }
}

/// Small chunks never use the in-place path (and still read right).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_chunks_are_copied() {
    let (_server, s) = serve(Generation::Gen2, 32 * 1024).await;
    let payload = data(400_000, 1);
    let f = file_with(&s, &payload).await;
    let all = within(s.read(&f, 0, payload.len())).await.unwrap();
    assert_eq!(all, payload);
    assert_eq!(s.stats().bytes_received_in_place, 0);
}

/// Connections dropped while large reads are in flight: the reads are resent (their places
/// may be lost with the connection; the data is then copied) and come back right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_in_place_survive_dropped_connections() {
    let (server, s) = serve(Generation::Gen2, 128 * 1024 + 4096).await;
    let payload = data(2_000_000, 3);
    let f = file_with(&s, &payload).await;
    for round in 0..5 {
        let read = s.read(&f, 0, payload.len());
        let dropper = async {
            tokio::time::sleep(std::time::Duration::from_millis(round)).await;
            server.drop_connections();
        };
        let (got, ()) = tokio::join!(within(read), dropper);
        assert_eq!(got.unwrap(), payload, "round {round}");
    }
}
