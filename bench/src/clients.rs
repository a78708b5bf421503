//! The workloads, written once and instantiated for each client crate: `ours`
//! (crates/zerofs-client) and `theirs` (ZeroFS's published zerofs-client 0.1.x). Both crates
//! have the same API, so the very same source drives both.
//!
//! Fixture layout under [`ROOT`]: `w1/a/b/c/file` (W1, W7), `w2/f<i>` (W2), `w3/r<run>/f<i>`
//! (W3, per run), `w4/big` (W4, W4at), `w5/r<run>` (W5, per run, removed after it), `w6/e<i>`
//! (W6).

/// Where the fixtures live on the server.
pub const ROOT: &str = "/zerofs-bench";

/// Most fixture requests in flight while preparing.
pub const PREPARE_CONCURRENCY: usize = 16;

/// Byte `i` of every file the workloads write: a pattern, so a wrong offset shows.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    (0..len as u64)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8)
        .collect()
}

macro_rules! workloads {
    ($module:ident, $krate:ident) => {
        /// The workloads driven through one client crate.
        pub mod $module {
            use std::sync::Arc;
            use std::time::{Duration, Instant};

            use ::$krate as zc;
            use tokio::task::JoinSet;
            use zc::{Client, OpenOptions};

            use crate::clients::{PREPARE_CONCURRENCY, ROOT, pattern};
            use crate::outcome::Outcome;
            use crate::workload::{Sizes, Workload};

            fn err(what: &str, e: impl std::fmt::Display) -> String {
                format!("{what}: {e}")
            }

            fn w1_file() -> String {
                format!("{ROOT}/w1/a/b/c/file")
            }

            /// W7's file `i` (0 is W1's file).
            fn w7_file(i: u64) -> String {
                match i {
                    0 => w1_file(),
                    i => format!("{ROOT}/w1/a/b/c/file{i}"),
                }
            }

            /// Connects with default options, but the export `aname`.
            pub async fn connect(target: &str, aname: &str) -> Result<Arc<Client>, String> {
                let mut opts = zc::ConnectOptions::default();
                opts.aname = aname.to_owned();
                if let Some(m) = std::env::var("ZEROFS_BENCH_MSIZE")
                    .ok()
                    .and_then(|m| m.parse().ok())
                {
                    opts.msize = m;
                }
                Client::connect_with(target, opts)
                    .await
                    .map_err(|e| err(&format!("connect {target}"), e))
            }

            /// Writes `count` files named `dir/<prefix><i>` of `len` bytes, a few at a time.
            async fn many_files(
                client: &Arc<Client>,
                dir: &str,
                prefix: &str,
                count: u64,
                len: u64,
            ) -> Result<(), String> {
                client
                    .create_dir_all(dir, 0o755)
                    .await
                    .map_err(|e| err(dir, e))?;
                let data: Arc<[u8]> = pattern(len as usize, 0).into();
                let mut set = JoinSet::new();
                for i in 0..count {
                    if set.len() >= PREPARE_CONCURRENCY {
                        set.join_next()
                            .await
                            .expect("non-empty set")
                            .map_err(|e| err("task", e))??;
                    }
                    let (client, data) = (client.clone(), data.clone());
                    let path = format!("{dir}/{prefix}{i}");
                    set.spawn(async move {
                        client.write(&path, &data).await.map_err(|e| err(&path, e))
                    });
                }
                while let Some(done) = set.join_next().await {
                    done.map_err(|e| err("task", e))??;
                }
                Ok(())
            }

            /// Creates the shared fixtures `w` reads (idempotent per server).
            pub async fn prepare(
                client: &Arc<Client>,
                w: Workload,
                s: &Sizes,
            ) -> Result<(), String> {
                match w {
                    Workload::W1 | Workload::W7 => {
                        let dir = format!("{ROOT}/w1/a/b/c");
                        client
                            .create_dir_all(&dir, 0o755)
                            .await
                            .map_err(|e| err(&dir, e))?;
                        let files = if w == Workload::W7 { s.w7_paths } else { 1 };
                        for i in 0..files {
                            client
                                .write(w7_file(i), &pattern(4096, 1))
                                .await
                                .map_err(|e| err("w1 file", e))?;
                        }
                        Ok(())
                    }
                    Workload::W2 => {
                        many_files(client, &format!("{ROOT}/w2"), "f", s.w2_files, s.small_file)
                            .await
                    }
                    Workload::W4 | Workload::W4at => {
                        let dir = format!("{ROOT}/w4");
                        client
                            .create_dir_all(&dir, 0o755)
                            .await
                            .map_err(|e| err(&dir, e))?;
                        let path = format!("{dir}/big");
                        if client.stat(&path).await.is_ok_and(|m| m.size == s.big_file) {
                            return Ok(());
                        }
                        let file = client
                            .open(&path, OpenOptions::write_only().create(true).truncate(true))
                            .await
                            .map_err(|e| err(&path, e))?;
                        let chunk = pattern(s.chunk as usize, 4);
                        let mut off = 0;
                        while off < s.big_file {
                            let n = (s.big_file - off).min(s.chunk) as usize;
                            file.write_at(off, &chunk[..n])
                                .await
                                .map_err(|e| err(&path, e))?;
                            off += n as u64;
                        }
                        file.sync_all().await.map_err(|e| err(&path, e))
                    }
                    Workload::W6 => {
                        many_files(client, &format!("{ROOT}/w6"), "e", s.w6_entries, 0).await
                    }
                    Workload::W3 | Workload::W5 => {
                        let dir = format!("{ROOT}/{}", w.name().to_lowercase());
                        client
                            .create_dir_all(&dir, 0o755)
                            .await
                            .map_err(|e| err(&dir, e))
                    }
                    Workload::W8unix | Workload::W8tcp => Ok(()),
                }
            }

            /// Untimed per-run set-up (fresh names for the writing workloads).
            pub async fn setup(client: &Arc<Client>, w: Workload, run: u64) -> Result<(), String> {
                if w == Workload::W3 {
                    let dir = format!("{ROOT}/w3/r{run}");
                    client
                        .create_dir_all(&dir, 0o755)
                        .await
                        .map_err(|e| err(&dir, e))?;
                }
                Ok(())
            }

            /// Untimed per-run clean-up.
            pub async fn cleanup(
                client: &Arc<Client>,
                w: Workload,
                run: u64,
            ) -> Result<(), String> {
                if w == Workload::W5 {
                    let path = format!("{ROOT}/w5/r{run}");
                    client.remove_file(&path).await.map_err(|e| err(&path, e))?;
                }
                Ok(())
            }

            /// The timed part of one run.
            pub async fn run(
                client: &Arc<Client>,
                w: Workload,
                s: &Sizes,
                run: u64,
            ) -> Result<Outcome, String> {
                let mut lat = Vec::new();
                let start = Instant::now();
                let (ops, items, bytes) = match w {
                    Workload::W1 => {
                        let path = w1_file();
                        lat.reserve(s.w1_ops as usize);
                        for _ in 0..s.w1_ops {
                            let t = Instant::now();
                            let m = client.stat(&path).await.map_err(|e| err(&path, e))?;
                            lat.push(t.elapsed());
                            if m.size != 4096 {
                                return Err(format!("{path}: size {} instead of 4096", m.size));
                            }
                        }
                        (s.w1_ops, s.w1_ops, 0)
                    }
                    Workload::W2 => {
                        lat.reserve(s.w2_files as usize);
                        let mut total = 0;
                        for i in 0..s.w2_files {
                            let path = format!("{ROOT}/w2/f{i}");
                            let t = Instant::now();
                            let data = client.read(&path).await.map_err(|e| err(&path, e))?;
                            lat.push(t.elapsed());
                            if data.len() as u64 != s.small_file {
                                return Err(format!("{path}: read {} bytes", data.len()));
                            }
                            total += data.len() as u64;
                        }
                        (s.w2_files, s.w2_files, total)
                    }
                    Workload::W3 => {
                        let data = pattern(s.small_file as usize, run);
                        lat.reserve(s.w3_files as usize);
                        for i in 0..s.w3_files {
                            let path = format!("{ROOT}/w3/r{run}/f{i}");
                            let t = Instant::now();
                            client
                                .write(&path, &data)
                                .await
                                .map_err(|e| err(&path, e))?;
                            lat.push(t.elapsed());
                        }
                        (s.w3_files, s.w3_files, s.w3_files * s.small_file)
                    }
                    Workload::W4 => {
                        let path = format!("{ROOT}/w4/big");
                        let data = client.read(&path).await.map_err(|e| err(&path, e))?;
                        if data.len() as u64 != s.big_file {
                            return Err(format!(
                                "{path}: read {} of {} bytes",
                                data.len(),
                                s.big_file
                            ));
                        }
                        (1, 1, data.len() as u64)
                    }
                    Workload::W4at => {
                        let path = format!("{ROOT}/w4/big");
                        let file = client
                            .open(&path, OpenOptions::read_only())
                            .await
                            .map_err(|e| err(&path, e))?;
                        let (mut off, mut calls) = (0, 0);
                        while off < s.big_file {
                            let data = file
                                .read_at(off, s.chunk as u32)
                                .await
                                .map_err(|e| err(&path, e))?;
                            let want = (s.big_file - off).min(s.chunk);
                            if data.len() as u64 != want {
                                return Err(format!(
                                    "{path}: read_at {off} gave {} of {want} bytes",
                                    data.len()
                                ));
                            }
                            off += want;
                            calls += 1;
                        }
                        (calls, calls, off)
                    }
                    Workload::W5 => {
                        let path = format!("{ROOT}/w5/r{run}");
                        let file = client
                            .open(&path, OpenOptions::write_only().create(true).truncate(true))
                            .await
                            .map_err(|e| err(&path, e))?;
                        let chunk = pattern(s.chunk as usize, run);
                        let (mut off, mut calls) = (0, 0);
                        while off < s.w5_bytes {
                            let n = (s.w5_bytes - off).min(s.chunk) as usize;
                            file.write_at(off, &chunk[..n])
                                .await
                                .map_err(|e| err(&path, e))?;
                            off += n as u64;
                            calls += 1;
                        }
                        file.sync_all().await.map_err(|e| err(&path, e))?;
                        (calls, calls, off)
                    }
                    Workload::W6 => {
                        let dir = format!("{ROOT}/w6");
                        let entries = client.read_dir(&dir).await.map_err(|e| err(&dir, e))?;
                        if entries.len() as u64 != s.w6_entries {
                            return Err(format!(
                                "{dir}: {} entries instead of {}",
                                entries.len(),
                                s.w6_entries
                            ));
                        }
                        (1, s.w6_entries, 0)
                    }
                    Workload::W7 => {
                        let mut set = JoinSet::new();
                        for t in 0..s.w7_tasks {
                            let client = client.clone();
                            let n = s.w7_ops;
                            let path = w7_file(t % s.w7_paths);
                            set.spawn(async move {
                                let mut lat: Vec<Duration> = Vec::with_capacity(n as usize);
                                for _ in 0..n {
                                    let t = Instant::now();
                                    client.stat(&path).await.map_err(|e| err(&path, e))?;
                                    lat.push(t.elapsed());
                                }
                                Ok::<_, String>(lat)
                            });
                        }
                        while let Some(done) = set.join_next().await {
                            lat.extend(done.map_err(|e| err("task", e))??);
                        }
                        let ops = s.w7_tasks * s.w7_ops;
                        (ops, ops, 0)
                    }
                    Workload::W8unix | Workload::W8tcp => {
                        return Err(format!("{w} runs without a client"));
                    }
                };
                Ok(Outcome::new(ops, items, bytes, start.elapsed(), &lat))
            }
        }
    };
}

#[cfg(feature = "ours")]
workloads!(ours, zerofs_client);
workloads!(theirs, zerofs_client_ref);
workloads!(theirs04, zerofs_client_ref04);

#[cfg(test)]
mod tests {
    #[test]
    fn pattern_is_deterministic_and_seeded() {
        let a = super::pattern(1000, 3);
        assert_eq!(a.len(), 1000);
        assert_eq!(a, super::pattern(1000, 3));
        assert_ne!(a, super::pattern(1000, 4));
        assert!(a.iter().all(|&b| b < 251));
    }
}
