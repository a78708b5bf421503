//! One side of a transfer: the local file system or a server, behind one set of operations.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};

use super::{Endpoint, TransferError};
use crate::client::Client;
use crate::dir::Dir;
use crate::error::ZeroFsError;
use crate::file::File;
use crate::records::{FileType, Metadata, OpenOptions, SetAttrs, SetTime};

/// The kind of a node, as far as a transfer cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (fifo, socket, device): not copied.
    Other,
}

/// What a transfer knows about a node: kind, size, permission bits, modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Its kind.
    pub kind: Kind,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Last modification.
    pub mtime: SystemTime,
}

impl Node {
    fn of_local(m: &std::fs::Metadata) -> Node {
        let ft = m.file_type();
        let kind = if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        Node {
            kind,
            size: m.len(),
            mode: m.mode() & 0o7777,
            mtime: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }

    pub(crate) fn of_remote(m: &Metadata) -> Node {
        let kind = match m.file_type {
            FileType::File => Kind::File,
            FileType::Dir => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Other,
        };
        Node {
            kind,
            size: m.size,
            mode: m.mode & 0o7777,
            mtime: m.mtime.into(),
        }
    }
}

/// Which side, with the client for the server side.
#[derive(Clone, Copy)]
pub(crate) enum Side<'a> {
    Local,
    Remote(&'a Arc<Client>),
}

/// A source file open for positioned reads.
pub(crate) enum Reader {
    Local(Arc<std::fs::File>),
    Remote(Arc<File>),
}

/// A destination file open for positioned writes.
pub(crate) enum Writer {
    Local(Arc<std::fs::File>),
    Remote(Arc<File>),
}

/// Runs blocking local I/O off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

impl<'a> Side<'a> {
    pub(crate) fn of(e: &'a Endpoint) -> Side<'a> {
        match e {
            Endpoint::Local(_) => Side::Local,
            Endpoint::Remote(c, _) => Side::Remote(c),
        }
    }

    /// The node at `path` (a final symlink is not followed); `None` if nothing is there.
    pub(crate) async fn stat(&self, path: &Path) -> Result<Option<Node>, TransferError> {
        match self {
            Side::Local => {
                let p = path.to_path_buf();
                match blocking(move || std::fs::symlink_metadata(p)).await {
                    Ok(m) => Ok(Some(Node::of_local(&m))),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(TransferError::local(path, e)),
                }
            }
            Side::Remote(c) => match c.stat(path).await {
                Ok(m) => Ok(Some(Node::of_remote(&m))),
                Err(ZeroFsError::NotFound { .. }) => Ok(None),
                Err(e) => Err(TransferError::remote(path, e)),
            },
        }
    }

    /// The open directory `path` on the server (`None` locally, or if it cannot be opened:
    /// callers then go by path).
    pub(crate) async fn open_dir(&self, path: &Path) -> Option<Arc<Dir>> {
        match self {
            Side::Local => None,
            Side::Remote(c) => c.open_dir(path).await.ok(),
        }
    }

    /// Every entry of the directory `path` with its node.
    pub(crate) async fn list(&self, path: &Path) -> Result<Vec<(OsString, Node)>, TransferError> {
        match self {
            Side::Local => {
                let p = path.to_path_buf();
                blocking(move || {
                    let mut out = Vec::new();
                    for e in std::fs::read_dir(&p)? {
                        let e = e?;
                        let m = e.metadata()?;
                        out.push((e.file_name(), Node::of_local(&m)));
                    }
                    Ok(out)
                })
                .await
                .map_err(|e| TransferError::local(path, e))
            }
            Side::Remote(c) => {
                let dir = c
                    .open_dir(path)
                    .await
                    .map_err(|e| TransferError::remote(path, e))?;
                let mut out = Vec::new();
                loop {
                    let batch = dir
                        .next_batch(None)
                        .await
                        .map_err(|e| TransferError::remote(path, e))?;
                    if batch.is_empty() {
                        return Ok(out);
                    }
                    for e in batch {
                        let meta = match e.metadata {
                            Some(m) => m,
                            None => dir
                                .metadata_at(&e.name_bytes)
                                .await
                                .map_err(|err| TransferError::remote(path, err))?,
                        };
                        let name = OsString::from(std::ffi::OsStr::from_bytes(&e.name_bytes));
                        out.push((name, Node::of_remote(&meta)));
                    }
                }
            }
        }
    }

    /// Creates the directory `path` (mode `0o700` while it fills; see `set_meta`).
    pub(crate) async fn mkdir(&self, path: &Path, mode: u32) -> Result<(), TransferError> {
        match self {
            Side::Local => {
                let p = path.to_path_buf();
                blocking(move || {
                    std::fs::DirBuilder::new()
                        .mode(mode)
                        .create(&p)
                        .or_else(|e| match e.kind() {
                            io::ErrorKind::AlreadyExists if p.is_dir() => Ok(()),
                            _ => Err(e),
                        })
                })
                .await
                .map_err(|e| TransferError::local(path, e))
            }
            Side::Remote(c) => match c.create_dir(path, mode).await {
                Ok(_) => Ok(()),
                Err(ZeroFsError::AlreadyExists { .. })
                    if c.metadata(path).await.is_ok_and(|m| m.is_dir()) =>
                {
                    Ok(())
                }
                Err(e) => Err(TransferError::remote(path, e)),
            },
        }
    }

    /// The target of the symlink `path`.
    pub(crate) async fn read_link(&self, path: &Path) -> Result<PathBuf, TransferError> {
        match self {
            Side::Local => {
                let p = path.to_path_buf();
                blocking(move || std::fs::read_link(p))
                    .await
                    .map_err(|e| TransferError::local(path, e))
            }
            Side::Remote(c) => c
                .read_link(path)
                .await
                .map_err(|e| TransferError::remote(path, e)),
        }
    }

    /// Creates the symlink `path` → `target`, replacing whatever file or link is there.
    pub(crate) async fn symlink(&self, target: &Path, path: &Path) -> Result<(), TransferError> {
        if let Some(n) = self.stat(path).await?
            && n.kind != Kind::Dir
        {
            self.remove(path, n.kind).await?;
        }
        match self {
            Side::Local => {
                let (t, p) = (target.to_path_buf(), path.to_path_buf());
                blocking(move || std::os::unix::fs::symlink(t, p))
                    .await
                    .map_err(|e| TransferError::local(path, e))
            }
            Side::Remote(c) => c
                .symlink(target, path)
                .await
                .map(drop)
                .map_err(|e| TransferError::remote(path, e)),
        }
    }

    /// Removes `path` (a directory with everything below it).
    pub(crate) async fn remove(&self, path: &Path, kind: Kind) -> Result<(), TransferError> {
        match self {
            Side::Local => {
                let p = path.to_path_buf();
                blocking(move || {
                    if kind == Kind::Dir {
                        std::fs::remove_dir_all(p)
                    } else {
                        std::fs::remove_file(p)
                    }
                })
                .await
                .map_err(|e| TransferError::local(path, e))
            }
            Side::Remote(c) => if kind == Kind::Dir {
                c.remove_dir_all(path).await
            } else {
                c.remove_file(path).await
            }
            .map_err(|e| TransferError::remote(path, e)),
        }
    }

    /// Renames `from` over `to` (siblings in `dir`, their open parent, when given).
    pub(crate) async fn rename(
        &self,
        from: &Path,
        to: &Path,
        dir: Option<&Arc<Dir>>,
    ) -> Result<(), TransferError> {
        if let (Side::Remote(_), Some(d)) = (self, dir) {
            return d
                .rename_at(name_bytes(from), d, name_bytes(to))
                .await
                .map_err(|e| TransferError::remote(to, e));
        }
        match self {
            Side::Local => {
                let (f, t) = (from.to_path_buf(), to.to_path_buf());
                blocking(move || std::fs::rename(f, t))
                    .await
                    .map_err(|e| TransferError::local(to, e))
            }
            Side::Remote(c) => c
                .rename(from, to)
                .await
                .map_err(|e| TransferError::remote(to, e)),
        }
    }

    /// Sets the permission bits and/or modification time of `path` (not through a symlink).
    pub(crate) async fn set_meta(
        &self,
        path: &Path,
        mode: Option<u32>,
        mtime: Option<SystemTime>,
    ) -> Result<(), TransferError> {
        if mode.is_none() && mtime.is_none() {
            return Ok(());
        }
        match self {
            Side::Local => {
                let p = path.to_path_buf();
                blocking(move || {
                    if let Some(m) = mode {
                        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m))?;
                    }
                    if let Some(t) = mtime {
                        std::fs::File::open(&p)?.set_modified(t)?;
                    }
                    Ok(())
                })
                .await
                .map_err(|e| TransferError::local(path, e))
            }
            Side::Remote(c) => c
                .set_attr(path, remote_attrs(mode, mtime))
                .await
                .map(drop)
                .map_err(|e| TransferError::remote(path, e)),
        }
    }

    /// Opens the file `path` for reading (by name in `dir`, its open parent, when given).
    pub(crate) async fn open_read(
        &self,
        path: &Path,
        dir: Option<&Arc<Dir>>,
    ) -> Result<Reader, TransferError> {
        if let (Side::Remote(_), Some(d)) = (self, dir) {
            return d
                .open_at(name_bytes(path), OpenOptions::read_only())
                .await
                .map(Reader::Remote)
                .map_err(|e| TransferError::remote(path, e));
        }
        match self {
            Side::Local => {
                let p = path.to_path_buf();
                blocking(move || std::fs::File::open(p))
                    .await
                    .map(|f| Reader::Local(Arc::new(f)))
                    .map_err(|e| TransferError::local(path, e))
            }
            Side::Remote(c) => c
                .open(path, OpenOptions::read_only())
                .await
                .map(Reader::Remote)
                .map_err(|e| TransferError::remote(path, e)),
        }
    }

    /// Creates `path` for writing: exclusively (a temporary name), or replacing its contents.
    pub(crate) async fn create(
        &self,
        path: &Path,
        dir: Option<&Arc<Dir>>,
        mode: u32,
        exclusive: bool,
    ) -> Result<Writer, TransferError> {
        let opts = OpenOptions::write_only()
            .create(true)
            .create_new(exclusive)
            .truncate(!exclusive)
            .mode(mode);
        if let (Side::Remote(_), Some(d)) = (self, dir) {
            return d
                .open_at(name_bytes(path), opts)
                .await
                .map(Writer::Remote)
                .map_err(|e| TransferError::remote(path, e));
        }
        match self {
            Side::Local => {
                // Inline (one short system call), so a cancelled copy never creates the file
                // after its temporary-name guard was dropped.
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .create_new(exclusive)
                    .truncate(!exclusive)
                    .mode(mode)
                    .open(path)
                    .map(|f| Writer::Local(Arc::new(f)))
                    .map_err(|e| TransferError::local(path, e))
            }
            Side::Remote(c) => c
                .open(path, opts)
                .await
                .map(Writer::Remote)
                .map_err(|e| TransferError::remote(path, e)),
        }
    }
}

/// The `SetAttrs` for a mode and/or modification time.
fn remote_attrs(mode: Option<u32>, mtime: Option<SystemTime>) -> SetAttrs {
    SetAttrs {
        mode,
        mtime: mtime.map(SetTime::from),
        ..SetAttrs::default()
    }
}

impl Reader {
    /// Up to `len` bytes at `offset` (shorter only at the end of the file); a local file is
    /// read into `buf` when given (its allocation reused), a remote one ignores it.
    pub(crate) async fn read_at(
        &self,
        offset: u64,
        len: usize,
        buf: Option<BytesMut>,
    ) -> Result<Bytes, SideError> {
        match self {
            Reader::Local(f) => {
                let f = f.clone();
                blocking(move || {
                    let mut buf = buf.unwrap_or_default();
                    buf.resize(len, 0);
                    let mut got = 0;
                    while got < len {
                        match f.read_at(&mut buf[got..], offset + got as u64) {
                            Ok(0) => break,
                            Ok(n) => got += n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                    buf.truncate(got);
                    Ok(buf.freeze())
                })
                .await
                .map_err(SideError::Local)
            }
            Reader::Remote(f) => {
                let len = u32::try_from(len).unwrap_or(u32::MAX);
                f.read_at(offset, len).await.map_err(SideError::Remote)
            }
        }
    }
}

/// A local or a server error (the caller attaches the path).
#[derive(Debug)]
pub(crate) enum SideError {
    Local(io::Error),
    Remote(ZeroFsError),
}

impl SideError {
    pub(crate) fn at(self, path: &Path) -> TransferError {
        match self {
            SideError::Local(e) => TransferError::local(path, e),
            SideError::Remote(e) => TransferError::remote(path, e),
        }
    }
}

impl Writer {
    /// Writes all of `data` at `offset`.
    pub(crate) async fn write_at(&self, offset: u64, data: Bytes) -> Result<(), SideError> {
        match self {
            Writer::Local(f) => {
                let f = f.clone();
                blocking(move || f.write_all_at(&data, offset))
                    .await
                    .map_err(SideError::Local)
            }
            Writer::Remote(f) => f
                .write_at_bytes(offset, data)
                .await
                .map_err(SideError::Remote),
        }
    }

    /// Sets the length (holes at the end of a sparse copy), the mode and the mtime.
    pub(crate) async fn finish(
        &self,
        len: Option<u64>,
        mode: Option<u32>,
        mtime: Option<SystemTime>,
    ) -> Result<(), SideError> {
        match self {
            Writer::Local(f) => {
                let f = f.clone();
                blocking(move || {
                    if let Some(n) = len {
                        f.set_len(n)?;
                    }
                    if let Some(m) = mode {
                        f.set_permissions(std::fs::Permissions::from_mode(m))?;
                    }
                    if let Some(t) = mtime {
                        f.set_modified(t)?;
                    }
                    Ok(())
                })
                .await
                .map_err(SideError::Local)
            }
            Writer::Remote(f) => {
                let attrs = SetAttrs {
                    size: len,
                    ..remote_attrs(mode, mtime)
                };
                if attrs == SetAttrs::default() {
                    return Ok(());
                }
                f.set_attr(attrs).await.map(drop).map_err(SideError::Remote)
            }
        }
    }
}

/// `name` as bytes (for temporary names).
pub(crate) fn name_bytes(p: &Path) -> &[u8] {
    p.file_name().map_or(b"", |n| n.as_bytes())
}
