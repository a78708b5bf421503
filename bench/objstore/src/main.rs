//! `zerofs-objstore-bench`: the ZeroFsStore benchmark of issue 18.
//!
//! Random 64 KiB range reads of a 1 GiB object, and a 256 MiB multipart upload (8 MiB
//! parts), through `ZeroFsStore`, through `object_store`'s `LocalFileSystem` on this machine
//! (the floor), and through ZeroFS's own client 0.1.4 doing the same work one request at a
//! time (the object opened once, one `read_at` per range, or `read_range` per range; parts
//! written one after another). All read cases run, then all upload cases, each phase
//! interleaved with the order rotating per repetition; the table reports median and min.
//!
//! ```text
//! cargo run --release --manifest-path bench/objstore/Cargo.toml -- [--server S | --target T --aname A]
//!     [--reps N] [--object-mib N] [--upload-mib N] [--reads N]
//! ```
//! `--server zerofs` (the default) starts ZeroFS 0.19.1 from the xtask cache
//! (`cargo xtask servers`) on a unix socket in a temp dir, under the kill-on-exit watchdog;
//! `--server memserver-gen2` / `memserver-plain` runs the in-memory server in a child
//! process (this binary, re-executed); `--target` uses a server already running.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use zerofs_object_store::ZeroFsStore;
use zerofs_object_store::zerofs_client::{Client, ConnectOptions};

const RANGE: u64 = 64 << 10;
const PART: usize = 8 << 20;
/// Parts of one upload in flight at once (ZeroFsStore and LocalFileSystem).
const PARTS_IN_FLIGHT: usize = 8;
/// Concurrent `get_range` calls in the "16 at a time" case.
const CONCURRENT_GETS: usize = 16;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    server: String,
    target: Option<String>,
    aname: String,
    reps: usize,
    object: u64,
    upload: u64,
    reads: usize,
}

fn args() -> Res<Args> {
    let mut a = Args {
        server: "zerofs".into(),
        target: None,
        aname: String::new(),
        reps: 3,
        object: 1 << 30,
        upload: 256 << 20,
        reads: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--server" => a.server = v()?,
            "--target" => a.target = Some(v()?),
            "--aname" => a.aname = v()?,
            "--reps" => a.reps = v()?.parse()?,
            "--object-mib" => a.object = v()?.parse::<u64>()? << 20,
            "--upload-mib" => a.upload = v()?.parse::<u64>()? << 20,
            "--reads" => a.reads = v()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

/// A server child process (killed when this process exits), and its temp dir.
struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing the watchdog's stdin kills the server; then its files can go.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The child side of `--server memserver-*`: serve until the parent closes our stdin.
async fn serve_memserver(generation: &str, sock: &str) -> Res<()> {
    use zerofs_memserver::{Config, MemServer};
    let config = Config::new(generation.parse()?).unix(Some(sock.into()));
    let _server = MemServer::start(config).await?;
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
    Ok(())
}

async fn start_memserver(generation: &str) -> Res<(Server, String)> {
    let dir = std::env::temp_dir().join(format!("objstore-bench-mem-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sock = dir.join("memserver.sock");
    let child = Command::new(std::env::current_exe()?)
        .arg("serve-memserver")
        .arg(generation)
        .arg(&sock)
        .stdin(Stdio::piped())
        .spawn()?;
    wait_up(Server { child, dir }, format!("unix:{}", sock.display())).await
}

/// Waits (at most 60 s) until `target` accepts a client.
async fn wait_up(server: Server, target: String) -> Res<(Server, String)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Client::connect(&target).await.is_err() {
        if Instant::now() > deadline {
            return Err(format!("{target} did not come up within 60 s").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok((server, target))
}

async fn start_zerofs() -> Res<(Server, String)> {
    let bin = zerofs_testenv::zerofs_binary();
    let dir = std::env::temp_dir().join(format!("objstore-bench-zerofs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sock = dir.join("zerofs.sock");
    let config = format!(
        "[cache]\ndir = \"{d}/cache\"\ndisk_size_gb = 4.0\nmemory_size_gb = 1.0\n\n\
         [storage]\nurl = \"file://{d}/store\"\nencryption_password = \"${{ZEROFS_PASSWORD}}\"\n\n\
         [servers.ninep]\naddresses = []\nunix_socket = \"{s}\"\n",
        d = dir.display(),
        s = sock.display()
    );
    std::fs::write(dir.join("zerofs.toml"), config)?;
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(zerofs_testenv::WATCHDOG)
        .arg("watchdog")
        .arg(&bin)
        .arg("run")
        .arg("-c")
        .arg(dir.join("zerofs.toml"))
        .env("ZEROFS_PASSWORD", "objstore-bench-password")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    wait_up(Server { child, dir }, format!("unix:{}", sock.display())).await
}

/// Deterministic pseudo-random bytes (xorshift), so every store holds the same object.
fn part_data(seed: u64, len: usize) -> Bytes {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v.into()
}

/// `size` bytes in 8 MiB parts through `put_multipart`, `PARTS_IN_FLIGHT` at a time.
async fn upload(store: &dyn ObjectStore, path: &Path, size: u64, seed: u64) -> Res<()> {
    let mut up = store.put_multipart(path).await?;
    let parts = (size as usize).div_ceil(PART);
    let futs: Vec<_> = (0..parts)
        .map(|i| {
            let len = PART.min(size as usize - i * PART);
            up.put_part(PutPayload::from(part_data(seed + i as u64, len)))
        })
        .collect();
    futures::stream::iter(futs)
        .buffer_unordered(PARTS_IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await?;
    up.complete().await?;
    Ok(())
}

/// The same upload with the reference client, one request at a time: a staging file, each
/// part written in turn, then a rename into place.
async fn upload_ref(c: &zerofs_client_ref::Client, path: &str, size: u64, seed: u64) -> Res<()> {
    use zerofs_client_ref::OpenOptions;
    let staging = format!("{path}#ref");
    let f = c
        .open(
            &staging,
            OpenOptions::read_write().create(true).truncate(true),
        )
        .await?;
    let parts = (size as usize).div_ceil(PART);
    for i in 0..parts {
        let len = PART.min(size as usize - i * PART);
        f.write_at((i * PART) as u64, &part_data(seed + i as u64, len))
            .await?;
    }
    drop(f);
    c.rename(&staging, path).await?;
    Ok(())
}

fn offsets(n: usize, size: u64) -> Vec<u64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % (size - RANGE)
        })
        .collect()
}

struct Case {
    name: &'static str,
    bytes: u64,
    samples: Vec<Duration>,
}

#[tokio::main]
async fn main() -> Res<()> {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("serve-memserver") && argv.len() == 4 {
        return serve_memserver(&argv[2], &argv[3]).await;
    }
    let a = args()?;
    let (server, target) = match (&a.target, a.server.as_str()) {
        (Some(t), _) => (None, t.clone()),
        (None, "zerofs") => start_zerofs().await.map(|(s, t)| (Some(s), t))?,
        (None, s) => match s.strip_prefix("memserver-") {
            Some(generation) => start_memserver(generation)
                .await
                .map(|(s, t)| (Some(s), t))?,
            None => return Err(format!("unknown server {s}").into()),
        },
    };
    let _server = server;
    let mut o = ConnectOptions::default();
    o.aname = a.aname.clone();
    let ours =
        ZeroFsStore::new(Client::connect_with(&target, o).await?).with_prefix("/objstore-bench")?;
    let mut ro = zerofs_client_ref::ConnectOptions::default();
    ro.aname = a.aname.clone();
    let theirs = zerofs_client_ref::Client::connect_with(&target, ro).await?;
    let local_dir =
        std::env::temp_dir().join(format!("objstore-bench-local-{}", std::process::id()));
    std::fs::create_dir_all(&local_dir)?;
    let local = LocalFileSystem::new_with_prefix(&local_dir)?;

    let big = Path::from("big.bin");
    let big_ref = "/objstore-bench/big.bin";
    let t = Instant::now();
    upload(&ours, &big, a.object, 1).await?;
    eprintln!(
        "fixture: {} MiB into {target} in {:.1?}",
        a.object >> 20,
        t.elapsed()
    );
    upload(&local, &big, a.object, 1).await?;
    let offs = offsets(a.reads, a.object);
    let ranges: Vec<_> = offs.iter().map(|&o| o..o + RANGE).collect();
    // Every store returns the same bytes.
    let probe = ranges[..8].to_vec();
    let want = local.get_ranges(&big, &probe).await?;
    assert_eq!(ours.get_ranges(&big, &probe).await?, want);
    let rf = theirs
        .open(big_ref, zerofs_client_ref::OpenOptions::read_only())
        .await?;
    for (r, w) in probe.iter().zip(&want) {
        assert_eq!(&rf.read_at(r.start, RANGE as u32).await?, w);
    }
    drop(rf);

    let read_bytes = a.reads as u64 * RANGE;
    let mut cases: Vec<Case> = [
        (
            "reads: LocalFileSystem get_range, one at a time",
            read_bytes,
        ),
        (
            "reads: LocalFileSystem get_ranges (all at once)",
            read_bytes,
        ),
        ("reads: ZeroFsStore get_range, one at a time", read_bytes),
        ("reads: ZeroFsStore get_range, 16 at a time", read_bytes),
        ("reads: ZeroFsStore get_ranges (all at once)", read_bytes),
        (
            "reads: ZeroFS client 0.1.4, read_at one at a time (opened once)",
            read_bytes,
        ),
        (
            "reads: ZeroFS client 0.1.4, read_range one at a time (opened per range)",
            read_bytes,
        ),
        ("upload: LocalFileSystem put_multipart", a.upload),
        ("upload: ZeroFsStore put_multipart", a.upload),
        (
            "upload: ZeroFS client 0.1.4, parts one at a time + rename",
            a.upload,
        ),
    ]
    .into_iter()
    .map(|(name, bytes)| Case {
        name,
        bytes,
        samples: Vec::new(),
    })
    .collect();
    assert_eq!(cases.len(), 10, "one case per arm below");

    let up = Path::from("upload.bin");
    // Reads first, then uploads (an upload leaves the server flushing for a while, which
    // would slow whatever read ran next); within each phase the order rotates every
    // repetition, so no case always follows the same one.
    const READS: usize = 7;
    let mut order = Vec::new();
    for (phase, len) in [(0, READS), (READS, cases.len() - READS)] {
        for rep in 0..a.reps {
            order.extend((0..len).map(|k| (rep, phase + (k + rep) % len)));
        }
    }
    ours.client().sync().await?;
    for (rep, i) in order {
        let case = &mut cases[i];
        {
            let t = Instant::now();
            let run: Res<()> = async {
                match i {
                    0 => {
                        for r in &ranges {
                            local.get_range(&big, r.clone()).await?;
                        }
                    }
                    1 => drop(local.get_ranges(&big, &ranges).await?),
                    2 => {
                        for r in &ranges {
                            ours.get_range(&big, r.clone()).await?;
                        }
                    }
                    3 => {
                        futures::stream::iter(ranges.iter().cloned())
                            .map(|r| ours.get_range(&big, r))
                            .buffer_unordered(CONCURRENT_GETS)
                            .try_collect::<Vec<_>>()
                            .await?;
                    }
                    4 => drop(ours.get_ranges(&big, &ranges).await?),
                    5 => {
                        let f = theirs
                            .open(big_ref, zerofs_client_ref::OpenOptions::read_only())
                            .await?;
                        for r in &ranges {
                            f.read_at(r.start, RANGE as u32).await?;
                        }
                    }
                    6 => {
                        for r in &ranges {
                            theirs.read_range(big_ref, r.start, RANGE as u32).await?;
                        }
                    }
                    7 => upload(&local, &up, a.upload, 100 + rep as u64).await?,
                    8 => upload(&ours, &up, a.upload, 100 + rep as u64).await?,
                    _ => {
                        upload_ref(
                            &theirs,
                            "/objstore-bench/upload.bin",
                            a.upload,
                            100 + rep as u64,
                        )
                        .await?
                    }
                }
                Ok(())
            }
            .await;
            match run {
                Ok(()) => case.samples.push(t.elapsed()),
                Err(e) => eprintln!("\n{} (repetition {rep}) failed: {e}", case.name),
            }
            eprint!(".");
            std::io::stderr().flush().ok();
        }
    }
    eprintln!();
    println!("| case | median | min | MiB/s (median) |");
    println!("|---|---:|---:|---:|");
    for c in &mut cases {
        if c.samples.is_empty() {
            println!("| {} | failed | failed | - |", c.name);
            continue;
        }
        c.samples.sort();
        let med = c.samples[c.samples.len() / 2];
        let mib = c.bytes as f64 / (1 << 20) as f64 / med.as_secs_f64();
        println!(
            "| {} | {:.3?} | {:.3?} | {mib:.0} |",
            c.name, med, c.samples[0]
        );
    }
    ours.delete(&big).await.ok();
    ours.delete(&up).await.ok();
    std::fs::remove_dir_all(&local_dir).ok();
    Ok(())
}
