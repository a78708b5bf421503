//! [`Fixture`]: where a scenario runs and what that server can do.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use zerofs_9p_proto::MessageType;
use zerofs_client::{Client, ConnectOptions, Dir, DirEntry, ZeroFsError};
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

use crate::realserver::{RealKind, kind_from_name};

/// The environment variable naming the file where skips are recorded (set by
/// `cargo xtask interop`); see [`Fixture::skip`].
pub const SKIP_LOG_ENV: &str = "ZEROFS_SKIP_LOG";

/// What the server under test offers beyond plain 9P2000.L semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// The best dialect the client should negotiate, when known.
    pub generation: Option<Generation>,
    /// `aname` selects a subtree of one shared file system (ZeroFS 1.2+, the memserver
    /// beyond plain); 0.19.1 ignores it and diod needs the export path.
    pub aname_subtree: bool,
    /// `aname` must be the export path (diod).
    pub aname_required: bool,
    /// Fault injection and frame counters (the memserver only).
    pub faults: bool,
    /// Emptying a directory with parallel unlinks leaves it removable (not ZeroFS 0.19.1).
    pub parallel_unlink_ok: bool,
    /// Walks fail at the first missing name with a partial reply (1.2+ servers).
    pub partial_walks: bool,
    /// Walks pass through symlinked directories (diod resolves paths on its host).
    pub walks_follow_symlinks: bool,
    /// A real server process the test support can start, `kill -9` and restart privately.
    pub real_server: Option<RealKind>,
    /// Treaddir at offset 0 lists from the start on a fid whose first Treaddir was at the
    /// end cookie. Not diod 1.0.24 on ext4: it answers that first offset-0 read empty once.
    pub rewind_after_end_seek: bool,
    /// Extended attributes (`Txattrwalk`/`Txattrcreate`): diod, where the export's file
    /// system allows `user.*` attributes. ZeroFS and the memserver refuse them.
    pub xattrs: bool,
}

/// A server to run one scenario against, and how to connect to it.
#[derive(Debug)]
pub struct Fixture {
    /// The target string.
    pub target: String,
    /// Options every client of the scenario starts from.
    pub options: ConnectOptions,
    /// What the server can do.
    pub caps: Caps,
    /// The memserver's handle (fault injection, counters), if it is one.
    pub server: Option<ServerHandle>,
    /// A per-scenario directory prefix (unique on a shared external server).
    pub prefix: String,
    /// The scenario's name (set by [`conformance_tests!`](crate::conformance_tests)).
    pub scenario: &'static str,
    /// The matrix column: `memserver-<generation>`, or `ZEROFS_INTEROP_LABEL` (e.g.
    /// `diod-tcp`), else `ZEROFS_SERVER`.
    pub label: String,
}

impl Fixture {
    /// A fresh memserver of `generation` on loopback TCP.
    pub async fn memserver(generation: Generation) -> Fixture {
        let server = MemServer::start(Config::new(generation))
            .await
            .expect("memserver starts");
        Fixture {
            target: server.target(),
            options: ConnectOptions::default(),
            caps: Caps {
                generation: Some(generation),
                aname_subtree: generation != Generation::Plain,
                aname_required: false,
                faults: true,
                parallel_unlink_ok: true,
                partial_walks: generation != Generation::Plain,
                walks_follow_symlinks: false,
                real_server: None,
                rewind_after_end_seek: true,
                xattrs: false,
            },
            server: Some(server),
            prefix: String::new(),
            scenario: "",
            label: format!("memserver-{generation}"),
        }
    }

    /// The external server named by `ZEROFS_TARGET`, described by `ZEROFS_SERVER`
    /// (`diod`, `zerofs-0.19.1`, or a memserver generation name) and, for diod, `ZEROFS_ANAME`
    /// (the export path). Each fixture works under a fresh directory.
    pub fn external() -> Option<Fixture> {
        let target = std::env::var("ZEROFS_TARGET").ok()?;
        let kind = std::env::var("ZEROFS_SERVER").unwrap_or_else(|_| "zerofs-0.19.1".into());
        let aname = std::env::var("ZEROFS_ANAME").unwrap_or_default();
        let caps = match kind.as_str() {
            "diod" => Caps {
                generation: Some(Generation::Plain),
                aname_subtree: false,
                aname_required: true,
                faults: false,
                parallel_unlink_ok: true,
                partial_walks: true,
                walks_follow_symlinks: true,
                real_server: Some(RealKind::Diod),
                rewind_after_end_seek: false,
                xattrs: true,
            },
            "zerofs-0.19.1" => Caps {
                generation: Some(Generation::Plain),
                aname_subtree: false,
                aname_required: false,
                faults: false,
                parallel_unlink_ok: false,
                partial_walks: false,
                walks_follow_symlinks: false,
                real_server: Some(RealKind::Zerofs),
                rewind_after_end_seek: true,
                xattrs: false,
            },
            other => {
                let g: Generation = other
                    .parse()
                    .expect("ZEROFS_SERVER: diod, zerofs-0.19.1 or a generation");
                Caps {
                    generation: Some(g),
                    aname_subtree: g != Generation::Plain,
                    aname_required: false,
                    faults: false,
                    parallel_unlink_ok: true,
                    partial_walks: g != Generation::Plain,
                    walks_follow_symlinks: false,
                    real_server: None,
                    rewind_after_end_seek: true,
                    xattrs: false,
                }
            }
        };
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        debug_assert_eq!(caps.real_server, kind_from_name(&kind));
        let label = std::env::var("ZEROFS_INTEROP_LABEL").unwrap_or_else(|_| kind.clone());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Some(Fixture {
            target,
            options: ConnectOptions {
                aname,
                ..ConnectOptions::default()
            },
            caps,
            server: None,
            prefix: format!("/conformance-{}-{nanos}-{n}", std::process::id()),
            scenario: "",
            label,
        })
    }

    /// A connected client with the fixture's options; on an external server the scenario
    /// prefix directory is created first.
    pub async fn client(&self) -> Arc<Client> {
        let c = self.client_with(self.options.clone()).await;
        if !self.prefix.is_empty() {
            c.create_dir_all(&self.prefix, 0o777)
                .await
                .expect("prefix directory");
        }
        c
    }

    /// A client with the fixture's options to another target (e.g. a proxy in front of it).
    pub async fn client_at(&self, target: &str) -> Arc<Client> {
        Client::connect_with(target, self.options.clone())
            .await
            .expect("client connects")
    }

    /// A client with other options.
    pub async fn client_with(&self, options: ConnectOptions) -> Arc<Client> {
        Client::connect_with(&self.target, options)
            .await
            .expect("client connects")
    }

    /// `path` under the scenario prefix.
    pub fn p(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// Names the scenario, for the skip records.
    pub fn named(mut self, scenario: &'static str) -> Fixture {
        self.scenario = scenario;
        self
    }

    /// Records that the whole scenario is skipped on this server, and why: a server
    /// limitation, never a client bug. The caller returns right after.
    pub fn skip(&self, reason: &str) {
        self.record("SKIP", reason);
    }

    /// Records that one part of the scenario is not checked on this server, and why; the
    /// rest of the scenario runs.
    pub fn skip_part(&self, reason: &str) {
        self.record("PART", reason);
    }

    /// Writes `KIND LABEL SCENARIO: REASON` to stderr (nextest keeps it with the test's
    /// output) and appends it to the file named by `ZEROFS_SKIP_LOG`, when set, in one
    /// `O_APPEND` write so that parallel tests do not interleave lines.
    fn record(&self, kind: &str, reason: &str) {
        let scenario = if self.scenario.is_empty() {
            "unnamed"
        } else {
            self.scenario
        };
        let line = format!(
            "{kind} {} {scenario}: {}\n",
            self.label,
            reason.replace('\n', " ")
        );
        eprint!("capability check: {line}");
        if let Some(path) = std::env::var_os(SKIP_LOG_ENV).filter(|p| !p.is_empty()) {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            // A skip that cannot be recorded must not pass silently.
            written.unwrap_or_else(|e| panic!("cannot record a skip in {path:?}: {e}"));
        }
    }

    /// The memserver, when the scenario needs fault injection or counters. Returns `None`
    /// for external servers after recording `what` as a part not checked there (see
    /// [`skip_part`](Self::skip_part)): the caller skips that part.
    pub fn faults(&self, what: &str) -> Option<&ServerHandle> {
        if self.server.is_none() {
            self.skip_part(&format!(
                "{what} needs the memserver's fault injection or counters"
            ));
        }
        self.server.as_ref()
    }

    /// Frames the server received per request type while `f` ran, background clunks and
    /// the clunks still settling excluded (memserver only).
    pub async fn count<F, Fut, T>(&self, f: F) -> (T, Vec<(MessageType, u64)>)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let server = self.server.as_ref().expect("counting needs the memserver");
        let before = server.counters();
        let out = f().await;
        let after = server.counters();
        let mut delta = Vec::new();
        for (ty, n) in after.by_type() {
            let d = n - before.frames(*ty);
            if d > 0 && *ty != MessageType::Tclunk {
                delta.push((*ty, d));
            }
        }
        (out, delta)
    }
}

/// Total frames of a [`Fixture::count`] delta.
pub fn total(delta: &[(MessageType, u64)]) -> u64 {
    delta.iter().map(|(_, n)| n).sum()
}

/// Polls `client.outstanding_fids()` until it is at most `baseline` (bounded: 2 s).
pub async fn fids_settle(client: &Client, baseline: usize) -> usize {
    let mut n = client.outstanding_fids();
    for _ in 0..400 {
        if n <= baseline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        n = client.outstanding_fids();
    }
    n
}

/// The entries of `dir` from where its listing stands to the end (at most 10 batches).
pub async fn remaining_entries(dir: &Dir) -> Result<Vec<DirEntry>, ZeroFsError> {
    let mut entries = Vec::new();
    for _ in 0..10 {
        let batch = dir.next_batch(None).await?;
        if batch.is_empty() {
            break;
        }
        entries.extend(batch);
    }
    Ok(entries)
}

/// The fid count once two reads 10 ms apart agree (bounded).
pub async fn quiesced_fids(client: &Client) -> usize {
    let mut last = client.outstanding_fids();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = client.outstanding_fids();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}
