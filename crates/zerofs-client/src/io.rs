//! [`FileCursor`]: tokio `AsyncRead + AsyncWrite + AsyncSeek` over a [`File`] (feature
//! `tokio-io`), with write-behind and sequential read-ahead.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

use crate::error::ZeroFsError;
use crate::file::File;
use crate::spare::Spare;

/// The smallest first read: small caller buffers (tokio::io::copy uses 8 KiB) then cost one
/// round trip per chunk, not per buffer.
const FIRST_READ: usize = 256 * 1024;

/// Chunk requests a cursor keeps in flight, for reads and for writes (the session's default
/// bulk window).
const WINDOW: usize = 8;

type BoxOp<T> = Pin<Box<dyn Future<Output = Result<T, ZeroFsError>> + Send>>;

/// A boxed operation; the `Mutex` (only ever accessed through `&mut`, so never locked) makes
/// the cursor `Sync`.
type Op<T> = Mutex<BoxOp<T>>;

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

/// A read in flight (or done, waiting to be consumed): offset, length asked, outcome (the
/// buffer it was received into).
struct Ahead {
    offset: u64,
    len: usize,
    op: Op<BytesMut>,
    done: Option<Result<BytesMut, ZeroFsError>>,
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
/// `write`, `flush` or `shutdown` after its reply arrived (and every one after: the cursor
/// stays failed). Call `flush` or `shutdown` before dropping the cursor: dropping it
/// abandons unflushed writes (as with a `BufWriter`). `tokio::io::copy` flushes at the end.
///
/// **Sequential reads are read ahead**: the first read fetches the caller's buffer or
/// 256 KiB (one chunk at most); once reads continue where the last one ended, up to 8
/// chunks are kept in flight. Reading, seeking and writing see the cursor's own earlier
/// writes (pending ones are flushed first). `SeekFrom::End` costs one `Tgetattr`. Cursors
/// are independent of each other.
///
/// Chunk buffers are reused: a sent chunk's buffer, once its reply is in, and a read
/// chunk's, once delivered, take the next chunk (up to a window's worth is kept until the
/// cursor is shut down or dropped), so each byte is copied once, between the caller's
/// buffer and the chunk.
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
    /// Bytes at `pos` read but not yet delivered (a chunk, consumed from its front).
    leftover: BytesMut,
    /// Reads in flight, at consecutive offsets after `leftover`.
    ahead: VecDeque<Ahead>,
    /// Where the last completed read ended (`None` after a seek or write).
    last_end: Option<u64>,
    /// A short read ended the file here: read no further ahead.
    eof_at: Option<u64>,
    /// Bytes written but not yet sent, starting at `staged_at`; sent once `staged_limit`
    /// (the write chunk when staging began) is reached.
    staged: BytesMut,
    staged_at: u64,
    staged_limit: usize,
    /// Chunk writes in flight; each gives its buffer back when done.
    writes: Mutex<FuturesUnordered<BoxOp<Bytes>>>,
    /// The first write-behind failure (sticky).
    failed: Option<ZeroFsError>,
    seek: Seek,
    /// Chunk buffers to reuse.
    spare: Spare,
}

impl fmt::Debug for FileCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCursor")
            .field("file", &self.file)
            .field("pos", &self.pos)
            .field("reads_in_flight", &self.ahead.len())
            .field("writes_in_flight", &self.writes_in_flight())
            .field("staged", &self.staged.len())
            .field("spare_buffers", &self.spare.len())
            .finish_non_exhaustive()
    }
}

impl FileCursor {
    pub(crate) fn new(file: Arc<File>) -> FileCursor {
        FileCursor {
            file,
            pos: 0,
            leftover: BytesMut::new(),
            ahead: VecDeque::new(),
            last_end: None,
            eof_at: None,
            staged: BytesMut::new(),
            staged_at: 0,
            staged_limit: 0,
            writes: Mutex::new(FuturesUnordered::new()),
            failed: None,
            seek: Seek::Idle,
            // A full window in flight plus the one being filled or drained.
            spare: Spare::new(WINDOW + 2),
        }
    }

    /// The offset of the next byte read or written.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn writes_in_flight(&self) -> usize {
        self.writes.lock().map_or(0, |w| w.len())
    }

    /// The size chunk buffers are made with: room for a read or a write chunk.
    fn block(&self) -> usize {
        self.file.read_chunk().max(self.file.write_chunk()) as usize
    }

    fn deliver(&mut self, buf: &mut ReadBuf<'_>) {
        let n = self.leftover.len().min(buf.remaining());
        buf.put_slice(&self.leftover[..n]);
        self.leftover.advance(n);
        self.pos += n as u64;
    }

    /// Gives the (consumed or abandoned) current read chunk's buffer back.
    fn recycle_leftover(&mut self) {
        let b = std::mem::take(&mut self.leftover);
        if b.capacity() > 0 {
            let block = self.block();
            self.spare.put(b, block);
        }
    }

    /// Forgets everything read ahead (after a write or a seek).
    fn drop_reads(&mut self) {
        self.recycle_leftover();
        self.ahead.clear();
        self.last_end = None;
        self.eof_at = None;
    }

    /// Starts a read into `sink` (its capacity, one chunk at most) at `offset` and polls it
    /// once (so it is sent).
    fn issue_read(&mut self, offset: u64, sink: BytesMut, cx: &mut Context<'_>) {
        let file = self.file.clone();
        let len = sink.capacity().min(self.file.read_chunk() as usize);
        let mut a = Ahead {
            offset,
            len,
            op: boxed(async move { file.read_into(offset, sink).await }),
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
        while self.ahead.len() < WINDOW {
            let next = match self.ahead.back() {
                Some(a) => a.offset + a.len as u64,
                None => self.pos + self.leftover.len() as u64,
            };
            if self.eof_at.is_some_and(|e| next >= e) {
                return;
            }
            let block = self.block();
            let sink = self.spare.take(block);
            self.issue_read(next, sink, cx);
        }
    }

    /// Sends the staged bytes as one write and polls the writes (so it is on its way).
    fn launch(&mut self, cx: &mut Context<'_>) {
        if self.staged.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.staged).freeze();
        let (file, at) = (self.file.clone(), self.staged_at);
        self.staged_at += data.len() as u64;
        self.writes
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::pin(async move {
                // The request holds a handle to the buffer until it is done; this one brings
                // it back for reuse.
                file.write_at_bytes(at, data.clone()).await.map(|()| data)
            }));
        // Errors surface through `check` at the caller's next step.
        let _ = self.poll_writes(cx);
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

    /// Collects the writes that finished (polling only those woken since the last call),
    /// keeping their buffers; a failure makes the cursor failed.
    fn poll_writes(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        loop {
            let writes = self.writes.get_mut().unwrap_or_else(|e| e.into_inner());
            match writes.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(b))) => {
                    let block = self.block();
                    self.spare.put_bytes(b, block);
                }
                Poll::Ready(Some(Err(e))) => self.fail(e),
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        self.check()
    }

    fn writes_in_flight_mut(&mut self) -> usize {
        self.writes
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    fn writes_idle(&mut self) -> bool {
        self.writes
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Sends what is staged and waits for every write in flight.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        self.launch(cx);
        self.poll_writes(cx)?;
        if self.writes_idle() {
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
        if !this.staged.is_empty() || !this.writes_idle() {
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
                let sink = if this.last_end == Some(this.pos) {
                    let block = this.block();
                    this.spare.take(block)
                } else {
                    // The first read of a run: the caller's size, no read-ahead yet.
                    BytesMut::with_capacity(buf.remaining().max(FIRST_READ).min(chunk))
                };
                this.eof_at = None;
                this.issue_read(this.pos, sink, cx);
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
                // Short: the end of the file, or a smaller msize after a reconnect. Nothing
                // read past it is valid; the next read starts here (and an empty one is EOF).
                this.eof_at = Some(end);
                this.ahead.clear();
            }
            // Sequential from here on (the first read of a run does not read ahead).
            this.last_end = Some(end);
            this.recycle_leftover();
            this.leftover = data;
            if this.leftover.is_empty() {
                this.recycle_leftover();
                return Poll::Ready(Ok(()));
            }
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
        // Collects finished writes (cheap when none finished): a failure is reported here.
        this.poll_writes(cx)?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let contiguous = this.staged_at + this.staged.len() as u64 == this.pos;
        // Fast path: room in the staged chunk, contiguous.
        if !this.staged.is_empty()
            && contiguous
            && this.staged.len() + buf.len() < this.staged_limit
        {
            this.staged.extend_from_slice(buf);
            this.pos += buf.len() as u64;
            return Poll::Ready(Ok(buf.len()));
        }
        if !this.leftover.is_empty() || !this.ahead.is_empty() || this.last_end.is_some() {
            this.drop_reads();
        }
        // Send what is staged first if it is full or not contiguous (a seek happened).
        if !this.staged.is_empty() && (!contiguous || this.staged.len() >= this.staged_limit) {
            if this.writes_in_flight_mut() >= WINDOW {
                // Every write in flight was polled above: one finishing wakes us.
                return Poll::Pending;
            }
            this.launch(cx);
            this.check()?;
        }
        if this.staged.is_empty() {
            this.staged_at = this.pos;
            this.staged_limit = this.file.write_chunk() as usize;
            if this.staged.capacity() < this.staged_limit {
                let block = this.block().max(this.staged_limit);
                this.staged = this.spare.take(block);
            }
        }
        let n = (this.staged_limit - this.staged.len()).min(buf.len());
        this.staged.extend_from_slice(&buf[..n]);
        this.pos += n as u64;
        if this.staged.len() >= this.staged_limit && this.writes_in_flight_mut() < WINDOW {
            this.launch(cx);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_drain(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        // Done writing: the kept buffers are not needed any more.
        this.spare.clear();
        Poll::Ready(Ok(()))
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
