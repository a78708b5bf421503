//! Criterion benchmarks of the codec: encode and decode of the small messages a client sends
//! most (Twalk with 16 names, Rgetattr, Rwalkgetattr, Rreaddirattr with 100 entries), of 1 MiB
//! data messages (Twrite: full encode against `encode_head`; Rread: decode), and the stream
//! framer splitting many small frames. Results are recorded in `docs/BENCHMARKS.md`.
//!
//! ```sh
//! cargo bench -p zerofs-9p-proto --bench codec
//! ```

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use zerofs_9p_proto::consts::{MAX_MSIZE, getattr, mode};
use zerofs_9p_proto::{
    Dialect, DirEntryPlus, Envelope, Frame, FrameDecoder, Message, OpId, Qid, QidType, Rgetattr,
    Rread, Rreaddirattr, Rwalkgetattr, Stat, Tclunk, Twalk, Twrite,
};

const MIB: usize = 1 << 20;

fn stat(path: u64) -> Stat {
    Stat {
        qid: Qid {
            ty: QidType::FILE,
            version: 1,
            path,
        },
        mode: mode::S_IFREG | 0o644,
        uid: 1000,
        gid: 1000,
        nlink: 1,
        size: 1 << 20,
        blksize: 4096,
        blocks: 2048,
        atime_sec: 1_700_000_000,
        mtime_sec: 1_700_000_000,
        ctime_sec: 1_700_000_000,
        btime_sec: 1_700_000_000,
        ..Stat::default()
    }
}

/// The small messages, each with the dialect it is benchmarked in.
fn small_messages() -> Vec<(&'static str, Dialect, Frame)> {
    let wnames: Vec<Bytes> = (0..16).map(|i| Bytes::from(format!("dir{i:02}"))).collect();
    let wqids: Vec<Qid> = (0..16)
        .map(|i| Qid {
            ty: QidType::DIR,
            version: 0,
            path: i,
        })
        .collect();
    let entries: Vec<DirEntryPlus> = (0..100u64)
        .map(|i| DirEntryPlus {
            qid: Qid {
                ty: QidType::FILE,
                version: 1,
                path: i,
            },
            offset: i + 1,
            ty: 8,
            name: Bytes::from(format!("file-{i:04}.dat")),
            stat: stat(i),
        })
        .collect();
    vec![
        (
            "Twalk_16_names",
            Dialect::Z,
            Frame::new(
                1,
                Message::Twalk(Twalk {
                    fid: 1,
                    newfid: 2,
                    wnames,
                }),
            ),
        ),
        (
            "Rgetattr",
            Dialect::Z,
            Frame::new(
                1,
                Message::Rgetattr(Rgetattr {
                    valid: getattr::BASIC,
                    stat: stat(7),
                }),
            ),
        ),
        (
            "Rwalkgetattr_16_qids",
            Dialect::Z,
            Frame::new(
                1,
                Message::Rwalkgetattr(Rwalkgetattr {
                    wqids,
                    stat: stat(15),
                }),
            ),
        ),
        (
            "Rreaddirattr_100_entries",
            Dialect::Z,
            Frame::new(1, Message::Rreaddirattr(Rreaddirattr { entries })),
        ),
    ]
}

fn encode_to_bytes(frame: &Frame, dialect: Dialect) -> Bytes {
    let mut buf = BytesMut::with_capacity(frame.encoded_len(dialect));
    frame.encode(dialect, &mut buf).expect("encodes");
    buf.freeze()
}

fn small(c: &mut Criterion) {
    for (name, dialect, frame) in small_messages() {
        let wire = encode_to_bytes(&frame, dialect);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(wire.len() as u64));
        // A reused buffer, as a connection's write buffer would be.
        let mut buf = BytesMut::with_capacity(wire.len());
        group.bench_function("encode", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&frame)
                    .encode(dialect, &mut buf)
                    .expect("encodes");
                black_box(buf.len())
            })
        });
        group.bench_function("decode", |b| {
            b.iter(|| Frame::decode(black_box(wire.clone()), dialect).expect("decodes"))
        });
        group.finish();
    }
}

fn one_mib(c: &mut Criterion) {
    let data = Bytes::from(vec![0x5au8; MIB]);
    let envelope = Envelope {
        op_id: OpId([1; 16]),
        flags: 0,
        origin_epoch: 0,
    };
    let twrite = Frame::with_envelope(
        1,
        envelope,
        Message::Twrite(Twrite {
            fid: 3,
            offset: 0,
            data: data.clone(),
        }),
    );
    let mut group = c.benchmark_group("Twrite_1MiB");
    group.throughput(Throughput::Bytes(MIB as u64));
    let mut buf = BytesMut::with_capacity(twrite.encoded_len(Dialect::Z));
    group.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&twrite)
                .encode(Dialect::Z, &mut buf)
                .expect("encodes");
            black_box(buf.len())
        })
    });
    let mut head = BytesMut::with_capacity(64);
    group.bench_function("encode_head", |b| {
        b.iter(|| {
            head.clear();
            let payload = black_box(&twrite)
                .encode_head(Dialect::Z, &mut head)
                .expect("encodes");
            black_box((head.len(), payload.map(Bytes::len)))
        })
    });
    let wire = encode_to_bytes(&twrite, Dialect::Z);
    group.bench_function("decode", |b| {
        b.iter(|| Frame::decode(black_box(wire.clone()), Dialect::Z).expect("decodes"))
    });
    group.finish();

    let rread = Frame::new(1, Message::Rread(Rread { data }));
    let wire = encode_to_bytes(&rread, Dialect::Z);
    let mut group = c.benchmark_group("Rread_1MiB");
    group.throughput(Throughput::Bytes(MIB as u64));
    group.bench_function("decode", |b| {
        b.iter(|| Frame::decode(black_box(wire.clone()), Dialect::Z).expect("decodes"))
    });
    group.finish();
}

fn framer(c: &mut Criterion) {
    // 4096 back-to-back small frames (Tclunk, 11 bytes each), as a busy connection delivers.
    const FRAMES: usize = 4096;
    let mut stream = BytesMut::new();
    for i in 0..FRAMES {
        let frame = Frame::new(i as u16, Message::Tclunk(Tclunk { fid: i as u32 }));
        frame.encode(Dialect::Plain, &mut stream).expect("encodes");
    }
    let stream = stream.freeze();
    let mut group = c.benchmark_group("FrameDecoder_4096_Tclunk");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("split", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                let mut framer = FrameDecoder::new(MAX_MSIZE);
                let mut n = 0;
                while let Some(frame) = framer.decode(buf).expect("valid") {
                    black_box(frame);
                    n += 1;
                }
                assert_eq!(n, FRAMES);
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("split_and_decode", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                let mut framer = FrameDecoder::new(MAX_MSIZE);
                let mut n = 0;
                while let Some(frame) = framer.decode(buf).expect("valid") {
                    black_box(Frame::decode(frame, Dialect::Plain).expect("decodes"));
                    n += 1;
                }
                assert_eq!(n, FRAMES);
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, small, one_mib, framer);
criterion_main!(benches);
