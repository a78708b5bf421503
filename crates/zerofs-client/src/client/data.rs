//! Whole-file and ranged data operations, and opening files.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use zerofs_9p_proto::Stat;
use zerofs_9p_proto::consts::{errno, mode, open};
use zerofs_session::{Fid, ReadBuffer};

use super::Client;
use crate::ctx::{Ctx, OrPath, SResult};
use crate::error::ZeroFsError;
use crate::file::File;
use crate::open::Opened;
use crate::path::ValidPath;
use crate::records::OpenOptions;

/// Bytes asked for per span once a file outgrows the size it reported.
const MAX_READ_CALL: usize = 64 << 20;

#[allow(dead_code)]
pub(crate) fn is_dir(stat: &Stat) -> bool {
    stat.mode & mode::S_IFMT == mode::S_IFDIR
}

impl Ctx {
    /// Reads an opened file from offset 0 to its end. With the size known (`size_hint`), one
    /// pipelined span of `size + 1` bytes proves the end (no trailing empty read); without it,
    /// a short first chunk is the whole file, else a `Tgetattr` gives the size and the rest
    /// is read the same way. A file that fits one reply is returned uncopied.
    pub(crate) async fn read_to_end(&self, fid: &Fid, size_hint: Option<u64>) -> SResult<Bytes> {
        let mut out = ReadBuffer::new(0);
        let mut size = size_hint;
        if size.is_none() {
            let chunk = self.session.read_chunk(fid) as usize;
            let first = self.session.read(fid, 0, chunk).await?;
            if first.len() < chunk {
                return Ok(first);
            }
            out.push(first);
            size = Some(self.getattr(fid).await?.size);
        }
        // The whole file goes into one buffer reserved for the size it reported.
        out.expect_total(size.map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX)));
        loop {
            let have = out.len() as u64;
            // Past the expected size, keep going in large spans until a short one (growth).
            let want = match size.take() {
                Some(s) if s >= have => usize::try_from(s - have)
                    .unwrap_or(usize::MAX)
                    .saturating_add(1),
                _ => MAX_READ_CALL,
            };
            let got = self.session.read_append(fid, have, want, &mut out).await?;
            if got < want {
                return Ok(out.finish());
            }
        }
    }

    /// Writes all of `data` at `offset` (pipelined); a short write is `Io{EIO}`.
    pub(crate) async fn write_all(
        &self,
        fid: &Fid,
        offset: u64,
        data: Bytes,
        display: &str,
    ) -> Result<(), ZeroFsError> {
        if data.is_empty() {
            return Ok(());
        }
        let len = data.len() as u64;
        let n = self.session.write(fid, offset, data).await.at(display)?;
        if n < len {
            return Err(ZeroFsError::Io {
                errno: errno::EIO as i32,
                path: display.to_owned(),
                message: format!("short write: {n} of {len} bytes"),
            });
        }
        Ok(())
    }
}

impl Client {
    /// Reads a whole file.
    ///
    /// Round trips: walk (with the size at gen 1+) + `Tlopen` + the reads, pipelined; a file
    /// that fits one read chunk is returned in the receive buffer, with no copy. At `.Z`,
    /// walk + one `Tlopenatread` for a file that fits one reply (its prefetched bytes are
    /// returned without a copy); a larger one continues with pipelined reads.
    #[tracing::instrument(level = "debug", name = "read", skip_all, fields(path = %path.as_ref().display(), bytes = tracing::field::Empty), err(level = "debug", Display))]
    pub async fn read(&self, path: impl AsRef<Path>) -> Result<Bytes, ZeroFsError> {
        crate::trace::record_len(self.read_inner(path.as_ref()).await)
    }

    async fn read_inner(&self, path: &Path) -> Result<Bytes, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path)?;
        let d = p.display.as_str();
        let (fid, stat) = cx
            .walk_maybe_stat(cx.session.root(), &p.components)
            .await
            .at(d)?;
        if crate::walk::node_is_dir(&fid, stat.as_ref()) == Some(true) {
            return Err(ZeroFsError::IsADirectory { path: p.display });
        }
        if cx.dialect() == zerofs_9p_proto::Dialect::Z {
            // Open and prefetch in one round trip; a whole file comes back uncopied.
            let count = cx.session.read_chunk(&fid);
            let (opened, r) = cx
                .session
                .lopenatread(&fid, open::RDONLY, count)
                .await
                .at(d)?;
            if r.eof {
                return Ok(r.data);
            }
            return cx.read_to_end(&opened, stat.map(|s| s.size)).await.at(d);
        }
        cx.session.lopen(&fid, open::RDONLY).await.at(d)?;
        cx.read_to_end(&fid, stat.map(|s| s.size)).await.at(d)
    }

    /// Reads up to `len` bytes at `offset`; shorter only at end of file (empty past it).
    /// `len = 0` returns empty without a round trip.
    #[tracing::instrument(level = "debug", name = "read_range", skip_all, fields(path = %path.as_ref().display(), bytes = tracing::field::Empty), err(level = "debug", Display))]
    pub async fn read_range(
        &self,
        path: impl AsRef<Path>,
        offset: u64,
        len: u32,
    ) -> Result<Bytes, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        if len == 0 {
            return Ok(Bytes::new());
        }
        let d = p.display.as_str();
        let fid = cx.walk(cx.session.root(), &p.components).await.at(d)?;
        cx.session.lopen(&fid, open::RDONLY).await.at(d)?;
        crate::trace::record_len(cx.session.read(&fid, offset, len as usize).await.at(d))
    }

    /// Replaces the contents of a file, creating it (mode 0o644) if missing.
    ///
    /// Copies `data` once into a [`Bytes`]; [`write_bytes`](Self::write_bytes) takes a
    /// `Bytes` and sends it without copying.
    /// Takes anything that is bytes (`&[u8]`, `&str`, `Vec<u8>`, `String`...), as
    /// `std::fs::write` does.
    #[tracing::instrument(level = "debug", name = "write", skip_all, fields(path = %path.as_ref().display(), bytes = data.as_ref().len()), err(level = "debug", Display))]
    pub async fn write(
        &self,
        path: impl AsRef<Path>,
        data: impl AsRef<[u8]>,
    ) -> Result<(), ZeroFsError> {
        self.write_bytes(path, Bytes::copy_from_slice(data.as_ref()))
            .await
    }

    /// [`write`](Self::write) without copying `data`.
    ///
    /// The file is opened (or created exclusively), written with pipelined chunks, then cut
    /// to `data.len()` if it was longer (skipped when the old size is known not to exceed it).
    /// Not atomic: a concurrent reader can see a mix of old and new bytes.
    #[tracing::instrument(level = "debug", name = "write_bytes", skip_all, fields(path = %path.as_ref().display(), bytes = data.len()), err(level = "debug", Display))]
    pub async fn write_bytes(
        &self,
        path: impl AsRef<Path>,
        data: Bytes,
    ) -> Result<(), ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let d = p.display.as_str();
        let opened = open_path(cx, &p, &OpenOptions::write_only().create(true)).await?;
        let len = data.len() as u64;
        let old = opened.known_size();
        cx.write_all(&opened.fid, 0, data, d).await?;
        if old.is_none_or(|s| s > len) {
            cx.set_size(&opened.fid, len).await.at(d)?;
        }
        Ok(())
    }

    /// Appends `data` at the current end of the file (created if missing) and returns the
    /// offset it landed at. Not atomic: concurrent appenders can overwrite each other.
    #[tracing::instrument(level = "debug", name = "append", skip_all, fields(path = %path.as_ref().display(), bytes = data.len()), err(level = "debug", Display))]
    pub async fn append(&self, path: impl AsRef<Path>, data: &[u8]) -> Result<u64, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let d = p.display.as_str();
        let opened = open_path(cx, &p, &OpenOptions::write_only().create(true)).await?;
        let offset = match opened.known_size() {
            Some(s) => s,
            None => cx.getattr(&opened.fid).await.at(d)?.size,
        };
        cx.write_all(&opened.fid, offset, Bytes::copy_from_slice(data), d)
            .await?;
        Ok(offset)
    }

    /// Opens a file as `opts` says (see [`OpenOptions`]).
    ///
    /// `create_new` is an atomic exclusive create; `create` opens or creates; `truncate` (with
    /// write access) empties an existing file with a separate size change, so it is not
    /// atomic. Writing to a directory is `IsADirectory` (checked before opening where the
    /// dialect reports the type during the walk).
    #[tracing::instrument(level = "debug", name = "open", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn open(
        &self,
        path: impl AsRef<Path>,
        opts: OpenOptions,
    ) -> Result<Arc<File>, ZeroFsError> {
        let cx = self.cx()?;
        crate::open::access(&opts)?;
        let p = ValidPath::new(path.as_ref())?;
        let d = p.display.as_str();
        let opened = open_path(cx, &p, &opts).await?;
        if opts.truncate && opts.write && opened.known_size() != Some(0) {
            cx.set_size(&opened.fid, 0).await.at(d)?;
        }
        Ok(Arc::new(File::new(cx.clone(), opened.fid, p.display)))
    }

    /// Creates or truncates a file and opens it for reading and writing (mode 0o644).
    #[tracing::instrument(level = "debug", name = "create", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn create(&self, path: impl AsRef<Path>) -> Result<Arc<File>, ZeroFsError> {
        self.open(path, OpenOptions::read_write().create(true).truncate(true))
            .await
    }
}

/// Opens (or creates, as `opts` says) the file at `p`, walking from the attach root.
async fn open_path(cx: &Ctx, p: &ValidPath, opts: &OpenOptions) -> Result<Opened, ZeroFsError> {
    let (parent, name) = p.split_last()?;
    cx.open_in(cx.session.root(), parent, name, opts, &p.display)
        .await
}
