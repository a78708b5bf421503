//! [`FileCursor`]: tokio `AsyncRead + AsyncWrite + AsyncSeek` over a [`File`] (feature
//! `tokio-io`), with write-behind and sequential read-ahead.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

use crate::error::ZeroFsError;
use crate::file::File;

/// The smallest first read: small caller buffers (tokio::io::copy uses 8 KiB) then cost one
/// round trip per chunk, not per buffer.
const FIRST_READ: usize = 256 * 1024;

/// Chunk requests a cursor keeps in flight, for reads and for writes (the session's default
/// bulk window).
const WINDOW: usize = 8;

/// A boxed operation; the `Mutex` (only ever accessed through `&mut`) makes the cursor `Sync`.
type Op<T> = Mutex<Pin<Box<dyn Future<Output = Result<T, ZeroFsError>> + Send>>>;

fn poll_op<T>(op: &mut Op<T>, cx: &mut Context<'_>) -> Poll<Result<T, ZeroFsError>> {
    op.get_mut()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .poll(cx)
}

fn boxed<T, F>(f: F) -> Op<T>
where
    F: Future<Output = Result<T, ZeroFsError>> + Send + 'static,
{
    Mutex::new(Box::pin(f))
}

/// A read in flight (or done, waiting to be consumed): offset, length asked, outcome.
struct Ahead {
    offset: u64,
    len: usize,
    op: Op<Bytes>,
    done: Option<Result<Bytes, ZeroFsError>>,
}

impl Ahead {
    fn poll(&mut self, cx: &mut Context<'_>) -> bool {
        if self.done.is_none()
            && let Poll::Ready(r) = poll_op(&mut self.op, cx)
        {
            self.done = Some(r);
        }
        self.done.is_some()
    }
}

enum Seek {
    Idle,
    /// Asked for; completes after the write-behind drains.
    Asked(SeekFrom),
    /// `SeekFrom::End`: the size is being fetched.
    Sizing(Op<u64>, i64),
}

/// A cursor over a [`File`]: an own position plus tokio's `AsyncRead`, `AsyncWrite` and
/// `AsyncSeek`, so `tokio::io::copy`, `read_to_end`, `write_all` and friends work.
///
/// **Writes are written behind**: bytes are gathered into chunks (one request each) and up to
/// 8 chunks are in flight while the caller goes on writing, so a stream of small writes
/// costs one round trip per chunk, pipelined. A failed chunk is reported by the next
/// `write`, `flush` or `shutdown` (and every one after: the cursor stays failed). Call
/// `flush` or `shutdown` before dropping the cursor: dropping it abandons unflushed writes
/// (as with a `BufWriter`). `tokio::io::copy` flushes at the end.
///
/// **Sequential reads are read ahead**: the first read fetches the caller's buffer or
/// 256 KiB (one chunk at most); once reads continue where the last one ended, up to 8
/// chunks are kept in flight. Reading, seeking and writing see the cursor's own earlier
/// writes (pending ones are flushed first). `SeekFrom::End` costs one `Tgetattr`. Cursors
/// are independent of each other.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
/// use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use zerofs_client::Client;
///
/// let client = Client::connect(&server.target()).await?;
/// let file = client.create("/notes.txt").await?;
/// let mut cursor = file.cursor();
/// cursor.write_all(b"hello cursor").await?;
/// cursor.seek(std::io::SeekFrom::Start(6)).await?;
/// let mut rest = String::new();
/// cursor.read_to_string(&mut rest).await?;
/// assert_eq!(rest, "cursor");
/// # Ok(()) }
/// ```
pub struct FileCursor {
    file: Arc<File>,
    /// The offset of the next byte read or written.
    pos: u64,
    /// Bytes at `pos` read but not yet delivered.
    leftover: Bytes,
    /// Reads in flight, at consecutive offsets after `leftover`.
    ahead: VecDeque<Ahead>,
    /// Where the last completed read ended (`None` after a seek or write).
    last_end: Option<u64>,
    /// A short read ended the file here: read no further ahead.
    eof_at: Option<u64>,
    /// Bytes written but not yet sent, starting at `staged_at`.
    staged: BytesMut,
    staged_at: u64,
    /// Chunk writes in flight.
    writes: VecDeque<Op<()>>,
    /// The first write-behind failure (sticky).
    failed: Option<ZeroFsError>,
    seek: Seek,
}

impl fmt::Debug for FileCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCursor")
            .field("file", &self.file)
            .field("pos", &self.pos)
            .field("reads_in_flight", &self.ahead.len())
            .field("writes_in_flight", &self.writes.len())
            .field("staged", &self.staged.len())
            .finish_non_exhaustive()
    }
}

impl FileCursor {
    pub(crate) fn new(file: Arc<File>) -> FileCursor {
        FileCursor {
            file,
            pos: 0,
            leftover: Bytes::new(),
            ahead: VecDeque::new(),
            last_end: None,
            eof_at: None,
            staged: BytesMut::new(),
            staged_at: 0,
            writes: VecDeque::new(),
            failed: None,
            seek: Seek::Idle,
        }
    }

    /// The offset of the next byte read or written.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn deliver(&mut self, buf: &mut ReadBuf<'_>) {
        let n = self.leftover.len().min(buf.remaining());
        buf.put_slice(&self.leftover.split_to(n));
        self.pos += n as u64;
    }

    /// Forgets everything read ahead (after a write or a seek).
    fn drop_reads(&mut self) {
        self.leftover = Bytes::new();
        self.ahead.clear();
        self.last_end = None;
        self.eof_at = None;
    }

    /// Starts a read of `len` bytes at `offset` and polls it once (so it is sent).
    fn issue_read(&mut self, offset: u64, len: usize, cx: &mut Context<'_>) {
        let file = self.file.clone();
        let count = u32::try_from(len).unwrap_or(u32::MAX);
        let mut a = Ahead {
            offset,
            len,
            op: boxed(async move { file.read_at(offset, count).await }),
            done: None,
        };
        a.poll(cx);
        self.ahead.push_back(a);
    }

    /// Keeps the read-ahead window full once reading is sequential.
    fn fill_ahead(&mut self, cx: &mut Context<'_>) {
        if self.last_end.is_none() {
            return;
        }
        let chunk = self.file.read_chunk() as usize;
        while self.ahead.len() < WINDOW {
            let next = match self.ahead.back() {
                Some(a) => a.offset + a.len as u64,
                None => self.pos + self.leftover.len() as u64,
            };
            if self.eof_at.is_some_and(|e| next >= e) {
                return;
            }
            self.issue_read(next, chunk, cx);
        }
    }

    /// Sends the staged bytes as one write (polled once, so it is on its way).
    fn launch(&mut self, cx: &mut Context<'_>) {
        if self.staged.is_empty() {
            return;
        }
        let data = self.staged.split().freeze();
        let (file, at) = (self.file.clone(), self.staged_at);
        self.staged_at += data.len() as u64;
        let mut op = boxed(async move { file.write_at_bytes(at, data).await });
        match poll_op(&mut op, cx) {
            Poll::Ready(Err(e)) => self.fail(e),
            Poll::Ready(Ok(())) => {}
            Poll::Pending => self.writes.push_back(op),
        }
    }

    fn fail(&mut self, e: ZeroFsError) {
        if self.failed.is_none() {
            self.failed = Some(e);
        }
    }

    fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some(e) => Err(e.clone().into()),
            None => Ok(()),
        }
    }

    /// Polls every write in flight, dropping the finished ones.
    fn poll_writes(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let mut i = 0;
        while i < self.writes.len() {
            match poll_op(&mut self.writes[i], cx) {
                Poll::Pending => i += 1,
                Poll::Ready(r) => {
                    self.writes.remove(i);
                    if let Err(e) = r {
                        self.fail(e);
                    }
                }
            }
        }
        self.check()
    }

    /// Sends what is staged and waits for every write in flight.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        self.launch(cx);
        self.poll_writes(cx)?;
        if self.writes.is_empty() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

impl AsyncRead for FileCursor {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if !this.staged.is_empty() || !this.writes.is_empty() {
            // Read this cursor's own writes.
            ready!(this.poll_drain(cx))?;
        }
        loop {
            if !this.leftover.is_empty() {
                this.deliver(buf);
                return Poll::Ready(Ok(()));
            }
            if this.ahead.front().is_some_and(|a| a.offset != this.pos) {
                this.drop_reads();
            }
            if this.ahead.is_empty() {
                let chunk = this.file.read_chunk() as usize;
                let len = if this.last_end == Some(this.pos) {
                    chunk
                } else {
                    buf.remaining().max(FIRST_READ).min(chunk)
                };
                this.eof_at = None;
                this.issue_read(this.pos, len, cx);
            }
            for a in this.ahead.iter_mut() {
                a.poll(cx);
            }
            let front = this.ahead.front_mut().expect("a read was issued");
            let Some(result) = front.done.take() else {
                return Poll::Pending;
            };
            let (offset, len) = (front.offset, front.len);
            this.ahead.pop_front();
            let data = match result {
                Ok(d) => d,
                Err(e) => {
                    this.drop_reads();
                    return Poll::Ready(Err(e.into()));
                }
            };
            let end = offset + data.len() as u64;
            if data.len() < len {
                // End of file: nothing read past it is valid.
                this.eof_at = Some(end);
                this.ahead.clear();
            }
            // Sequential from here on (the first read of a run does not read ahead).
            this.last_end = Some(end);
            if data.is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.leftover = data;
            // Top the window up once per chunk consumed (not per small caller read).
            this.fill_ahead(cx);
        }
    }
}

impl AsyncWrite for FileCursor {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Fast path: room in the staged chunk, contiguous. Writes in flight need no polling
        // to progress (their requests are out); they are harvested when a chunk launches.
        if !this.staged.is_empty()
            && this.staged_at + this.staged.len() as u64 == this.pos
            && this.staged.len() + buf.len() < this.staged.capacity()
        {
            this.staged.extend_from_slice(buf);
            this.pos += buf.len() as u64;
            return Poll::Ready(Ok(buf.len()));
        }
        if !this.leftover.is_empty() || !this.ahead.is_empty() || this.last_end.is_some() {
            this.drop_reads();
        }
        this.poll_writes(cx)?;
        if !this.staged.is_empty() && this.staged_at + this.staged.len() as u64 != this.pos {
            // Not contiguous with what is staged (a seek happened): send that first.
            this.launch(cx);
        }
        if this.staged.is_empty() {
            this.staged_at = this.pos;
        }
        let chunk = this.file.write_chunk() as usize;
        if this.staged.len() >= chunk {
            if this.writes.len() >= WINDOW {
                // Every write in flight was polled above: one finishing wakes us.
                return Poll::Pending;
            }
            this.launch(cx);
            this.check()?;
        }
        if this.staged.capacity() == 0 {
            this.staged.reserve(chunk);
        }
        let n = (chunk - this.staged.len()).min(buf.len());
        this.staged.extend_from_slice(&buf[..n]);
        this.pos += n as u64;
        if this.staged.len() >= chunk && this.writes.len() < WINDOW {
            this.launch(cx);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_drain(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for FileCursor {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        if !matches!(this.seek, Seek::Idle) {
            return Err(io::Error::other("another seek is already in flight"));
        }
        this.seek = Seek::Asked(position);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let invalid = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid seek to a negative or overflowing position",
            )
        };
        let target = loop {
            match &mut this.seek {
                Seek::Idle => return Poll::Ready(Ok(this.pos)),
                Seek::Asked(to) => {
                    let to = *to;
                    // Seeks see the cursor's own writes (`End` needs them for the size).
                    if let Err(e) = ready!(this.poll_drain(cx)) {
                        this.seek = Seek::Idle;
                        return Poll::Ready(Err(e));
                    }
                    match to {
                        SeekFrom::Start(n) => break Some(n),
                        SeekFrom::Current(d) => break this.pos.checked_add_signed(d),
                        SeekFrom::End(d) => {
                            let file = this.file.clone();
                            this.seek = Seek::Sizing(
                                boxed(async move { Ok(file.metadata().await?.size) }),
                                d,
                            );
                        }
                    }
                }
                Seek::Sizing(op, d) => {
                    let d = *d;
                    let size = ready!(poll_op(op, cx));
                    this.seek = Seek::Idle;
                    break Some(
                        size.map_err(io::Error::from)?
                            .checked_add_signed(d)
                            .ok_or_else(|| {
                                io::Error::from(ZeroFsError::invalid(format!(
                                    "{}: seek before the start of the file",
                                    this.file.display()
                                )))
                            })?,
                    );
                }
            }
        };
        this.seek = Seek::Idle;
        let target = target.ok_or_else(invalid)?;
        if target != this.pos {
            this.drop_reads();
        }
        this.pos = target;
        Poll::Ready(Ok(target))
    }
}
