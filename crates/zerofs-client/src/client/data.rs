//! Whole-file and ranged data operations, and opening files.

use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use zerofs_9p_proto::Stat;
use zerofs_9p_proto::consts::{errno, mode, open};
use zerofs_session::Fid;

use super::Client;
use crate::ctx::{Ctx, OrPath, SResult};
use crate::error::ZeroFsError;
use crate::file::File;
use crate::open::Opened;
use crate::path::ValidPath;
use crate::records::OpenOptions;

/// Bytes asked for per span once a file outgrows the size it reported.
const MAX_READ_CALL: usize = 64 << 20;

/// Joins read results as they arrive. A lone part is kept as is (no copy). A span of several
/// chunks reserves one buffer for the expected total and carves each chunk's place from it, in
/// order, for the reader to receive the payload straight into (no user-space copy); the
/// places join back in O(1). Parts that did not get a place are copied in. The data is held
/// once (plus the parts in flight), not twice.
#[derive(Debug)]
pub(crate) struct Gather {
    lone: Option<Bytes>,
    /// What has been joined so far.
    out: BytesMut,
    /// Reserved room not yet carved into places.
    room: BytesMut,
    expect: usize,
}

impl Gather {
    /// An empty result expected to grow to about `expect` bytes (an upper bound is fine:
    /// pages reserved but never written are never touched).
    pub(crate) fn new(expect: usize) -> Gather {
        Gather {
            lone: None,
            out: BytesMut::new(),
            room: BytesMut::new(),
            expect,
        }
    }

    /// Bytes gathered so far.
    pub(crate) fn len(&self) -> usize {
        self.lone.as_ref().map_or(self.out.len(), Bytes::len)
    }

    /// Reserves room for the expected total (at least what is held plus `need` bytes), once,
    /// and moves a lone part held so far to its front, so every later place joins it without
    /// a copy. A size the server reported may be absurd: if the reservation is refused, only
    /// what is needed is reserved.
    fn reserve(&mut self, need: usize) {
        if self.room.capacity() > 0 || self.out.capacity() > 0 {
            return;
        }
        let least = self.len().saturating_add(need);
        let mut v: Vec<u8> = Vec::new();
        if v.try_reserve_exact(self.expect.max(least)).is_err() {
            v.reserve_exact(least);
        }
        // `Vec` → `BytesMut` keeping the reservation (an unadvanced `IntoIter` is collected
        // in place).
        self.room = BytesMut::from_iter(v);
        if let Some(first) = self.lone.take() {
            if let Some(mut head) = self.place(first.len()) {
                head.extend_from_slice(&first);
                self.out = head;
            } else {
                self.out.extend_from_slice(&first);
            }
        }
    }

    /// The place for the next `n` bytes, if room was reserved for them.
    fn place(&mut self, n: usize) -> Option<BytesMut> {
        if self.room.capacity() < n {
            return None;
        }
        let rest = self.room.split_off(n);
        Some(std::mem::replace(&mut self.room, rest))
    }

    /// Appends one part received into its place.
    fn push_place(&mut self, part: BytesMut) {
        if let Some(first) = self.lone.take() {
            self.out.extend_from_slice(&first);
        }
        self.out.unsplit(part);
    }

    /// Appends one part.
    pub(crate) fn push(&mut self, part: Bytes) {
        if part.is_empty() {
            return;
        }
        if self.lone.is_none() && self.out.is_empty() && self.room.capacity() == 0 {
            self.lone = Some(part);
            return;
        }
        if let Some(first) = self.lone.take() {
            self.out.extend_from_slice(&first);
        }
        // Copied into the reservation when it has room, so what follows stays contiguous.
        match self.place(part.len()) {
            Some(mut p) => {
                p.extend_from_slice(&part);
                self.out.unsplit(p);
            }
            None => self.out.extend_from_slice(&part),
        }
    }

    /// The gathered bytes.
    pub(crate) fn finish(mut self) -> Bytes {
        match self.lone {
            Some(b) => b,
            None => {
                drop(self.room);
                // A result far below its reservation (a short read) gives the rest back.
                if self.out.len() < self.out.capacity() / 2 {
                    return Bytes::copy_from_slice(&self.out);
                }
                std::mem::take(&mut self.out).freeze()
            }
        }
    }
}

/// One chunk's data: in its place in the result, or a buffer of its own.
enum Part {
    Placed(BytesMut),
    Bytes(Bytes),
}

impl Part {
    fn len(&self) -> usize {
        match self {
            Part::Placed(p) => p.len(),
            Part::Bytes(b) => b.len(),
        }
    }
}

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
        let mut out = Gather::new(0);
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
        out.expect = size.map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX));
        loop {
            let have = out.len() as u64;
            // Past the expected size, keep going in large spans until a short one (growth).
            let want = match size.take() {
                Some(s) if s >= have => usize::try_from(s - have)
                    .unwrap_or(usize::MAX)
                    .saturating_add(1),
                _ => MAX_READ_CALL,
            };
            let got = self.read_span_into(fid, have, want, &mut out).await?;
            if got < want {
                return Ok(out.finish());
            }
        }
    }

    /// Reads up to `len` bytes at `offset`: one request per chunk, `bulk_window` of them in
    /// flight, stopping at the first short chunk (end of file). Memory follows what the file
    /// holds, not `len`; a result served by one reply is that reply's buffer (no copy), and a
    /// longer one is copied once into an exact-size buffer.
    pub(crate) async fn read_span(&self, fid: &Fid, offset: u64, len: usize) -> SResult<Bytes> {
        let mut out = Gather::new(len);
        self.read_span_into(fid, offset, len, &mut out).await?;
        Ok(out.finish())
    }

    /// [`read_span`](Self::read_span) appending to `out`; returns the bytes appended.
    async fn read_span_into(
        &self,
        fid: &Fid,
        offset: u64,
        len: usize,
        out: &mut Gather,
    ) -> SResult<usize> {
        let window = self.session.options().bulk_window;
        let chunk = self.session.read_chunk(fid) as usize;
        if len > chunk {
            out.reserve(len.min(MAX_READ_CALL));
        }
        let mut got = 0usize;
        let mut issued = 0usize;
        let mut pending = FuturesOrdered::new();
        loop {
            while pending.len() < window && issued < len {
                let n = (len - issued).min(self.session.read_chunk(fid) as usize);
                let off = offset + issued as u64;
                let place = out.place(n);
                pending.push_back(async move {
                    let part = match place {
                        Some(p) => self.session.read_into(fid, off, p).await.map(Part::Placed),
                        None => self.session.read(fid, off, n).await.map(Part::Bytes),
                    };
                    (n, part)
                });
                issued += n;
            }
            let Some((asked, result)) = pending.next().await else {
                break;
            };
            let part = result?;
            let n = part.len();
            match part {
                Part::Placed(p) => out.push_place(p),
                Part::Bytes(b) => out.push(b),
            }
            got += n;
            if n < asked {
                break;
            }
        }
        Ok(got)
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
    pub async fn read(&self, path: impl AsRef<Path>) -> Result<Bytes, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
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
        cx.read_span(&fid, offset, len as usize).await.at(d)
    }

    /// Replaces the contents of a file, creating it (mode 0o644) if missing.
    ///
    /// Copies `data` once into a [`Bytes`]; [`write_bytes`](Self::write_bytes) takes a
    /// `Bytes` and sends it without copying.
    pub async fn write(&self, path: impl AsRef<Path>, data: &[u8]) -> Result<(), ZeroFsError> {
        self.write_bytes(path, Bytes::copy_from_slice(data)).await
    }

    /// [`write`](Self::write) without copying `data`.
    ///
    /// The file is opened (or created exclusively), written with pipelined chunks, then cut
    /// to `data.len()` if it was longer (skipped when the old size is known not to exceed it).
    /// Not atomic: a concurrent reader can see a mix of old and new bytes.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_join_in_the_one_reservation() {
        let mut g = Gather::new(300);
        g.reserve(100);
        let a = g.place(100).unwrap();
        let mut b = g.place(150).unwrap();
        let base = a.as_ptr();
        let mut a = a;
        a.extend_from_slice(&[1; 100]);
        b.extend_from_slice(&[2; 150]);
        g.push_place(a);
        g.push_place(b);
        // Room for 50 more; a part without a place is copied after the placed ones.
        assert!(g.place(51).is_none());
        g.push(Bytes::from_static(&[3; 10]));
        assert_eq!(g.len(), 260);
        let out = g.finish();
        assert_eq!(out.as_ptr(), base, "one allocation, no copy");
        assert_eq!(&out[..100], &[1; 100]);
        assert_eq!(&out[100..250], &[2; 150]);
        assert_eq!(&out[250..], &[3; 10]);
    }

    /// A lone first part (read before the size was known) moves into the reservation, so
    /// the result is one allocation of about the expected size, not the reservation plus a
    /// second, growing buffer.
    #[test]
    fn a_lone_first_part_moves_into_the_reservation() {
        let mut g = Gather::new(1000);
        g.push(Bytes::from(vec![4u8; 100]));
        g.reserve(900);
        let mut p = g.place(900).unwrap();
        let base = p.as_ptr();
        p.extend_from_slice(&[5; 900]);
        g.push_place(p);
        let out = g.finish();
        assert_eq!(out.len(), 1000);
        assert_eq!(out[..100], [4; 100]);
        assert_eq!(out[100..], [5; 900]);
        assert_eq!(
            out.as_ptr().wrapping_add(100),
            base,
            "the lone part sits right before the places: one allocation"
        );
    }

    #[test]
    fn a_lone_part_is_kept_and_an_absurd_size_reserves_only_what_is_needed() {
        let mut g = Gather::new(0);
        let lone = Bytes::from(vec![7u8; 64]);
        let ptr = lone.as_ptr();
        g.push(lone);
        assert_eq!(g.finish().as_ptr(), ptr);

        let mut g = Gather::new(usize::MAX);
        g.push(Bytes::from_static(b"head"));
        g.reserve(32);
        let mut p = g.place(32).unwrap();
        p.extend_from_slice(&[9; 32]);
        g.push_place(p);
        let out = g.finish();
        assert_eq!(&out[..4], b"head");
        assert_eq!(&out[4..], &[9; 32]);
    }
}
