//! [`Dir`]: a directory handle for listing and openat-style child operations.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use zerofs_session::Fid;

use crate::ctx::{Ctx, OrPath};
use crate::error::ZeroFsError;
use crate::file::File;
use crate::path::{check_name, join_display};
use crate::records::{DirEntry, Metadata, NodeKind, OpenOptions, SetAttrs};

/// The listing cursor: a lazily opened listing fid, the readdir cookie, and entries fetched
/// but not yet delivered.
#[derive(Debug, Default)]
struct Listing {
    fid: Option<Fid>,
    cookie: u64,
    eof: bool,
    buf: VecDeque<DirEntry>,
}

/// An open directory: a listing cursor plus operations on children by name (like the
/// `*at` system calls), which cost no walk from the root.
///
/// Child names are single components as raw bytes (`DirEntry::name_bytes` fits), so
/// non-UTF-8 names work. The handle survives reconnects; [`close`](Self::close) only makes
/// later calls fail with [`ZeroFsError::Closed`], and the fids are released when the last
/// `Arc` drops.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
/// use zerofs_client::{Client, OpenOptions};
///
/// let client = Client::connect(&server.target()).await?;
/// client.create_dir("/d", 0o755).await?;
/// let dir = client.open_dir("/d").await?;
/// dir.create_dir_at(b"sub", 0o700).await?;
/// let f = dir.open_at(b"\xff-raw", OpenOptions::write_only().create_new(true)).await?;
/// f.write_at(0, b"x").await?;
/// let mut names = Vec::new();
/// loop {
///     let batch = dir.next_batch(None).await?;
///     if batch.is_empty() { break; }
///     names.extend(batch.into_iter().map(|e| e.name_bytes));
/// }
/// names.sort();
/// assert_eq!(names, vec![b"sub".to_vec(), b"\xff-raw".to_vec()]);
/// # Ok(()) }
/// ```
pub struct Dir {
    cx: Arc<Ctx>,
    /// The unopened directory fid (`None`: the attach root).
    fid: Option<Fid>,
    path: String,
    closed: AtomicBool,
    listing: tokio::sync::Mutex<Listing>,
}

impl fmt::Debug for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dir")
            .field("path", &self.path)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Dir {
    pub(crate) fn new(cx: Arc<Ctx>, fid: Option<Fid>, path: String) -> Dir {
        Dir {
            cx,
            fid,
            path,
            closed: AtomicBool::new(false),
            listing: tokio::sync::Mutex::new(Listing::default()),
        }
    }

    fn fid(&self) -> &Fid {
        self.fid.as_ref().unwrap_or_else(|| self.cx.session.root())
    }

    fn check(&self) -> Result<(), ZeroFsError> {
        if self.closed.load(Ordering::Acquire) {
            Err(ZeroFsError::Closed)
        } else {
            Ok(())
        }
    }

    /// Checks the handle and a child name; returns the name and its display path.
    fn child(&self, name: &[u8]) -> Result<(Bytes, String), ZeroFsError> {
        self.check()?;
        check_name(name)?;
        Ok((Bytes::copy_from_slice(name), join_display(&self.path, name)))
    }

    /// Checks that `other` is open and belongs to the same client.
    fn peer(&self, other: &Dir) -> Result<(), ZeroFsError> {
        other.check()?;
        if !Arc::ptr_eq(&self.cx, &other.cx) {
            return Err(ZeroFsError::invalid(
                "the directories belong to different clients",
            ));
        }
        Ok(())
    }

    /// The next entries in server order (`.` and `..` excluded): at most `max_entries`, or
    /// one server batch with `None`. **An empty result means the end of the directory**
    /// (`Some(0)` also returns empty). After the end, calls return empty without a round
    /// trip until [`rewind`](Self::rewind).
    #[tracing::instrument(level = "debug", name = "dir.next_batch", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn next_batch(&self, max_entries: Option<u32>) -> Result<Vec<DirEntry>, ZeroFsError> {
        self.check()?;
        if max_entries == Some(0) {
            return Ok(Vec::new());
        }
        let d = self.path.as_str();
        let mut l = self.listing.lock().await;
        while l.buf.is_empty() && !l.eof {
            if l.fid.is_none() {
                l.fid = Some(self.cx.open_listing(self.fid()).await.at(d)?);
            }
            let fid = l.fid.as_ref().expect("opened above");
            let batch = self.cx.read_batch(fid, l.cookie).await.at(d)?;
            l.eof = batch.end;
            l.cookie = batch.next;
            l.buf.extend(batch.entries);
        }
        let n = max_entries.map_or(l.buf.len(), |m| l.buf.len().min(m as usize));
        Ok(l.buf.drain(..n).collect())
    }

    /// Restarts the listing from the first entry (no round trip; the listing fid stays open).
    #[tracing::instrument(level = "debug", name = "dir.rewind", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn rewind(&self) -> Result<(), ZeroFsError> {
        self.check()?;
        let mut l = self.listing.lock().await;
        l.cookie = 0;
        l.eof = false;
        l.buf.clear();
        Ok(())
    }

    /// A stream of the entries, sharing this handle's cursor.
    #[cfg(feature = "stream")]
    pub fn entries(self: &Arc<Dir>) -> crate::stream::DirStream {
        crate::stream::DirStream::new(self.clone())
    }

    /// The directory's own attributes.
    #[tracing::instrument(level = "debug", name = "dir.metadata", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn metadata(&self) -> Result<Metadata, ZeroFsError> {
        self.check()?;
        Ok(Metadata::from_stat(
            &self.cx.getattr(self.fid()).await.at(&self.path)?,
        ))
    }

    /// Changes the directory's own attributes; returns the metadata after the change.
    #[tracing::instrument(level = "debug", name = "dir.set_attr", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn set_attr(&self, attrs: SetAttrs) -> Result<Metadata, ZeroFsError> {
        self.check()?;
        let wire = attrs.to_wire(self.fid().id())?;
        Ok(Metadata::from_stat(
            &self.cx.setattr(self.fid(), wire).await.at(&self.path)?,
        ))
    }

    /// Opens the child `name` (see [`Client::open`](crate::Client::open) for `opts`).
    #[tracing::instrument(level = "debug", name = "dir.open_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn open_at(&self, name: &[u8], opts: OpenOptions) -> Result<Arc<File>, ZeroFsError> {
        crate::open::access(&opts)?;
        let (name, d) = self.child(name)?;
        let opened = self.cx.open_in(self.fid(), &[], &name, &opts, &d).await?;
        if opts.truncate && opts.write && opened.known_size() != Some(0) {
            self.cx.set_size(&opened.fid, 0).await.at(&d)?;
        }
        Ok(Arc::new(File::new(self.cx.clone(), opened.fid, d)))
    }

    /// Opens the child directory `name` (`NotADirectory` for anything else).
    #[tracing::instrument(level = "debug", name = "dir.open_dir_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn open_dir_at(&self, name: &[u8]) -> Result<Arc<Dir>, ZeroFsError> {
        let (name, d) = self.child(name)?;
        let (fid, stat) = self
            .cx
            .walk_maybe_stat(self.fid(), std::slice::from_ref(&name))
            .await
            .at(&d)?;
        if crate::walk::node_is_dir(&fid, stat.as_ref()) == Some(false) {
            return Err(ZeroFsError::NotADirectory { path: d });
        }
        Ok(Arc::new(Dir::new(self.cx.clone(), Some(fid), d)))
    }

    /// The attributes of the child `name` itself (never follows a symlink).
    #[tracing::instrument(level = "debug", name = "dir.metadata_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn metadata_at(&self, name: &[u8]) -> Result<Metadata, ZeroFsError> {
        let (name, d) = self.child(name)?;
        let stat = self
            .cx
            .stat_at(self.fid(), std::slice::from_ref(&name))
            .await
            .at(&d)?;
        Ok(Metadata::from_stat(&stat))
    }

    /// Changes the attributes of the child `name` without opening it (works on symlinks and
    /// fifos); returns the metadata after the change.
    #[tracing::instrument(level = "debug", name = "dir.set_attr_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn set_attr_at(&self, name: &[u8], attrs: SetAttrs) -> Result<Metadata, ZeroFsError> {
        let (name, d) = self.child(name)?;
        let wire = attrs.to_wire(0)?;
        let fid = self
            .cx
            .walk(self.fid(), std::slice::from_ref(&name))
            .await
            .at(&d)?;
        let t = zerofs_9p_proto::Tsetattr {
            fid: fid.id(),
            ..wire
        };
        Ok(Metadata::from_stat(&self.cx.setattr(&fid, t).await.at(&d)?))
    }

    /// Creates the child directory `name`.
    #[tracing::instrument(level = "debug", name = "dir.create_dir_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn create_dir_at(&self, name: &[u8], mode: u32) -> Result<Metadata, ZeroFsError> {
        let (name, d) = self.child(name)?;
        Ok(Metadata::from_stat(
            &self.cx.mkdir(self.fid(), name, mode).await.at(&d)?,
        ))
    }

    /// Creates the symlink `name` → `target` (stored verbatim).
    #[tracing::instrument(level = "debug", name = "dir.symlink_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn symlink_at(&self, name: &[u8], target: &[u8]) -> Result<Metadata, ZeroFsError> {
        let (name, d) = self.child(name)?;
        let target = Bytes::copy_from_slice(target);
        Ok(Metadata::from_stat(
            &self.cx.symlink(self.fid(), name, target).await.at(&d)?,
        ))
    }

    /// Creates the hard link `new_name` here to `original_name` in `original_dir` (which may
    /// be `self`); returns the file's metadata with the new link count.
    #[tracing::instrument(level = "debug", name = "dir.link_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn link_at(
        &self,
        original_dir: &Dir,
        original_name: &[u8],
        new_name: &[u8],
    ) -> Result<Metadata, ZeroFsError> {
        let (new, d) = self.child(new_name)?;
        self.peer(original_dir)?;
        let (orig, _) = original_dir.child(original_name)?;
        let fid = self
            .cx
            .walk(original_dir.fid(), std::slice::from_ref(&orig))
            .await
            .at(&d)?;
        Ok(Metadata::from_stat(
            &self.cx.link(self.fid(), &fid, new).await.at(&d)?,
        ))
    }

    /// Creates a fifo, socket or device node `name`.
    #[tracing::instrument(level = "debug", name = "dir.mknod_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn mknod_at(
        &self,
        name: &[u8],
        kind: NodeKind,
        mode: u32,
    ) -> Result<Metadata, ZeroFsError> {
        let (name, d) = self.child(name)?;
        Ok(Metadata::from_stat(
            &self
                .cx
                .mknod(self.fid(), name, kind.to_wire(mode))
                .await
                .at(&d)?,
        ))
    }

    /// Removes the non-directory child `name`.
    #[tracing::instrument(level = "debug", name = "dir.remove_file_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn remove_file_at(&self, name: &[u8]) -> Result<(), ZeroFsError> {
        let (name, d) = self.child(name)?;
        self.cx.unlink(self.fid(), name, false).await.at(&d)
    }

    /// Removes the empty child directory `name`.
    #[tracing::instrument(level = "debug", name = "dir.remove_dir_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn remove_dir_at(&self, name: &[u8]) -> Result<(), ZeroFsError> {
        let (name, d) = self.child(name)?;
        self.cx.unlink(self.fid(), name, true).await.at(&d)
    }

    /// Renames the child `old_name` to `new_name` in `new_dir` (which may be `self`),
    /// replacing an existing target.
    #[tracing::instrument(level = "debug", name = "dir.rename_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn rename_at(
        &self,
        old_name: &[u8],
        new_dir: &Dir,
        new_name: &[u8],
    ) -> Result<(), ZeroFsError> {
        let (old, d) = self.child(old_name)?;
        self.peer(new_dir)?;
        let (new, _) = new_dir.child(new_name)?;
        self.cx
            .rename(self.fid(), old, new_dir.fid(), new)
            .await
            .at(&d)
    }

    /// The target of the symlink `name`, verbatim.
    #[tracing::instrument(level = "debug", name = "dir.read_link_at", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn read_link_at(&self, name: &[u8]) -> Result<Vec<u8>, ZeroFsError> {
        let (name, d) = self.child(name)?;
        let fid = self
            .cx
            .walk(self.fid(), std::slice::from_ref(&name))
            .await
            .at(&d)?;
        Ok(self.cx.readlink(&fid).await.at(&d)?.to_vec())
    }

    /// Marks the handle closed: immediate and idempotent (`async` only to match ZeroFS's own
    /// client; it never waits on the network); later calls return
    /// [`ZeroFsError::Closed`]. The fids are released when the last `Arc` drops.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}
