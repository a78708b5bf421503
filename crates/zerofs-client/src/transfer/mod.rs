//! Bulk transfers: files and whole trees between a local path and a server path (or within
//! the server), many files at once, each large file pipelined, with progress and cancellation.
//!
//! [`Transfer`] is the engine: build it with [`TransferOptions`], watch it with
//! [`Transfer::progress`], run [`Transfer::copy`] with two [`Endpoint`]s. Memory stays bounded
//! whatever the tree size: the walk feeds a bounded queue, at most
//! [`TransferOptions::concurrency`] files are in flight, and every block in flight holds a
//! share of one byte budget ([`TransferOptions::memory`]).
//!
//! A file is written under a temporary name in its destination directory and renamed over
//! the destination when complete, so dropping the future (or a failure) never leaves a
//! partial file: local temporaries are removed at once, server ones by a task that
//! [`Transfer::settle`] waits for. Blocks of zeros are not written (the destination stays
//! sparse where the file system supports holes); its length is set at the end.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
//! use zerofs_client::Client;
//! use zerofs_client::transfer::{Endpoint, Transfer, TransferOptions};
//!
//! let client = Client::connect(&server.target()).await?;
//! let local = std::env::temp_dir().join(format!("zerofs-doc-{}", std::process::id()));
//! std::fs::create_dir_all(local.join("sub"))?;
//! std::fs::write(local.join("sub/a.txt"), b"hello")?;
//!
//! let engine = Transfer::new(TransferOptions::default());
//! let report = engine
//!     .copy(Endpoint::local(&local), Endpoint::remote(&client, "/up"))
//!     .await?;
//! assert_eq!((report.files, report.bytes), (1, 5));
//! assert_eq!(&client.read("/up/sub/a.txt").await?[..], b"hello");
//! assert_eq!(engine.progress().borrow().files_done, 1);
//! # std::fs::remove_dir_all(&local)?;
//! # Ok(()) }
//! ```

mod pump;
mod side;
mod temp;
mod tree;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use crate::client::Client;
use crate::error::ZeroFsError;
use crate::spare::Spare;

pub use self::side::{Kind, Node};
use self::temp::Pending;

/// Where a transfer reads or writes: a local path or a path on a server.
#[derive(Clone)]
pub enum Endpoint {
    /// A path on the local file system.
    Local(PathBuf),
    /// A path on the server `Client` is connected to (raw bytes allowed).
    Remote(Arc<Client>, PathBuf),
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Local(p) => write!(f, "Local({})", p.display()),
            Endpoint::Remote(_, p) => write!(f, "Remote(:{})", p.display()),
        }
    }
}

impl Endpoint {
    /// A local path.
    pub fn local(path: impl AsRef<Path>) -> Endpoint {
        Endpoint::Local(path.as_ref().to_path_buf())
    }

    /// A path on `client`'s server.
    pub fn remote(client: &Arc<Client>, path: impl AsRef<Path>) -> Endpoint {
        Endpoint::Remote(client.clone(), path.as_ref().to_path_buf())
    }

    /// The path (local, or on the server).
    pub fn path(&self) -> &Path {
        match self {
            Endpoint::Local(p) | Endpoint::Remote(_, p) => p,
        }
    }

    /// The same side with another path.
    pub fn with_path(&self, path: impl AsRef<Path>) -> Endpoint {
        match self {
            Endpoint::Local(_) => Endpoint::local(path),
            Endpoint::Remote(c, _) => Endpoint::remote(c, path),
        }
    }

    /// The node at this path, not following a final symlink (`None`: nothing there).
    pub async fn stat(&self) -> Result<Option<Node>, TransferError> {
        side::Side::of(self).stat(self.path()).await
    }
}

/// How a [`Transfer`] behaves.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Files copied at once (default 32).
    pub concurrency: usize,
    /// Bytes per block read and written as one pipelined call (default 4 MiB).
    pub block_size: usize,
    /// Blocks of one file in flight at once (default 4).
    pub blocks_per_file: usize,
    /// Most data bytes held by blocks in flight, over all files (default 64 MiB).
    pub memory: usize,
    /// Copy directories recursively (otherwise a directory source is an error).
    pub recursive: bool,
    /// Keep permission bits (default true).
    pub keep_modes: bool,
    /// Keep modification times (default true).
    pub keep_times: bool,
    /// Recreate symlinks as symlinks (default true); false skips them.
    pub keep_symlinks: bool,
    /// Skip blocks of zeros so the destination stays sparse (default true).
    pub sparse: bool,
    /// Write destination files in place instead of a temporary name renamed at the end: a
    /// cancelled or failed copy then leaves a partial file (default false).
    pub in_place: bool,
    /// Skip files whose destination has the same size and modification time (seconds).
    pub skip_unchanged: bool,
    /// Remove destination entries that the source does not have (for `sync`).
    pub delete_extra: bool,
    /// Plan only: walk, count and report through [`on_event`](Self::on_event), change nothing.
    pub dry_run: bool,
    /// Called for every file, link, directory and removal as it is decided (for logs and
    /// dry runs).
    pub on_event: Option<EventHook>,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            concurrency: 32,
            block_size: 4 << 20,
            blocks_per_file: 4,
            memory: 64 << 20,
            recursive: true,
            keep_modes: true,
            keep_times: true,
            keep_symlinks: true,
            sparse: true,
            in_place: false,
            skip_unchanged: false,
            delete_extra: false,
            dry_run: false,
            on_event: None,
        }
    }
}

/// A callback for [`Event`]s.
#[derive(Clone)]
pub struct EventHook(pub Arc<dyn Fn(&Event) + Send + Sync>);

impl fmt::Debug for EventHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventHook")
    }
}

impl EventHook {
    /// A hook calling `f`.
    pub fn new(f: impl Fn(&Event) + Send + Sync + 'static) -> EventHook {
        EventHook(Arc::new(f))
    }
}

/// What a transfer decided about one path (see [`TransferOptions::on_event`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A file copied from `from` to `to` (`size` bytes).
    Copy {
        /// Source path.
        from: PathBuf,
        /// Destination path.
        to: PathBuf,
        /// Its size.
        size: u64,
    },
    /// A symlink recreated at `to`.
    Link {
        /// Destination path.
        to: PathBuf,
        /// The link's target.
        target: PathBuf,
    },
    /// A directory created.
    Dir {
        /// Destination path.
        to: PathBuf,
    },
    /// A destination entry removed because the source lacks it.
    Remove {
        /// Destination path.
        path: PathBuf,
    },
    /// A file skipped because it is unchanged.
    Skip {
        /// Destination path.
        path: PathBuf,
    },
}

/// Counts of a transfer so far: totals grow while the walk discovers the tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Files (and links) completed.
    pub files_done: u64,
    /// Files (and links) found so far.
    pub files_total: u64,
    /// Bytes written so far (or skipped as holes).
    pub bytes_done: u64,
    /// Bytes of the files found so far.
    pub bytes_total: u64,
    /// Whether the walk has finished (the totals are final).
    pub scan_done: bool,
}

/// The outcome of a transfer in which every failure was per path.
#[derive(Debug, Default)]
pub struct TransferReport {
    /// Files and links copied.
    pub files: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Directories created.
    pub dirs: u64,
    /// Files skipped as unchanged.
    pub skipped: u64,
    /// Entries removed (`delete_extra`).
    pub removed: u64,
    /// Paths that failed (the first 1,000), and how many failed in all.
    pub failures: Vec<TransferError>,
    /// How many paths failed.
    pub failed: u64,
}

/// A failure on one path: the path and the error.
#[derive(Debug)]
pub struct TransferError {
    /// The path (local, or on the server) as text.
    pub path: String,
    /// What went wrong.
    pub error: io::Error,
}

impl TransferError {
    pub(crate) fn local(path: &Path, error: io::Error) -> TransferError {
        TransferError {
            path: path.display().to_string(),
            error,
        }
    }

    pub(crate) fn remote(path: &Path, error: ZeroFsError) -> TransferError {
        TransferError {
            path: format!(":{}", path.display()),
            error: error.into(),
        }
    }

    /// The errno, when the failure has one.
    pub fn errno(&self) -> Option<i32> {
        if let Some(z) = self
            .error
            .get_ref()
            .and_then(|e| e.downcast_ref::<ZeroFsError>())
        {
            return Some(z.to_errno());
        }
        self.error.raw_os_error()
    }
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A server error already names its path.
        if self.error.get_ref().is_some_and(|e| e.is::<ZeroFsError>()) {
            write!(f, "{}", self.error)
        } else {
            write!(f, "{}: {}", self.path, self.error)
        }
    }
}

impl std::error::Error for TransferError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The bulk-transfer engine (see the module docs).
pub struct Transfer {
    opts: TransferOptions,
    progress: watch::Sender<Progress>,
    budget: Arc<Semaphore>,
    pending: Pending,
    /// Block buffers of uploads, reused so a large file is not a fresh (zeroed, page-faulted)
    /// allocation per block.
    spare: std::sync::Mutex<Spare>,
}

impl fmt::Debug for Transfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transfer")
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

/// Budget units: 64 KiB each.
const UNIT: usize = 64 << 10;

impl Transfer {
    /// An engine with `opts` (reusable: counts accumulate over calls).
    pub fn new(mut opts: TransferOptions) -> Transfer {
        opts.concurrency = opts.concurrency.max(1);
        opts.block_size = opts.block_size.clamp(UNIT, 256 << 20);
        opts.blocks_per_file = opts.blocks_per_file.max(1);
        let units = (opts.memory / UNIT).clamp(opts.block_size / UNIT, u32::MAX as usize >> 4);
        // One file's blocks in flight and one being read, within the memory budget.
        let keep = (opts.blocks_per_file + 1).min(units * UNIT / opts.block_size);
        Transfer {
            spare: std::sync::Mutex::new(Spare::new(keep)),
            opts,
            progress: watch::Sender::new(Progress::default()),
            budget: Arc::new(Semaphore::new(units)),
            pending: Pending::default(),
        }
    }

    /// The upload block buffers (a lock held only to take or give back one).
    fn spare(&self) -> std::sync::MutexGuard<'_, Spare> {
        self.spare.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The progress so far; `changed()` wakes on every update.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// The options in effect.
    pub fn options(&self) -> &TransferOptions {
        &self.opts
    }

    /// Copies `from` to `to` (the destination path itself, not a directory to copy into):
    /// a file, a symlink, or with `recursive` a whole tree. Failures of single paths are
    /// collected in the report and the copy goes on; `Err` means the copy could not start
    /// (missing source, a directory without `recursive`).
    ///
    /// Dropping the future cancels the copy; call [`settle`](Self::settle) afterwards to wait
    /// until temporary files on the server are removed.
    pub async fn copy(
        &self,
        from: Endpoint,
        to: Endpoint,
    ) -> Result<TransferReport, TransferError> {
        let result = tree::run(self, from, to).await;
        self.progress.send_modify(|p| p.scan_done = true);
        result
    }

    /// Waits until the temporary files of cancelled or failed copies are removed.
    pub async fn settle(&self) {
        self.pending.settle().await
    }

    fn event(&self, e: impl FnOnce() -> Event) {
        if let Some(f) = &self.opts.on_event {
            (f.0)(&e());
        }
    }
}

/// Server-side copy of one file within the same server: no dialect of the protocol
/// (PROTOCOL.md) has a copy message, so the bytes travel through the client, pipelined in
/// both directions. Kept in one place so a dialect-level copy can replace it.
pub(crate) async fn copy_file_on_server(
    engine: &Transfer,
    client: &Arc<Client>,
    from: &Path,
    to: &Path,
    node: &Node,
    dirs: pump::Parents<'_>,
) -> Result<(), TransferError> {
    let src = Endpoint::remote(client, from);
    let dst = Endpoint::remote(client, to);
    pump::copy_file(engine, &src, &dst, node, dirs).await
}

#[cfg(test)]
mod tests;
