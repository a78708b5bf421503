//! [`File`]: an open file with positioned, pipelined I/O.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use zerofs_session::Fid;

use crate::ctx::{Ctx, OrPath};
use crate::error::ZeroFsError;
use crate::records::{Metadata, SetAttrs};

/// An open file. All I/O is positioned (there is no shared cursor), so one `Arc<File>` can
/// serve concurrent tasks. Large reads and writes are split into chunks kept in flight
/// together.
///
/// The file stays open until the last `Arc` is dropped; [`close`](Self::close) only makes
/// later calls fail with [`ZeroFsError::Closed`]. It survives reconnects: the client reopens
/// it on the new connection.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
/// use zerofs_client::{Client, OpenOptions};
///
/// let client = Client::connect(&server.target()).await?;
/// let file = client.open("/data.bin", OpenOptions::read_write().create(true)).await?;
/// file.write_at(0, b"0123456789").await?;
/// file.write_at(4, b"XY").await?;
/// assert_eq!(&file.read_at(2, 4).await?[..], b"23XY");
/// assert_eq!(file.metadata().await?.size, 10);
/// file.close().await;
/// # Ok(()) }
/// ```
pub struct File {
    cx: Arc<Ctx>,
    fid: Fid,
    path: String,
    closed: AtomicBool,
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl File {
    pub(crate) fn new(cx: Arc<Ctx>, fid: Fid, path: String) -> File {
        File {
            cx,
            fid,
            path,
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn check(&self) -> Result<(), ZeroFsError> {
        if self.closed.load(Ordering::Acquire) {
            Err(ZeroFsError::Closed)
        } else {
            Ok(())
        }
    }

    /// The shared state and the opened fid.
    pub(crate) fn parts(&self) -> (&Ctx, &Fid) {
        (&self.cx, &self.fid)
    }

    /// The path the file was opened with (for errors).
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The path the file was opened by (for display).
    pub(crate) fn display(&self) -> &str {
        &self.path
    }

    /// The largest read one request carries for this file.
    #[cfg(feature = "tokio-io")]
    pub(crate) fn read_chunk(&self) -> u32 {
        self.cx.session.read_chunk(&self.fid)
    }

    /// The largest write one request carries for this file.
    #[cfg(feature = "tokio-io")]
    pub(crate) fn write_chunk(&self) -> u32 {
        self.cx.session.write_chunk(&self.fid)
    }

    /// Reads up to `len` bytes at `offset`; a shorter result means end of file (empty past
    /// it). `len = 0` returns empty without a round trip. A read that fits one chunk returns
    /// the receive buffer itself.
    #[tracing::instrument(level = "debug", name = "file.read_at", skip_all, fields(path = %self.path, bytes = tracing::field::Empty), err(level = "debug", Display))]
    pub async fn read_at(&self, offset: u64, len: u32) -> Result<Bytes, ZeroFsError> {
        self.check()?;
        if len == 0 {
            return Ok(Bytes::new());
        }
        crate::trace::record_len(
            self.cx
                .session
                .read(&self.fid, offset, len as usize)
                .await
                .at(&self.path),
        )
    }

    /// Reads at most one chunk at `offset` into the empty `sink` (up to its capacity) and
    /// returns it filled: shorter at end of file, or if msize shrank. A large reply is
    /// received straight into it (the cursor reuses its buffers this way).
    #[cfg(feature = "tokio-io")]
    #[tracing::instrument(level = "debug", name = "file.read_at", skip_all, fields(path = %self.path, bytes = tracing::field::Empty), err(level = "debug", Display))]
    pub(crate) async fn read_into(
        &self,
        offset: u64,
        sink: bytes::BytesMut,
    ) -> Result<bytes::BytesMut, ZeroFsError> {
        self.check()?;
        let r = self
            .cx
            .session
            .read_into(&self.fid, offset, sink)
            .await
            .at(&self.path);
        if let Ok(b) = &r {
            tracing::Span::current().record("bytes", b.len());
        }
        r
    }

    /// Writes all of `data` at `offset` (copied once into a [`Bytes`]; see
    /// [`write_at_bytes`](Self::write_at_bytes)). A short write is `Io { errno: EIO }`.
    #[tracing::instrument(level = "debug", name = "file.write_at", skip_all, fields(path = %self.path, bytes = data.len()), err(level = "debug", Display))]
    pub async fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), ZeroFsError> {
        self.write_at_bytes(offset, Bytes::copy_from_slice(data))
            .await
    }

    /// Writes all of `data` at `offset` without copying it.
    #[tracing::instrument(level = "debug", name = "file.write_at_bytes", skip_all, fields(path = %self.path, bytes = data.len()), err(level = "debug", Display))]
    pub async fn write_at_bytes(&self, offset: u64, data: Bytes) -> Result<(), ZeroFsError> {
        self.check()?;
        self.cx.write_all(&self.fid, offset, data, &self.path).await
    }

    /// The file's attributes (one `Tgetattr`).
    #[tracing::instrument(level = "debug", name = "file.metadata", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn metadata(&self) -> Result<Metadata, ZeroFsError> {
        self.check()?;
        Ok(Metadata::from_stat(
            &self.cx.getattr(&self.fid).await.at(&self.path)?,
        ))
    }

    /// Truncates or extends the file to `size` bytes.
    #[tracing::instrument(level = "debug", name = "file.set_len", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn set_len(&self, size: u64) -> Result<(), ZeroFsError> {
        self.check()?;
        self.cx.set_size(&self.fid, size).await.at(&self.path)
    }

    /// Changes attributes and returns the metadata after the change.
    #[tracing::instrument(level = "debug", name = "file.set_attr", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn set_attr(&self, attrs: SetAttrs) -> Result<Metadata, ZeroFsError> {
        self.check()?;
        let wire = attrs.to_wire(self.fid.id())?;
        Ok(Metadata::from_stat(
            &self.cx.setattr(&self.fid, wire).await.at(&self.path)?,
        ))
    }

    /// Flushes data and metadata to stable storage. At `.Z` this is a verified barrier
    /// (`Tfsyncdur` on this file's inode with the lineage token): [`ZeroFsError::Stale`]
    /// means the server's durability lineage changed, so writes made before it may not be
    /// durable. Elsewhere `Tfsync` (datasync 0).
    #[tracing::instrument(level = "debug", name = "file.sync_all", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn sync_all(&self) -> Result<(), ZeroFsError> {
        self.check()?;
        self.cx.fsync(&self.fid, false).await.at(&self.path)
    }

    /// Flushes data to stable storage: as [`sync_all`](Self::sync_all) (at `.Z` with the
    /// DATASYNC bit; elsewhere `Tfsync` datasync 1).
    #[tracing::instrument(level = "debug", name = "file.sync_data", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn sync_data(&self) -> Result<(), ZeroFsError> {
        self.check()?;
        self.cx.fsync(&self.fid, true).await.at(&self.path)
    }

    /// Allocates `len` bytes at `offset` (the file grows to cover the range; fallocate mode
    /// 0). The file must be open for writing. Needs `9P2000.L.Z`: on other dialects this is
    /// `Io { errno: EOPNOTSUPP }` without a round trip.
    #[tracing::instrument(level = "debug", name = "file.allocate", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn allocate(&self, offset: u64, len: u64) -> Result<(), ZeroFsError> {
        self.fallocate(offset, len, crate::nodes::falloc::ALLOCATE)
            .await
    }

    /// Deallocates `len` bytes at `offset`: they read back as zeros and the size does not
    /// change (mode `PUNCH_HOLE | KEEP_SIZE`). `.Z` only, as [`allocate`](Self::allocate).
    #[tracing::instrument(level = "debug", name = "file.punch_hole", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn punch_hole(&self, offset: u64, len: u64) -> Result<(), ZeroFsError> {
        self.fallocate(offset, len, crate::nodes::falloc::PUNCH_HOLE)
            .await
    }

    /// Zeroes `len` bytes at `offset`; with `keep_size` false the file grows to cover the
    /// range (mode `ZERO_RANGE`, with `KEEP_SIZE` when asked). `.Z` only, as
    /// [`allocate`](Self::allocate).
    #[tracing::instrument(level = "debug", name = "file.zero_range", skip_all, fields(path = %self.path), err(level = "debug", Display))]
    pub async fn zero_range(
        &self,
        offset: u64,
        len: u64,
        keep_size: bool,
    ) -> Result<(), ZeroFsError> {
        let mode = if keep_size {
            crate::nodes::falloc::ZERO_RANGE_KEEP_SIZE
        } else {
            crate::nodes::falloc::ZERO_RANGE
        };
        self.fallocate(offset, len, mode).await
    }

    async fn fallocate(&self, offset: u64, len: u64, mode: u32) -> Result<(), ZeroFsError> {
        self.check()?;
        self.cx
            .fallocate(&self.fid, offset, len, mode)
            .await
            .at(&self.path)
    }

    /// Marks the handle closed: immediate and idempotent (`async` only to match ZeroFS's own
    /// client; it never waits on the network); every later call on any clone of
    /// the `Arc` returns [`ZeroFsError::Closed`]. The fid is released when the last `Arc`
    /// drops.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// An independent `AsyncRead + AsyncWrite + AsyncSeek` cursor over this file, starting
    /// at offset 0 (so `tokio::io::copy` works).
    #[cfg(feature = "tokio-io")]
    pub fn cursor(self: &Arc<File>) -> crate::io::FileCursor {
        crate::io::FileCursor::new(self.clone())
    }
}
