//! `zerofs-bench-transfer`: bulk transfers (issue 16). Put and get of (a) many 4 KiB files,
//! (b) 100 files of 10 MiB, (c) one 1 GiB file with `zerofs_client::transfer` (what
//! `zerofs-cli put/get` run) against a sequential loop over ZeroFS's published client (one
//! file, and one 1 MiB chunk, at a time), `File::write_at`/`read_at` pipelined from memory
//! as the ceiling, and `cp -r` between two local directories as the floor; plus
//! `tokio::io::copy` through the `tokio-io` cursor against `write_at`/`read_at` on 256 MiB.
//!
//! Every measurement runs in a child process (`child METHOD ...`) that reports its wall
//! time and peak RSS (`VmHWM`); the memserver runs as its own process, restarted per
//! data set. Methods alternate within each repetition, and each repetition's files are
//! removed from the server after it (the memserver holds them in memory: seven 1 GiB
//! repetitions would otherwise need over 20 GiB).
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line driver

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const MIB: u64 = 1 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "child") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        let (bytes, moving) = rt.block_on(child(&args[1..]));
        // The raw methods time their transfer only (not connecting, opening, or filling
        // their source block), so ratios between them compare the data paths themselves.
        let secs = moving.unwrap_or_else(|| started.elapsed().as_secs_f64());
        println!("secs={secs} rss_kb={} bytes={bytes}", peak_rss_kb());
        return;
    }
    if let Err(e) = driver(&args) {
        eprintln!("zerofs-bench-transfer: {e}");
        std::process::exit(1);
    }
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One data set: its name, how many files of what size, in how many directories.
struct DataSet {
    name: &'static str,
    files: u64,
    size: u64,
    dirs: u64,
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn driver(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let reps: usize = flag(args, "--reps")
        .map(|r| r.parse().map_err(|e| format!("--reps: {e}")))
        .transpose()?
        .unwrap_or(if quick { 1 } else { 3 });
    let memserver = flag(args, "--memserver-bin")
        .or_else(|| std::env::var("ZEROFS_BENCH_MEMSERVER").ok())
        .ok_or("--memserver-bin PATH (or ZEROFS_BENCH_MEMSERVER) is required")?;
    let generation = flag(args, "--generation").unwrap_or_else(|| "gen2".into());
    let only = flag(args, "--sets");
    let scale = if quick { 10 } else { 1 };
    let sets = [
        DataSet {
            name: "a: 10,000 x 4 KiB",
            files: 10_000 / scale,
            size: 4096,
            dirs: 100 / scale,
        },
        DataSet {
            name: "b: 100 x 10 MiB",
            files: 100 / scale,
            size: 10 * MIB,
            dirs: 1,
        },
        DataSet {
            name: "c: 1 x 1 GiB",
            files: 1,
            size: 1024 * MIB / scale,
            dirs: 1,
        },
        DataSet {
            name: "cursor: 256 MiB",
            files: 1,
            size: 256 * MIB / scale,
            dirs: 0,
        },
    ];
    let base = std::env::temp_dir().join(format!("zerofs-bench-transfer-{}", std::process::id()));
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut report = String::new();
    report.push_str("| data set | method | MiB/s | files/s | seconds (median) | peak RSS MiB |\n|---|---|---:|---:|---:|---:|\n");
    for (i, set) in sets.iter().enumerate() {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| set.name.split(':').next() == Some(x)))
        {
            continue;
        }
        let _ = std::fs::remove_dir_all(&base);
        let src = base.join("src");
        make_set(&src, set).map_err(|e| format!("making {}: {e}", set.name))?;
        let (mut server, target) = start_memserver(&memserver, &generation)?;
        let methods: &[&str] = if set.dirs == 0 {
            &[
                "cursor-write",
                "writeat-1mib",
                "writeat-pipelined",
                "cursor-read",
                "readat-1mib",
                "readat-pipelined",
            ]
        } else {
            &[
                "put-ours",
                "put-theirs",
                "writeat-pipelined",
                "get-ours",
                "get-theirs",
                "readat-pipelined",
                "cp-r",
            ]
        };
        let mut results: Vec<(String, Vec<(f64, u64)>)> = methods
            .iter()
            .map(|m| (m.to_string(), Vec::new()))
            .collect();
        for rep in 0..reps {
            // Alternate the order per repetition (A/B, then B/A).
            let order: Vec<usize> = if rep % 2 == 0 {
                (0..methods.len()).collect()
            } else {
                (0..methods.len()).rev().collect()
            };
            // Reads get what the writes of this repetition wrote: writes first.
            let mut order = order;
            order.sort_by_key(|&k| {
                let m = methods[k];
                !(m.starts_with("put") || m.starts_with("write") || m == "cursor-write")
            });
            for k in order {
                let m = methods[k];
                let out = base.join(format!("out-{m}-{rep}"));
                let remote = format!("/{m}-{rep}");
                let (rsrc, rdst): (String, String) = match m {
                    "put-ours" | "put-theirs" | "writeat-pipelined" | "writeat-1mib"
                    | "cursor-write" => (src.display().to_string(), remote.clone()),
                    "get-ours" => (format!("/put-ours-{rep}"), out.display().to_string()),
                    "get-theirs" => (format!("/put-theirs-{rep}"), out.display().to_string()),
                    "readat-pipelined" | "readat-1mib" | "cursor-read" => {
                        (format!("/writeat-pipelined-{rep}"), String::new())
                    }
                    "cp-r" => (src.display().to_string(), out.display().to_string()),
                    _ => unreachable!(),
                };
                let (secs, rss) = if m == "cp-r" {
                    let t = Instant::now();
                    let st = Command::new("cp")
                        .arg("-r")
                        .arg(&rsrc)
                        .arg(&rdst)
                        .status()
                        .map_err(|e| e.to_string())?;
                    if !st.success() {
                        return Err("cp -r failed".into());
                    }
                    (t.elapsed().as_secs_f64(), 0)
                } else {
                    run_child(&me, m, &target, &rsrc, &rdst, set.size * set.files)?
                };
                let _ = std::fs::remove_dir_all(&out);
                let _ = std::fs::remove_file(&out);
                results[k].1.push((secs, rss));
                eprintln!(
                    "{} rep {rep} {m}: {secs:.3}s rss {} MiB",
                    set.name,
                    rss / 1024
                );
            }
            let written: Vec<String> = methods
                .iter()
                .filter(|m| m.starts_with("put") || m.starts_with("write") || **m == "cursor-write")
                .map(|m| format!("/{m}-{rep}"))
                .collect();
            clean(&me, &target, &written)?;
        }
        let _ = server.kill();
        let _ = server.wait();
        let total = set.size * set.files;
        for (m, runs) in &results {
            let mut secs: Vec<f64> = runs.iter().map(|r| r.0).collect();
            secs.sort_by(|a, b| a.total_cmp(b));
            let med = secs[secs.len() / 2];
            let rss = runs.iter().map(|r| r.1).max().unwrap_or(0);
            report.push_str(&format!(
                "| {} | {m} | {:.0} | {:.0} | {med:.3} | {} |\n",
                set.name,
                total as f64 / MIB as f64 / med,
                set.files as f64 / med,
                if rss == 0 {
                    "-".into()
                } else {
                    format!("{:.0}", rss as f64 / 1024.0)
                },
            ));
        }
        let _ = i;
    }
    let _ = std::fs::remove_dir_all(&base);
    println!("{report}");
    Ok(())
}

fn make_set(root: &Path, set: &DataSet) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    let per_dir = set.files / set.dirs.max(1);
    let block: Vec<u8> = (0..MIB).map(|i| (i * 31 % 251) as u8).collect();
    for f in 0..set.files {
        let dir = if set.dirs > 1 {
            root.join(format!("d{:03}", f / per_dir.max(1)))
        } else {
            root.to_path_buf()
        };
        std::fs::create_dir_all(&dir)?;
        let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("f{f:05}")))?);
        let mut left = set.size;
        while left > 0 {
            let n = left.min(MIB) as usize;
            w.write_all(&block[..n])?;
            left -= n as u64;
        }
        w.flush()?;
    }
    Ok(())
}

fn start_memserver(bin: &str, generation: &str) -> Result<(std::process::Child, String), String> {
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--generation", generation])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("{bin}: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let target = line
        .rsplit("tcp://")
        .next()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("memserver said {line:?}"))?;
    Ok((child, target))
}

/// Removes `paths` (files or trees) from the server, in a child like the measurements.
fn clean(me: &Path, target: &str, paths: &[String]) -> Result<(), String> {
    let out = Command::new(me)
        .args(["child", "clean", target])
        .args(paths)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "removing {paths:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn run_child(
    me: &Path,
    method: &str,
    target: &str,
    src: &str,
    dst: &str,
    total: u64,
) -> Result<(f64, u64), String> {
    let out = Command::new(me)
        .args(["child", method, target, src, dst, &total.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{method} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("{method}: no {k} in {text:?}"))
    };
    Ok((field("secs=")?, field("rss_kb=")? as u64))
}

/// One measured action; returns the bytes moved and, for the raw methods, the seconds
/// spent moving them.
async fn child(args: &[String]) -> (u64, Option<f64>) {
    if args[0] == "clean" {
        let c = zerofs_client::Client::connect(&args[1]).await.unwrap();
        for p in &args[2..] {
            let m = c.stat(p).await.unwrap();
            if m.is_dir() {
                c.remove_dir_all(p).await.unwrap();
            } else {
                c.remove_file(p).await.unwrap();
            }
        }
        return (0, Some(0.0));
    }
    let (method, target, src, dst) = (&args[0], &args[1], &args[2], &args[3]);
    let total: u64 = args[4].parse().unwrap();
    match method.as_str() {
        "put-ours" | "get-ours" => {
            use zerofs_client::transfer::{Endpoint, Transfer, TransferOptions};
            let c = zerofs_client::Client::connect(target).await.unwrap();
            let (from, to) = if method == "put-ours" {
                (Endpoint::local(src), Endpoint::remote(&c, dst))
            } else {
                (Endpoint::remote(&c, src), Endpoint::local(dst))
            };
            let mut opts = TransferOptions::default();
            if let Some(j) = std::env::var("ZEROFS_BENCH_JOBS")
                .ok()
                .and_then(|j| j.parse().ok())
            {
                opts.concurrency = j;
            }
            let r = Transfer::new(opts).copy(from, to).await.unwrap();
            assert_eq!(r.failed, 0, "{:?}", r.failures);
            (r.bytes, None)
        }
        "put-theirs" => {
            let c = zerofs_client_ref::Client::connect(target).await.unwrap();
            (theirs_put(&c, Path::new(src), dst).await, None)
        }
        "get-theirs" => {
            let c = zerofs_client_ref::Client::connect(target).await.unwrap();
            (theirs_get(&c, src, Path::new(dst)).await, None)
        }
        m => {
            let c = zerofs_client::Client::connect(target).await.unwrap();
            let (bytes, secs) = ours_raw(&c, m, dst, src, total).await;
            (bytes, Some(secs))
        }
    }
}

/// The sequential loop over ZeroFS's client: one file at a time; files up to 8 MiB with
/// `write`, larger ones in 1 MiB `write_at` calls.
async fn theirs_put(c: &Arc<zerofs_client_ref::Client>, src: &Path, dst: &str) -> u64 {
    let mut bytes = 0;
    let mut stack = vec![(src.to_path_buf(), dst.to_owned())];
    c.create_dir_all(dst, 0o755).await.unwrap();
    while let Some((l, r)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&l).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let (lp, rp) = (e.path(), format!("{r}/{}", e.file_name().to_string_lossy()));
            if e.file_type().unwrap().is_dir() {
                c.create_dir(&rp, 0o755).await.unwrap();
                stack.push((lp, rp));
                continue;
            }
            let len = e.metadata().unwrap().len();
            if len <= 8 * MIB {
                c.write(&rp, &std::fs::read(&lp).unwrap()).await.unwrap();
            } else {
                use std::os::unix::fs::FileExt;
                let f = c
                    .open(
                        &rp,
                        zerofs_client_ref::OpenOptions::write_only()
                            .create(true)
                            .truncate(true),
                    )
                    .await
                    .unwrap();
                let local = std::fs::File::open(&lp).unwrap();
                let mut buf = vec![0u8; MIB as usize];
                let mut off = 0;
                while off < len {
                    let n = local.read_at(&mut buf, off).unwrap();
                    f.write_at(off, &buf[..n]).await.unwrap();
                    off += n as u64;
                }
            }
            bytes += len;
        }
    }
    bytes
}

async fn theirs_get(c: &Arc<zerofs_client_ref::Client>, src: &str, dst: &Path) -> u64 {
    let mut bytes = 0;
    let mut stack = vec![(src.to_owned(), dst.to_path_buf())];
    std::fs::create_dir_all(dst).unwrap();
    while let Some((r, l)) = stack.pop() {
        for e in c.read_dir(&r).await.unwrap() {
            let (rp, lp) = (format!("{r}/{}", e.name), l.join(&e.name));
            if e.file_type == zerofs_client_ref::FileType::Dir {
                std::fs::create_dir(&lp).unwrap();
                stack.push((rp, lp));
                continue;
            }
            let len = c.stat(&rp).await.unwrap().size;
            if len <= 8 * MIB {
                std::fs::write(&lp, c.read(&rp).await.unwrap()).unwrap();
            } else {
                use std::os::unix::fs::FileExt;
                let f = c
                    .open(&rp, zerofs_client_ref::OpenOptions::read_only())
                    .await
                    .unwrap();
                let local = std::fs::File::create(&lp).unwrap();
                let mut off = 0;
                while off < len {
                    let b = f.read_at(off, MIB as u32).await.unwrap();
                    if b.is_empty() {
                        break;
                    }
                    local.write_all_at(&b, off).unwrap();
                    off += b.len() as u64;
                }
            }
            bytes += len;
        }
    }
    bytes
}

/// The ceilings and the cursor, from and to memory; returns the bytes moved and the
/// seconds that took (after opening the file and filling the source block).
async fn ours_raw(
    c: &Arc<zerofs_client::Client>,
    method: &str,
    dst: &str,
    src: &str,
    total: u64,
) -> (u64, f64) {
    use tokio::io::AsyncWriteExt;
    use zerofs_client::OpenOptions;
    match method {
        "writeat-pipelined" | "writeat-1mib" | "cursor-write" => {
            let f = c
                .open(dst, OpenOptions::write_only().create(true).truncate(true))
                .await
                .unwrap();
            let block = bytes::Bytes::from(vec![7u8; 64 * MIB as usize]);
            let started = Instant::now();
            match method {
                "writeat-pipelined" => {
                    let mut off = 0;
                    while off < total {
                        let n = (total - off).min(block.len() as u64) as usize;
                        f.write_at_bytes(off, block.slice(..n)).await.unwrap();
                        off += n as u64;
                    }
                }
                "writeat-1mib" => {
                    let mut off = 0;
                    while off < total {
                        let n = (total - off).min(MIB) as usize;
                        f.write_at_bytes(off, block.slice(..n)).await.unwrap();
                        off += n as u64;
                    }
                }
                _ => {
                    let mut cur = f.cursor();
                    let mut left = total;
                    while left > 0 {
                        let n = left.min(block.len() as u64) as usize;
                        // tokio::io::copy from a reader: 8 KiB writes into the cursor.
                        tokio::io::copy(&mut &block[..n], &mut cur).await.unwrap();
                        left -= n as u64;
                    }
                    cur.shutdown().await.unwrap();
                }
            }
            (total, started.elapsed().as_secs_f64())
        }
        "readat-pipelined" | "readat-1mib" | "cursor-read" => {
            let f = c.open(src, OpenOptions::read_only()).await.unwrap();
            let size = f.metadata().await.unwrap().size;
            let step = if method == "readat-1mib" {
                MIB
            } else {
                64 * MIB
            };
            let started = Instant::now();
            if method == "cursor-read" {
                let mut cur = f.cursor();
                let n = tokio::io::copy(&mut cur, &mut tokio::io::sink())
                    .await
                    .unwrap();
                return (n, started.elapsed().as_secs_f64());
            }
            let mut off = 0;
            while off < size {
                off += f.read_at(off, step as u32).await.unwrap().len() as u64;
            }
            (off, started.elapsed().as_secs_f64())
        }
        other => panic!("unknown method {other}"),
    }
}
