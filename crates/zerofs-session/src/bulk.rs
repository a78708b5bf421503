//! Pipelined bulk I/O: a range read or a buffer write as a window of concurrent chunk requests.
//!
//! Chunks are `iounit` bytes when the open reply gave one, else `msize − 24` (diod refuses
//! counts above that; ZeroFS's own limits are 11 and 23 bytes of overhead), and writes also
//! respect the dialect's write overhead (48 bytes in `.Z`). On `.Z` (ZeroFS 2.x) a range read
//! is cut into pieces of at most [`Z_READ_PIECE`], so even a 1 MiB call keeps the server
//! working on two requests at once (see its docs). Up to `bulk_window` chunks are in
//! flight; results are consumed in order. A read stops at EOF or the first short chunk and
//! returns everything before it; a write stops at the first short chunk and reports exactly the
//! contiguous bytes that landed. Sizes are re-read per chunk, so a reconnect that shrinks msize
//! is followed.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use zerofs_9p_proto::consts::{LINUX_IOHDRSZ, READ_OVERHEAD};
use zerofs_9p_proto::{Dialect, Message, Tread, Twrite, kind};

use crate::effects::Effect;
use crate::error::SessionError;
use crate::fid_guard::Fid;
use crate::read_buffer::ReadBuffer;
use crate::session::Session;

/// The largest piece a range read is cut into on `.Z`. ZeroFS 2.3 serves each `Tread` in
/// its own task, so a call cut in two is read by the server on two cores: interleaved on one
/// server (docs/BENCHMARKS.md, issue 19), 256 MiB of 1 MiB `read_at` calls ran at a median of
/// 1,099 MiB/s in one piece, 1,509 in two of 512 KiB and 1,335 in four of 256 KiB (ZeroFS's
/// client 0.4.0: 958). ZeroFS 0.19.1 showed no such gain (the same benchmarks), so other
/// dialects keep whole chunks.
pub const Z_READ_PIECE: usize = 512 << 10;

impl Session {
    /// The largest piece [`read_append`](Self::read_append) asks for at once: a whole chunk,
    /// or on `.Z` at most [`Z_READ_PIECE`].
    fn read_piece_size(&self, fid: &Fid) -> usize {
        let chunk = self.read_chunk(fid) as usize;
        if self.dialect() == Dialect::Z {
            chunk.min(Z_READ_PIECE)
        } else {
            chunk
        }
    }

    /// The largest read chunk for `fid` right now.
    pub fn read_chunk(&self, fid: &Fid) -> u32 {
        let msize = self.msize();
        let limit = msize
            .saturating_sub(LINUX_IOHDRSZ)
            .min(msize.saturating_sub(READ_OVERHEAD));
        match fid.iounit() {
            0 => limit,
            io => io.min(limit),
        }
        .max(1)
    }

    /// The largest write chunk for `fid` right now.
    pub fn write_chunk(&self, fid: &Fid) -> u32 {
        let msize = self.msize();
        let limit = msize
            .saturating_sub(LINUX_IOHDRSZ)
            .min(self.dialect().max_write_payload(msize));
        match fid.iounit() {
            0 => limit,
            io => io.min(limit),
        }
        .max(1)
    }

    /// One `Tread`. With a `sink` (empty, with room for `count` bytes), a large payload may be
    /// received straight into it.
    async fn tread(
        &self,
        fid: &Fid,
        offset: u64,
        count: u32,
        sink: Option<BytesMut>,
    ) -> Result<Piece, SessionError> {
        let msg = Message::Tread(Tread {
            fid: fid.id(),
            offset,
            count,
        });
        let (reply, sink) = self
            .request_into(msg, Effect::None, &[fid.id()], sink)
            .await?;
        let r = crate::error::reply::<kind::Tread>(reply)?;
        let got = sink.as_ref().map_or(0, BytesMut::len).max(r.data.len());
        if got > count as usize {
            return Err(SessionError::Protocol(format!(
                "Rread of {got} bytes for a Tread of {count}"
            )));
        }
        Ok(match sink {
            // Filled by the reader, or (a reply it did not take) filled here, so the chunk
            // stays contiguous with its neighbours.
            Some(mut s) => {
                if s.is_empty() {
                    s.extend_from_slice(&r.data);
                }
                Piece::Sink(s)
            }
            None => Piece::Reply(r.data),
        })
    }

    /// Reads `[offset, offset + len)` of a chunk, re-splitting if msize shrank meanwhile.
    async fn read_piece(
        &self,
        fid: &Fid,
        offset: u64,
        len: u32,
        sink: Option<BytesMut>,
    ) -> Result<Piece, SessionError> {
        let first = self.tread(fid, offset, len, sink).await?;
        if first.len() == len as usize || len <= self.read_chunk(fid) {
            return Ok(first);
        }
        // Clamped by a smaller msize after a reconnect, not EOF: read the rest.
        let mut out = BytesMut::from(first.as_ref());
        while out.len() < len as usize {
            let want = (len as usize - out.len()).min(self.read_chunk(fid) as usize) as u32;
            let got = self
                .tread(fid, offset + out.len() as u64, want, None)
                .await?;
            out.extend_from_slice(got.as_ref());
            if got.len() < want as usize {
                break;
            }
        }
        Ok(Piece::Sink(out))
    }

    /// Reads up to `sink.capacity()` bytes (at most one chunk's worth is asked for) at
    /// `offset` into the empty `sink`, and returns it filled (shorter: end of file). A large
    /// reply is received straight into it from the socket; a small one is copied. Memory
    /// carved from one allocation with [`BytesMut::split_off`] and read into in order joins
    /// back without copying ([`BytesMut::unsplit`]).
    pub async fn read_into(
        &self,
        fid: &Fid,
        offset: u64,
        mut sink: BytesMut,
    ) -> Result<BytesMut, SessionError> {
        sink.clear();
        let len = clamp_to_offset_space(offset, sink.capacity()).min(self.read_chunk(fid) as usize);
        if len == 0 {
            return Ok(sink);
        }
        match self.read_piece(fid, offset, len as u32, Some(sink)).await? {
            Piece::Sink(s) => Ok(s),
            Piece::Reply(b) => Ok(BytesMut::from(&b[..])),
        }
    }

    /// Reads up to `len` bytes at `offset`, pipelining chunk requests. Shorter than `len` only
    /// at end of file. A read served by one round trip returns the reply's own buffer (no copy);
    /// a longer one reserves its result once (up to
    /// [`max_buffered_bytes`](crate::Options::max_buffered_bytes), growing past that as data
    /// arrives) and has the connection receive each large chunk straight into its place in it
    /// (no copy either). Any chunk's error fails the whole read.
    pub async fn read(&self, fid: &Fid, offset: u64, len: usize) -> Result<Bytes, SessionError> {
        let mut out = ReadBuffer::new(len.min(self.options().max_buffered_bytes));
        self.read_append(fid, offset, len, &mut out).await?;
        Ok(out.finish())
    }

    /// [`read`](Self::read) appending to `out`, whose expected total sizes the one reservation
    /// (see [`ReadBuffer`]); returns the bytes appended (fewer than `len` only at end of file).
    /// On error, `out` holds an unspecified prefix of what was read.
    pub async fn read_append(
        &self,
        fid: &Fid,
        offset: u64,
        len: usize,
        out: &mut ReadBuffer,
    ) -> Result<usize, SessionError> {
        // Nothing lies beyond the last addressable byte: never compute an offset past it.
        let len = clamp_to_offset_space(offset, len);
        if len > self.read_piece_size(fid) {
            out.reserve(len.min(self.options().max_buffered_bytes));
        }
        let window = self.options().bulk_window;
        let mut got = 0usize;
        let mut issued = 0usize;
        let mut pending = FuturesOrdered::new();
        loop {
            while pending.len() < window && issued < len {
                let n = (len - issued).min(self.read_piece_size(fid));
                let off = offset + issued as u64;
                let sink = out.place(n);
                pending
                    .push_back(async move { (n, self.read_piece(fid, off, n as u32, sink).await) });
                issued += n;
            }
            let Some((asked, result)) = pending.next().await else {
                break;
            };
            let piece = result?;
            let n = piece.len();
            match piece {
                // Received into its place: joined without a copy.
                Piece::Sink(part) => out.push_place(part),
                Piece::Reply(data) => out.push(data),
            }
            got += n;
            if n < asked {
                break;
            }
        }
        Ok(got)
    }

    async fn twrite(&self, fid: &Fid, offset: u64, data: Bytes) -> Result<u32, SessionError> {
        let len = data.len();
        let body = Twrite {
            fid: fid.id(),
            offset,
            data,
        };
        let ids = [fid.id()];
        let r = self
            .request_typed::<kind::Twrite>(body, Effect::None, &ids)
            .await?;
        if r.count as usize > len {
            return Err(SessionError::Protocol(format!(
                "Rwrite of {} bytes for a Twrite of {len}",
                r.count
            )));
        }
        Ok(r.count)
    }

    /// Writes one chunk, re-splitting it if msize shrank after it was cut.
    async fn write_piece(
        &self,
        fid: &Fid,
        offset: u64,
        data: Bytes,
    ) -> Result<usize, SessionError> {
        let mut done = 0usize;
        while done < data.len() {
            let n = (data.len() - done).min(self.write_chunk(fid) as usize);
            match self
                .twrite(fid, offset + done as u64, data.slice(done..done + n))
                .await
            {
                Ok(c) => {
                    done += c as usize;
                    if (c as usize) < n {
                        break;
                    }
                }
                Err(SessionError::TooLarge { .. }) if n > 1 => continue,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(done)
    }

    /// Writes `data` at `offset`, pipelining chunk requests without copying the payload.
    /// Returns the bytes written: all of `data`, or fewer if a chunk came back short or failed
    /// after earlier bytes landed (exactly the contiguous prefix that landed). An error before
    /// any byte landed is returned as such.
    pub async fn write(&self, fid: &Fid, offset: u64, data: Bytes) -> Result<u64, SessionError> {
        // Bytes that would land past the last addressable offset are never sent (the write is
        // short by them).
        let data = data.slice(..clamp_to_offset_space(offset, data.len()));
        if data.is_empty() {
            return Ok(0);
        }
        let window = self.options().bulk_window;
        let mut written = 0u64;
        let mut issued = 0usize;
        let mut pending = FuturesOrdered::new();
        loop {
            while pending.len() < window && issued < data.len() {
                let n = (data.len() - issued).min(self.write_chunk(fid) as usize);
                let piece = data.slice(issued..issued + n);
                let off = offset + issued as u64;
                pending.push_back(async move { (n, self.write_piece(fid, off, piece).await) });
                issued += n;
            }
            let Some((asked, result)) = pending.next().await else {
                break;
            };
            match result {
                Ok(n) => {
                    written += n as u64;
                    if n < asked {
                        break;
                    }
                }
                Err(e) if written == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(written)
    }
}

/// A chunk's data: received into its sink (or joined there), or the reply's own buffer.
enum Piece {
    Sink(BytesMut),
    Reply(Bytes),
}

impl Piece {
    fn len(&self) -> usize {
        self.as_ref().len()
    }
}

impl AsRef<[u8]> for Piece {
    fn as_ref(&self) -> &[u8] {
        match self {
            Piece::Sink(b) => b,
            Piece::Reply(b) => b,
        }
    }
}

/// The part of `len` bytes at `offset` that fits below `u64::MAX`.
fn clamp_to_offset_space(offset: u64, len: usize) -> usize {
    usize::try_from(u64::MAX - offset).map_or(len, |room| len.min(room))
}
