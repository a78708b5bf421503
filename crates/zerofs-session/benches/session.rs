//! Session benchmarks against an in-process null responder over a unix socket pair.
//!
//! - `request/*`: one `Tgetattr` → `Rgetattr` round trip through `Session::call`, from one task
//!   (latency-bound) and from 32 concurrent tasks (pipelined on the one connection).
//! - `bulk/*`: 64 MiB through `Session::read` / `Session::write` (msize 1 MiB), with a window
//!   of 1 chunk in flight (what a one-chunk-at-a-time client does) and the default window of 8.
//!
//! The responder answers every request at once (`Rread` payloads are slices of one zeroed
//! buffer, written with a vectored write), so the numbers measure the client plus the socket.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::runtime::Runtime;
use zerofs_session::proto::consts::{MAX_MSIZE, errno, getattr, open};
use zerofs_session::proto::*;
use zerofs_session::{Connector, Fid, Options, Session, Transport};

const BULK: usize = 64 << 20;

/// Dials a unix socket pair whose far end is served by [`null_responder`].
#[derive(Debug)]
struct NullConnector;

impl Connector for NullConnector {
    fn connect(&self) -> BoxFuture<'_, io::Result<Transport>> {
        Box::pin(async {
            let (client, server) = UnixStream::pair()?;
            tokio::spawn(null_responder(server));
            let (r, w) = client.into_split();
            Ok(Transport {
                reader: Box::new(r),
                writer: Box::new(w),
            })
        })
    }

    fn describe(&self) -> String {
        "null responder".into()
    }
}

fn reply(msg: Message, zeros: &Bytes) -> Message {
    let qid = Qid {
        ty: QidType::FILE,
        version: 0,
        path: 2,
    };
    match msg {
        // An old server: only plain 9P2000.L is offered.
        Message::Tversion(v) => Message::Rversion(Rversion {
            msize: v.msize,
            version: Bytes::from_static(b"9P2000.L"),
        }),
        Message::Tattach(_) => Message::Rattach(Rattach { qid }),
        Message::Twalk(w) => Message::Rwalk(Rwalk {
            wqids: vec![qid; w.wnames.len()],
        }),
        Message::Tlopen(_) => Message::Rlopen(Rlopen { qid, iounit: 0 }),
        Message::Tgetattr(g) => Message::Rgetattr(Rgetattr {
            valid: g.request_mask,
            stat: Stat::default(),
        }),
        Message::Tread(r) => Message::Rread(Rread {
            data: zeros.slice(..(r.count as usize).min(zeros.len())),
        }),
        Message::Twrite(w) => Message::Rwrite(Rwrite {
            count: w.data.len() as u32,
        }),
        Message::Tclunk(_) => Message::Rclunk,
        _ => Message::error(errno::ENOSYS),
    }
}

/// Answers every request as soon as it is read; replies to one read are written together.
async fn null_responder(stream: UnixStream) {
    let (mut rd, mut wr) = stream.into_split();
    let zeros = Bytes::from(vec![0u8; MAX_MSIZE as usize]);
    let mut decoder = FrameDecoder::new(MAX_MSIZE);
    let mut buf = BytesMut::with_capacity(1 << 20);
    let mut head = BytesMut::with_capacity(64 << 10);
    let mut parts: Vec<Bytes> = Vec::new();
    loop {
        while let Ok(Some(raw)) = decoder.decode(&mut buf) {
            let Ok(frame) = Frame::decode(raw, Dialect::Plain) else {
                return;
            };
            let out = Frame::new(frame.tag, reply(frame.message, &zeros));
            match out.encode_head(Dialect::Plain, &mut head) {
                Ok(Some(payload)) => {
                    parts.push(head.split().freeze());
                    parts.push(payload.clone());
                }
                Ok(None) => {}
                Err(_) => return,
            }
        }
        if !head.is_empty() {
            parts.push(head.split().freeze());
        }
        for mut part in parts.drain(..) {
            while !part.is_empty() {
                let slices: [io::IoSlice<'_>; 1] = [io::IoSlice::new(&part)];
                match wr.write_vectored(&slices).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => bytes::Buf::advance(&mut part, n),
                }
            }
        }
        if buf.capacity() - buf.len() < 64 << 10 {
            buf.reserve(1 << 20);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn options(window: usize) -> Options {
    Options {
        uid: 0,
        uname: "bench".into(),
        msize: 1 << 20,
        bulk_window: window,
        ..Options::default()
    }
}

async fn open_file(s: &Session) -> Fid {
    let (fid, _) = s
        .walk(s.root(), &[Bytes::from_static(b"file")])
        .await
        .expect("walk");
    s.lopen(&fid, open::RDWR).await.expect("open");
    fid
}

fn requests(c: &mut Criterion) {
    let rt = runtime();
    let session = rt
        .block_on(Session::connect_with(NullConnector, options(8)))
        .expect("connect");
    let getattr = Message::Tgetattr(Tgetattr {
        fid: session.root().id(),
        request_mask: getattr::BASIC,
    });
    let mut group = c.benchmark_group("request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("getattr_round_trip/1_task", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    session.call(getattr.clone()).await.expect("getattr");
                }
                start.elapsed()
            })
        })
    });
    // The same request through the typed call: the reply's body, no `Message` match.
    let body = Tgetattr {
        fid: session.root().id(),
        request_mask: getattr::BASIC,
    };
    group.bench_function("getattr_round_trip_typed/1_task", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    session
                        .call_typed::<kind::Tgetattr>(body.clone())
                        .await
                        .expect("getattr");
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("getattr_round_trip/32_tasks", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(32);
            let elapsed = rt.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = (0..32)
                    .map(|_| {
                        let s = session.clone();
                        let m = getattr.clone();
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                s.call(m.clone()).await.expect("getattr");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
                start.elapsed()
            });
            // Report the time of `iters` requests, not of the rounded-up total.
            elapsed.mul_f64(iters as f64 / (per_task * 32) as f64)
        })
    });
    group.finish();
    drop(session);
}

fn bulk(c: &mut Criterion) {
    let rt = runtime();
    let payload = Bytes::from(vec![0x5au8; BULK]);
    let mut group = c.benchmark_group("bulk");
    group.throughput(Throughput::Bytes(BULK as u64));
    group.sample_size(10);
    for window in [1usize, 8] {
        let session = Arc::new(
            rt.block_on(Session::connect_with(NullConnector, options(window)))
                .expect("connect"),
        );
        let fid = rt.block_on(open_file(&session));
        group.bench_function(format!("read_64MiB/window_{window}"), |b| {
            b.iter(|| {
                let data = rt.block_on(session.read(&fid, 0, BULK)).expect("read");
                assert_eq!(data.len(), BULK);
            })
        });
        group.bench_function(format!("write_64MiB/window_{window}"), |b| {
            b.iter(|| {
                let n = rt
                    .block_on(session.write(&fid, 0, payload.clone()))
                    .expect("write");
                assert_eq!(n, BULK as u64);
            })
        });
        drop(fid);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = requests, bulk
}
criterion_main!(benches);
