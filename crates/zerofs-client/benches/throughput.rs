//! Bulk I/O: our pipelined `File::read_at`/`write_at` against the reference client's strategy
//! (one chunk at a time, each waiting for the previous), on a loopback memserver, with and
//! without a simulated 200 µs server latency per reply.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zerofs_client::{Client, File, OpenOptions};
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

const SIZE: usize = 16 << 20;

struct Setup {
    rt: tokio::runtime::Runtime,
    server: ServerHandle,
    file: Arc<File>,
    chunk: u32,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, file, chunk) = rt.block_on(async {
        let server = MemServer::start(Config::new(Generation::Gen2))
            .await
            .unwrap();
        let client = Client::connect(&server.target()).await.unwrap();
        let file = client
            .open("/bench", OpenOptions::read_write().create(true))
            .await
            .unwrap();
        file.write_at(0, &vec![5u8; SIZE]).await.unwrap();
        let chunk = client.capabilities().max_write_chunk - 1;
        (server, file, chunk)
    });
    Setup {
        rt,
        server,
        file,
        chunk,
    }
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let data = bytes::Bytes::from(vec![9u8; SIZE]);
    for (label, delay) in [
        ("loopback", None),
        ("200us-latency", Some(Duration::from_micros(200))),
    ] {
        s.server.set_reply_delay(delay);
        let mut g = c.benchmark_group(format!("16MiB-{label}"));
        g.throughput(Throughput::Bytes(SIZE as u64)).sample_size(10);
        g.bench_function("read pipelined", |b| {
            b.iter(|| {
                s.rt.block_on(async {
                    assert_eq!(s.file.read_at(0, SIZE as u32).await.unwrap().len(), SIZE)
                })
            })
        });
        g.bench_function("read one chunk at a time (reference)", |b| {
            b.iter(|| {
                s.rt.block_on(async {
                    let mut off = 0u64;
                    while (off as usize) < SIZE {
                        off += s.file.read_at(off, s.chunk).await.unwrap().len() as u64;
                    }
                })
            })
        });
        g.bench_function("write pipelined", |b| {
            b.iter(|| {
                s.rt.block_on(async { s.file.write_at_bytes(0, data.clone()).await.unwrap() })
            })
        });
        g.bench_function("write one chunk at a time (reference)", |b| {
            b.iter(|| {
                s.rt.block_on(async {
                    for (i, piece) in data.chunks(s.chunk as usize).enumerate() {
                        let off = i as u64 * u64::from(s.chunk);
                        s.file
                            .write_at_bytes(off, data.slice_ref(piece))
                            .await
                            .unwrap();
                    }
                })
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
