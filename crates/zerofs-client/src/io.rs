//! [`FileCursor`]: tokio `AsyncRead + AsyncWrite + AsyncSeek` over a [`File`] (feature
//! `tokio-io`).

use std::fmt;
use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

use crate::error::ZeroFsError;
use crate::file::File;

/// Bytes fetched per read when the caller's buffer is smaller.
const READ_AHEAD: usize = 256 * 1024;

/// A boxed operation; the `Mutex` (only ever accessed through `&mut`) makes the cursor `Sync`.
type Op<T> = Mutex<Pin<Box<dyn Future<Output = Result<T, ZeroFsError>> + Send>>>;

enum State {
    Idle,
    Reading(Op<Bytes>),
    Writing(Op<()>, usize),
    Seeking(Op<u64>),
    Sought(u64),
}

/// A cursor over a [`File`]: an own position plus tokio's `AsyncRead`, `AsyncWrite` and
/// `AsyncSeek`, so `tokio::io::copy`, `read_to_end`, `write_all` and friends work.
///
/// Each read is one positioned read of the caller's buffer or 256 KiB, whichever is larger
/// (at most one chunk), the surplus kept for the next reads (seeking or writing drops it); each
/// write sends the whole buffer (pipelined) before reporting it written, so there is nothing
/// to flush. `SeekFrom::End` costs one `Tgetattr`. Cursors are independent of each other.
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
    pos: u64,
    state: State,
    /// Bytes read but not yet delivered (the caller's buffer was smaller).
    leftover: Bytes,
}

impl fmt::Debug for FileCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCursor")
            .field("file", &self.file)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

fn busy() -> io::Error {
    io::Error::other("another I/O operation is already in flight")
}

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

impl FileCursor {
    pub(crate) fn new(file: Arc<File>) -> FileCursor {
        FileCursor {
            file,
            pos: 0,
            state: State::Idle,
            leftover: Bytes::new(),
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
}

impl AsyncRead for FileCursor {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.leftover.is_empty() {
            this.deliver(buf);
            return Poll::Ready(Ok(()));
        }
        if let State::Idle = this.state {
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            // Read ahead up to one chunk: small caller buffers (tokio::io::copy uses 8 KiB)
            // then cost one round trip per chunk, not per buffer.
            let len = buf
                .remaining()
                .max(READ_AHEAD)
                .min(this.file.read_chunk() as usize) as u32;
            let (file, pos) = (this.file.clone(), this.pos);
            this.state = State::Reading(boxed(async move { file.read_at(pos, len).await }));
        }
        let State::Reading(op) = &mut this.state else {
            return Poll::Ready(Err(busy()));
        };
        let result = ready!(poll_op(op, cx));
        this.state = State::Idle;
        this.leftover = result.map_err(io::Error::from)?;
        this.deliver(buf);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for FileCursor {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let State::Idle = this.state {
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            this.leftover = Bytes::new();
            let (file, pos, data) = (this.file.clone(), this.pos, Bytes::copy_from_slice(buf));
            this.state = State::Writing(
                boxed(async move { file.write_at_bytes(pos, data).await }),
                buf.len(),
            );
        }
        let State::Writing(op, len) = &mut this.state else {
            return Poll::Ready(Err(busy()));
        };
        let len = *len;
        let result = ready!(poll_op(op, cx));
        this.state = State::Idle;
        result.map_err(io::Error::from)?;
        this.pos += len as u64;
        Poll::Ready(Ok(len))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let State::Writing(op, len) = &mut this.state {
            let len = *len;
            let result = ready!(poll_op(op, cx));
            this.state = State::Idle;
            result.map_err(io::Error::from)?;
            this.pos += len as u64;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for FileCursor {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        if !matches!(this.state, State::Idle | State::Sought(_)) {
            return Err(busy());
        }
        let invalid = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid seek to a negative or overflowing position",
            )
        };
        this.state = match position {
            SeekFrom::Start(n) => State::Sought(n),
            SeekFrom::Current(d) => {
                State::Sought(this.pos.checked_add_signed(d).ok_or_else(invalid)?)
            }
            SeekFrom::End(d) => {
                let file = this.file.clone();
                State::Seeking(boxed(async move {
                    let size = file.metadata().await?.size;
                    size.checked_add_signed(d).ok_or_else(|| {
                        ZeroFsError::invalid(format!(
                            "{}: seek before the start of the file",
                            file.display()
                        ))
                    })
                }))
            }
        };
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let target = match &mut this.state {
            State::Sought(n) => *n,
            State::Seeking(op) => {
                let result = ready!(poll_op(op, cx));
                this.state = State::Idle;
                result.map_err(io::Error::from)?
            }
            _ => return Poll::Ready(Ok(this.pos)),
        };
        this.state = State::Idle;
        this.pos = target;
        this.leftover = Bytes::new();
        Poll::Ready(Ok(target))
    }
}
