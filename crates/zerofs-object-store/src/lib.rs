//! ZeroFS as an [`object_store::ObjectStore`], so the Rust data stack (DataFusion, Polars,
//! delta-rs, lance, arrow-rs' Parquet reader) reads and writes ZeroFS directly.
//!
//! [`ZeroFsStore`] maps objects onto files below a root directory of one shared
//! [`zerofs_client::Client`]. Range reads go through the client's pipelined engine (all the
//! ranges of a [`get_ranges`](object_store::ObjectStore::get_ranges) are in flight together),
//! a whole-object `get` streams in bounded chunks, and uploads are written at their offsets
//! into a staging file that is renamed into place.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
//! # let url = format!("zerofs://{}/lake", server.tcp_addr().unwrap());
//! use object_store::{ObjectStore, ObjectStoreExt, path::Path};
//! use zerofs_object_store::ZeroFsStore;
//!
//! let store = ZeroFsStore::from_url(&url).await?; // e.g. "zerofs://storage:5564/lake"
//! let path = Path::from("events/2026/12/part-0.parquet");
//! store.put(&path, "PAR1...".into()).await?;
//! assert_eq!(store.get_range(&path, 0..4).await?, "PAR1");
//! assert_eq!(store.head(&path).await?.size, 7);
//! # Ok(()) }
//! ```
//!
//! # Objects over a filesystem
//!
//! The semantics follow `object_store`'s own `LocalFileSystem` wherever a filesystem forces a
//! choice, and differ only where noted:
//!
//! - **Names.** Each segment of a [`Path`](object_store::path::Path) is one file name, byte
//!   for byte (percent-encoded sequences stay encoded, as in `LocalFileSystem`). Directory
//!   entries no `Path` can represent (not UTF-8, control characters) are skipped by listings
//!   with a `tracing` warning, never a panic. Names ending in `#` and digits (`x#12`) are
//!   reserved for uploads in progress: listings skip them and addressing one is an error.
//! - **Directories** are implicit: `put` creates missing parents; `delete` leaves them
//!   (like `LocalFileSystem`) unless [`with_automatic_cleanup`](ZeroFsStore::with_automatic_cleanup)
//!   asks to prune the ones it empties. There are no directory markers: a directory is never
//!   an object (`get`/`head` of one is `NotFound`), `list` returns files only, and
//!   `list_with_delimiter` reports every directory, even an empty one, as a common prefix.
//! - **Atomic writes.** `put` writes a staging file `name#<digits>` in the target directory
//!   and renames it into place, so readers see the old or the new object, never a mix.
//!   `PutMode::Create` publishes with a hard link, which fails if the name exists (atomic
//!   create-new). `PutMode::Update` is `NotImplemented`: 9P has no compare-and-swap, and a
//!   check-then-rename would not be honest under concurrent writers (`LocalFileSystem` says
//!   the same). Attributes are `NotImplemented`; tags are ignored.
//! - **Copies** are hard links (as in `LocalFileSystem`): no data moves, and since every
//!   write replaces the file rather than changing it in place, objects stay independent.
//!   `copy_if_not_exists` and `rename_if_not_exists` are atomic create-new links.
//! - **E-tag** is `"<inode>-<mtime ns>-<size>"` in hex (ZeroFS never reuses an inode, and
//!   every put makes a new one); **`last_modified`** is the file's mtime; there are no
//!   versions (`GetOptions::version` is `NotImplemented`).
//! - **Symlinks and special files** are not objects: listings skip them and `get` answers
//!   `NotFound` (`LocalFileSystem` follows symlinks; a 9P walk does not).
//! - **Durability.** With [`with_fsync`](ZeroFsStore::with_fsync) every written file is
//!   synced (at `.Z`, a verified barrier) before it is published.
//!
//! `object_store`'s conformance suite (`object_store::integration`) runs against this store
//! on every memserver generation (`tests/conformance.rs`): every function that
//! `LocalFileSystem` passes. Not implemented: [`MultipartStore`](object_store::multipart::MultipartStore)
//! (parts of unknown size arriving out of order cannot be placed at their offsets, and
//! concatenating them afterwards would move every byte twice; `LocalFileSystem` does not
//! implement it either) and `PaginatedListStore`.
#![warn(missing_docs)]

mod error;
mod list;
mod paths;
mod read;
mod store;
mod url;
mod write;

use std::fmt;
use std::sync::Arc;

use zerofs_client::Client;

pub use object_store;
pub use zerofs_client;

/// An [`ObjectStore`](object_store::ObjectStore) over a ZeroFS (or any 9P2000.L) server,
/// rooted at a directory. Cheap to clone; clones share the client.
#[derive(Clone)]
pub struct ZeroFsStore {
    pub(crate) client: Arc<Client>,
    /// `""` (the attach root) or `/a/b`.
    pub(crate) root: Arc<str>,
    /// Where the client is connected, for `Display`.
    pub(crate) label: Arc<str>,
    pub(crate) fsync: bool,
    pub(crate) automatic_cleanup: bool,
}

impl fmt::Debug for ZeroFsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZeroFsStore")
            .field("label", &self.label)
            .field("root", &self.root)
            .field("fsync", &self.fsync)
            .field("automatic_cleanup", &self.automatic_cleanup)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ZeroFsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = if self.root.is_empty() {
            "/"
        } else {
            &self.root
        };
        write!(f, "ZeroFsStore({}{root})", self.label)
    }
}

impl ZeroFsStore {
    /// A store over `client`, rooted at its attach root.
    pub fn new(client: Arc<Client>) -> ZeroFsStore {
        ZeroFsStore {
            client,
            root: Arc::from(""),
            label: Arc::from("zerofs"),
            fsync: false,
            automatic_cleanup: false,
        }
    }

    /// Roots the store at the directory `prefix` (from the attach root; created by the first
    /// `put` if missing). `..` is refused.
    pub fn with_prefix(mut self, prefix: &str) -> object_store::Result<ZeroFsStore> {
        self.root = Arc::from(paths::normalize_root(prefix)?);
        Ok(self)
    }

    /// Syncs every written file to stable storage before publishing it (default off, as in
    /// `LocalFileSystem`).
    pub fn with_fsync(mut self, fsync: bool) -> ZeroFsStore {
        self.fsync = fsync;
        self
    }

    /// After a delete or rename, removes the parent directories it left empty, up to (not
    /// including) the root (default off, as in `LocalFileSystem`).
    pub fn with_automatic_cleanup(mut self, automatic_cleanup: bool) -> ZeroFsStore {
        self.automatic_cleanup = automatic_cleanup;
        self
    }

    /// Connects to `url` and roots the store at its path:
    ///
    /// - `zerofs://host[:port][/prefix]` (port 5564 by default);
    /// - `zerofs+unix://<percent-encoded socket path>[/prefix]`, e.g.
    ///   `zerofs+unix://%2Frun%2Fzerofs.sock/lake`;
    /// - `unix:/path/to.sock[?prefix=/lake]`.
    ///
    /// Query parameters `aname`, `uid` and `gid` set the attach identity and export.
    pub async fn from_url(url: &str) -> object_store::Result<ZeroFsStore> {
        let parsed = url::parse(url)?;
        let client = Client::connect_with(&parsed.target, parsed.options)
            .await
            .map_err(|e| error::write_error(e, url))?;
        let mut store = ZeroFsStore::new(client).with_prefix(&parsed.prefix)?;
        store.label = Arc::from(parsed.target.as_str());
        Ok(store)
    }

    /// The client the store runs on.
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// The root directory of the store on the server (`/` for the attach root).
    pub fn root(&self) -> &str {
        if self.root.is_empty() {
            "/"
        } else {
            &self.root
        }
    }
}
