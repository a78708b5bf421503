//! Tests of the chunk store (`FileData`).

use proptest::prelude::*;

use super::*;

const C: usize = CHUNK as usize;

fn read(f: &FileData, offset: u64, count: u64) -> Vec<u8> {
    f.read(offset, count).to_vec()
}

#[test]
fn a_write_at_one_tebibyte_allocates_one_chunk() {
    let mut f = FileData::default();
    f.write(1 << 40, b"hello").unwrap();
    assert_eq!(f.len(), (1 << 40) + 5);
    assert_eq!(f.allocated_chunks(), 1);
    assert_eq!(read(&f, 1 << 40, 10), b"hello");
    assert_eq!(read(&f, 12345, 4), vec![0; 4]);
}

#[test]
fn empty_reads_and_zero_ranges_are_empty() {
    let mut f = FileData::default();
    assert!(f.read(0, 0).is_empty());
    f.write(0, b"abc").unwrap();
    assert!(f.read(1, 0).is_empty());
    assert!(f.read(3, 10).is_empty());
    assert!(f.read(3, 10).pieces().is_empty());
    f.zero(1, 0);
    f.zero(10, 5);
    assert_eq!(read(&f, 0, 10), b"abc");
}

#[test]
fn overflowing_writes_are_efbig() {
    let mut f = FileData::default();
    assert_eq!(f.write(u64::MAX - 1, b"abc"), Err(Errno::EFBIG));
    assert_eq!(f.write(MAX_FILE_SIZE, b"a"), Err(Errno::EFBIG));
    assert_eq!(f.set_len(u64::MAX), Err(Errno::EFBIG));
    assert_eq!(f.len(), 0);
}

#[test]
fn shrinking_then_growing_reads_zeros() {
    let mut f = FileData::default();
    f.write(0, &[7; 100]).unwrap();
    f.set_len(10).unwrap();
    assert_eq!(
        f.chunk(0).map(Bytes::len),
        Some(10),
        "the chunk is shortened"
    );
    f.set_len(100).unwrap();
    let back = read(&f, 0, 100);
    assert_eq!(&back[..10], &[7; 10]);
    assert!(back[10..].iter().all(|&b| b == 0));
    // Writing past the stored end of a shortened chunk zero-fills the gap, not stale bytes.
    f.write(50, b"x").unwrap();
    let back = read(&f, 0, 100);
    assert!(back[10..50].iter().all(|&b| b == 0));
    assert_eq!(back[50], b'x');
}

#[test]
fn reads_span_chunks_and_holes_as_slices_of_the_store() {
    let mut f = FileData::default();
    f.write(CHUNK - 3, b"abcdef").unwrap();
    f.write(3 * CHUNK + 1, b"z").unwrap();
    let p = f.read(CHUNK - 5, 2 * CHUNK);
    let v = p.to_vec();
    assert_eq!(v.len(), 2 * C);
    assert_eq!(&v[..8], b"\0\0abcdef");
    assert!(v[8..].iter().all(|&b| b == 0));
    // Pieces: the end of chunk 0, the start of chunk 1, then one zero piece for chunk 1's
    // unstored tail and chunk 2 (a hole).
    let pieces = p.pieces();
    let lens: Vec<usize> = pieces.iter().map(Bytes::len).collect();
    assert_eq!(lens, [5, 3, 2 * C - 8]);
    assert_eq!(
        pieces[0].as_ptr(),
        f.chunk(0).unwrap()[C - 5..].as_ptr(),
        "no copy"
    );
    assert_eq!(pieces[1].as_ptr(), f.chunk(1).unwrap().as_ptr());
    assert!(Payload::is_shared_zeros(&pieces[2]));
    // A hole then data.
    let p = f.read(2 * CHUNK, CHUNK + 10);
    let lens: Vec<usize> = p.pieces().iter().map(Bytes::len).collect();
    assert_eq!(lens, [C, 2]);
    assert!(Payload::is_shared_zeros(&p.pieces()[0]));
    assert_eq!(p.pieces()[1].as_ptr(), f.chunk(3).unwrap().as_ptr());
    // The end of the file bounds the read.
    assert_eq!(read(&f, 3 * CHUNK, 100), b"\0z");
}

#[test]
fn a_write_under_a_live_read_copies_the_chunk() {
    let mut f = FileData::default();
    f.write(0, &[1; 1000]).unwrap();
    let before = f.chunk(0).unwrap().as_ptr();
    // Unshared: written in place.
    f.write(10, &[2; 10]).unwrap();
    assert_eq!(f.chunk(0).unwrap().as_ptr(), before);
    let held = f.read(0, 1000);
    f.write(5, &[3; 100]).unwrap();
    f.zero(500, 10);
    f.write(0, &[4; 1000]).unwrap();
    f.set_len(3).unwrap();
    let mut want = vec![1; 1000];
    want[10..20].fill(2);
    assert_eq!(
        held.to_vec(),
        want,
        "a reply in flight keeps the bytes it was given"
    );
    assert_eq!(read(&f, 0, 1000), [4; 3]);
    drop(held);
    // Unshared again: the next write mutates in place.
    let now = f.chunk(0).unwrap().as_ptr();
    f.write(1, b"q").unwrap();
    assert_eq!(f.chunk(0).unwrap().as_ptr(), now);
    assert_eq!(read(&f, 0, 10), [4, b'q', 4]);
}

#[test]
fn full_chunk_writes_store_exactly_the_data() {
    let mut f = FileData::default();
    let data: Vec<u8> = (0..3 * C + 100).map(|i| (i % 251) as u8).collect();
    f.write(0, &data).unwrap();
    assert_eq!(f.allocated_chunks(), 4);
    for i in 0..3 {
        assert_eq!(f.chunk(i).unwrap().len(), C);
    }
    assert_eq!(
        f.chunk(3).unwrap().len(),
        100,
        "a partial chunk stores only its bytes"
    );
    assert_eq!(read(&f, 0, u64::MAX), data);
    // Overwriting a whole unshared chunk reuses its buffer.
    let p1 = f.chunk(1).unwrap().as_ptr();
    f.write(CHUNK, &vec![9; C]).unwrap();
    assert_eq!(f.chunk(1).unwrap().as_ptr(), p1);
    // ... and a shared one gets a new buffer, leaving the reader's intact.
    let held = f.read(CHUNK, CHUNK);
    f.write(CHUNK, &vec![8; C]).unwrap();
    assert_ne!(f.chunk(1).unwrap().as_ptr(), p1);
    assert_eq!(held.to_vec(), vec![9; C]);
    assert_eq!(read(&f, CHUNK, CHUNK), vec![8; C]);
    // A write starting inside a new chunk stores only up to its end.
    f.write(10 * CHUNK + 7, b"ab").unwrap();
    assert_eq!(f.chunk(10).unwrap().len(), 9);
    assert_eq!(read(&f, 10 * CHUNK, 20), b"\0\0\0\0\0\0\0ab");
}

#[test]
fn truncate_extend_and_punch() {
    let mut f = FileData::default();
    f.write(0, &vec![1; 4 * C]).unwrap();
    // Punch: a whole chunk is released, a stored tail shortened, a middle zeroed.
    f.zero(CHUNK, CHUNK);
    assert!(f.chunk(1).is_none());
    f.zero(2 * CHUNK + 100, 2 * CHUNK);
    assert_eq!(f.chunk(2).unwrap().len(), 100);
    assert!(f.chunk(3).is_none());
    f.zero(10, 20);
    assert_eq!(f.chunk(0).unwrap().len(), C);
    assert_eq!(f.len(), 4 * CHUNK, "punching keeps the size");
    let v = read(&f, 0, u64::MAX);
    assert!(v[..10].iter().all(|&b| b == 1) && v[10..30].iter().all(|&b| b == 0));
    assert!(v[30..C].iter().all(|&b| b == 1));
    assert!(v[C..2 * C].iter().all(|&b| b == 0));
    assert!(v[2 * C..2 * C + 100].iter().all(|&b| b == 1));
    assert!(v[2 * C + 100..].iter().all(|&b| b == 0));
    // Truncate: chunks past the end go, the boundary chunk is shortened.
    f.set_len(CHUNK / 2).unwrap();
    assert_eq!(f.allocated_chunks(), 1);
    assert_eq!(f.chunk(0).unwrap().len(), C / 2);
    f.set_len(CHUNK).unwrap();
    assert_eq!(f.allocated_chunks(), 1);
    f.set_len(0).unwrap();
    assert_eq!(f.allocated_chunks(), 0);
    // Extend: zeros, nothing allocated.
    f.set_len(5 * CHUNK).unwrap();
    assert_eq!(f.allocated_chunks(), 0);
    assert_eq!(read(&f, 0, u64::MAX), vec![0; 5 * C]);
}

#[derive(Debug, Clone)]
enum Op {
    Write(u64, Vec<u8>),
    SetLen(u64),
    Zero(u64, u64),
    /// Reads and keeps the result until the end (checking copy-on-write).
    Read(u64, u64),
}

/// Offsets clustered around chunk boundaries, where the bugs would be.
fn off() -> impl Strategy<Value = u64> + Clone {
    (0u64..5, 0u64..3000).prop_map(|(k, d)| (k * CHUNK).saturating_sub(1500) + d)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (off(), proptest::collection::vec(any::<u8>(), 0..3000)).prop_map(|(o, d)| Op::Write(o, d)),
        // Writes spanning whole chunks, with few distinct bytes to keep generation cheap.
        (off(), 1u8..255, 0usize..(2 * C)).prop_map(|(o, b, n)| Op::Write(o, vec![b; n])),
        off().prop_map(Op::SetLen),
        (off(), prop_oneof![0u64..3000, 0u64..(2 * CHUNK)]).prop_map(|(o, l)| Op::Zero(o, l)),
        (off(), prop_oneof![0u64..3000, 0u64..(3 * CHUNK)]).prop_map(|(o, l)| Op::Read(o, l)),
    ]
}

fn model_read(model: &[u8], start: u64, count: u64) -> Vec<u8> {
    model
        .iter()
        .skip(start as usize)
        .take(count as usize)
        .copied()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn matches_a_vec_model(ops in proptest::collection::vec(op(), 1..25)) {
        let mut f = FileData::default();
        let mut model: Vec<u8> = Vec::new();
        let mut held = Vec::new();
        for op in ops {
            match op {
                Op::Write(o, d) => {
                    f.write(o, &d).unwrap();
                    if d.is_empty() {
                        continue;
                    }
                    let end = o as usize + d.len();
                    if model.len() < end { model.resize(end, 0); }
                    model[o as usize..end].copy_from_slice(&d);
                }
                Op::SetLen(n) => { f.set_len(n).unwrap(); model.resize(n as usize, 0); }
                Op::Zero(o, l) => {
                    f.zero(o, l);
                    let end = (o + l).min(model.len() as u64) as usize;
                    if (o as usize) < end { model[o as usize..end].fill(0); }
                }
                Op::Read(o, l) => {
                    let got = f.read(o, l);
                    let want = model_read(&model, o, l);
                    prop_assert_eq!(got.len(), want.len());
                    held.push((got, want));
                }
            }
            prop_assert_eq!(f.len(), model.len() as u64);
            // The sparse invariant: nothing stored at or past the end, no empty chunk.
            for (&idx, c) in &f.chunks {
                prop_assert!(!c.is_empty() && c.len() <= C);
                prop_assert!(idx * CHUNK + c.len() as u64 <= f.len());
            }
        }
        prop_assert_eq!(read(&f, 0, u64::MAX), model.clone());
        // Random windows agree too, including past the end.
        for start in [0u64, 1, CHUNK - 1, CHUNK, 3 * CHUNK + 7, model.len() as u64 + 5, (model.len() as u64).saturating_sub(3)] {
            prop_assert_eq!(read(&f, start, 1000), model_read(&model, start, 1000));
        }
        // Reads taken earlier still hold what the file had then.
        for (got, want) in held {
            prop_assert_eq!(got.to_vec(), want);
        }
    }
}
