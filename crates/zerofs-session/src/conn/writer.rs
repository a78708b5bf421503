//! The write side: a queue drained by the writer task in batched vectored writes, and an
//! inline fast path for an idle connection.
//!
//! A frame sent while nothing else is in flight and the queue is empty is written by the
//! caller itself, with one non-blocking vectored write: no task hop, which is most of the
//! latency of a lone request. If the socket takes only part of it (or none), the rest is
//! queued for the writer task, which owns the stream whenever the queue is not empty. Under
//! concurrency every frame goes through the queue, so the writer batches them.
//!
//! In the writer, frames smaller than [`COPY_BELOW`] are copied into one staging buffer; larger
//! payloads go out as their own slice, so a big `Twrite` payload is never copied.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use super::{BoxWrite, Conn, Outgoing, QUEUED, SENT};
use crate::stats::Counters;

/// Frames smaller than this are copied into one staging buffer; larger ones go out as their own
/// slice of the vectored write.
const COPY_BELOW: usize = 16 * 1024;
/// Most slices per `write_vectored` call.
const MAX_IOV: usize = 64;
/// Stop batching once this many bytes are queued for one write.
const BATCH_BYTES: usize = 4 << 20;

/// The stream and the frames waiting for it.
pub(super) struct WriteSide {
    state: Mutex<WriteState>,
    wake: Notify,
}

struct WriteState {
    /// The stream while idle; `None` while the writer task is writing with it.
    stream: Option<BoxWrite>,
    /// Frames for the writer task, in order (a partly written frame first).
    queue: VecDeque<Queued>,
    /// Frames that may wait for the next one to ride along (background clunks on an idle
    /// connection), for at most `Options::clunk_linger`.
    lazy: Vec<Outgoing>,
}

/// A queued frame, or the unwritten rest of one the caller started inline.
enum Queued {
    Frame(Outgoing),
    Rest(VecDeque<Bytes>),
}

impl std::fmt::Debug for WriteSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteSide").finish_non_exhaustive()
    }
}

impl WriteSide {
    pub(super) fn new(stream: BoxWrite) -> WriteSide {
        WriteSide {
            state: Mutex::new(WriteState {
                stream: Some(stream),
                queue: VecDeque::new(),
                lazy: Vec::new(),
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WriteState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `out` (with any lazy frames before it). `in_flight` is the number of requests
    /// pending on the connection, this one excluded: when they are only the lazy frames, the
    /// stream is free and nothing is queued, the caller writes inline; else the writer task
    /// does. Never blocks.
    pub(super) fn send(&self, out: Outgoing, in_flight: usize, counters: &Counters) {
        let mut st = self.lock();
        let idle = in_flight == st.lazy.len();
        let lazy = std::mem::take(&mut st.lazy);
        if idle && st.queue.is_empty() {
            if let Some(stream) = st.stream.as_mut() {
                if let Some(rest) = write_inline(stream, lazy, out, counters) {
                    st.queue.push_back(Queued::Rest(rest));
                    drop(st);
                    self.wake.notify_one();
                }
                return;
            }
        }
        let first = st.queue.is_empty();
        st.queue.extend(lazy.into_iter().map(Queued::Frame));
        st.queue.push_back(Queued::Frame(out));
        drop(st);
        if first {
            self.wake.notify_one();
        }
    }

    /// Sends a background clunk: when `in_flight` (pending requests, this one excluded) are
    /// only lazy frames, it waits for the next frame and goes out in its write, or alone
    /// after the linger if none comes (so it costs neither a write of its own nor a server
    /// wake-up); otherwise as [`send`](Self::send).
    pub(super) fn send_clunk(&self, out: Outgoing, in_flight: usize, counters: &Counters) {
        let mut st = self.lock();
        if in_flight != st.lazy.len() {
            drop(st);
            return self.send(out, usize::MAX, counters);
        }
        st.lazy.push(out);
        let first = st.lazy.len() == 1;
        drop(st);
        if first {
            self.wake.notify_one();
        }
    }
}

/// Writes `lazy` then `out` with one non-blocking vectored write; returns what the socket did
/// not take (`None`: all of it, or every frame was withdrawn).
fn write_inline(
    stream: &mut BoxWrite,
    lazy: Vec<Outgoing>,
    out: Outgoing,
    counters: &Counters,
) -> Option<VecDeque<Bytes>> {
    let mut parts = VecDeque::with_capacity(lazy.len() + 2);
    for o in lazy.into_iter().chain(std::iter::once(out)) {
        if o.state
            .compare_exchange(QUEUED, SENT, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            parts.push_back(o.head);
            parts.extend(o.payload.filter(|p| !p.is_empty()));
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut cx = Context::from_waker(Waker::noop());
    Counters::add(&counters.writes, 1);
    let (slices, k) = io_slices(&parts);
    let written = match Pin::new(&mut *stream).poll_write_vectored(&mut cx, &slices[..k]) {
        Poll::Ready(Ok(n)) => n,
        // Not writable now, or failed: the writer task retries and reports any error.
        Poll::Ready(Err(_)) | Poll::Pending => 0,
    };
    Counters::add(&counters.bytes_sent, written as u64);
    advance(&mut parts, written);
    // A buffering stream that cannot flush now leaves the flush to the writer task (an empty
    // rest is just a flush).
    let flushed =
        parts.is_empty() && matches!(Pin::new(stream).poll_flush(&mut cx), Poll::Ready(Ok(())));
    (!flushed).then_some(parts)
}

/// The first [`MAX_IOV`] parts as `IoSlice`s, and how many there are.
fn io_slices(parts: &VecDeque<Bytes>) -> ([IoSlice<'_>; MAX_IOV], usize) {
    let mut slices = [IoSlice::new(&[]); MAX_IOV];
    let mut k = 0;
    for (slot, part) in slices.iter_mut().zip(parts.iter()) {
        *slot = IoSlice::new(part);
        k += 1;
    }
    (slices, k)
}

/// Drops the first `n` bytes of `parts`.
fn advance(parts: &mut VecDeque<Bytes>, mut n: usize) {
    while n > 0 {
        let Some(front) = parts.front_mut() else {
            break;
        };
        if front.len() <= n {
            n -= front.len();
            parts.pop_front();
        } else {
            front.advance(n);
            n = 0;
        }
    }
}

/// The writer task: whenever frames are queued it takes the stream, writes them in batches,
/// and gives the stream back once the queue is empty.
pub(super) async fn writer(conn: Arc<Conn>) {
    let side = &conn.write;
    let mut parts: VecDeque<Bytes> = VecDeque::new();
    let mut stage = BytesMut::new();
    let mut held: Option<BoxWrite> = None;
    loop {
        let batch: Vec<Queued> = {
            let mut st = side.lock();
            if st.queue.is_empty() {
                if let Some(s) = held.take() {
                    st.stream = Some(s);
                }
                Vec::new()
            } else {
                if held.is_none() {
                    held = st.stream.take();
                }
                let mut bytes = 0usize;
                let mut batch = Vec::new();
                while let Some(q) = st.queue.pop_front() {
                    bytes += match &q {
                        Queued::Frame(o) => o.head.len() + o.payload.as_ref().map_or(0, Bytes::len),
                        Queued::Rest(r) => r.iter().map(Bytes::len).sum(),
                    };
                    batch.push(q);
                    if bytes >= BATCH_BYTES || batch.len() >= MAX_IOV * 4 {
                        break;
                    }
                }
                batch
            }
        };
        if batch.is_empty() {
            if side.lock().lazy.is_empty() {
                side.wake.notified().await;
            } else {
                // Lazy frames wait a moment for a frame to ride with, then go alone.
                tokio::select! {
                    _ = side.wake.notified() => {}
                    _ = tokio::time::sleep(conn.core.clunk_linger) => {
                        let mut st = side.lock();
                        let lazy = std::mem::take(&mut st.lazy);
                        st.queue.extend(lazy.into_iter().map(Queued::Frame));
                    }
                }
            }
            continue;
        }
        let Some(stream) = held.as_mut() else {
            // Unreachable: the stream is either idle in the state or held here.
            conn.kill("the write stream went missing".into());
            return;
        };
        for q in batch {
            match q {
                Queued::Rest(rest) => {
                    if !stage.is_empty() {
                        parts.push_back(stage.split().freeze());
                    }
                    parts.extend(rest);
                }
                Queued::Frame(out) => {
                    if out
                        .state
                        .compare_exchange(QUEUED, SENT, Ordering::AcqRel, Ordering::Acquire)
                        .is_err()
                    {
                        continue;
                    }
                    stage.put_slice(&out.head);
                    if let Some(p) = out.payload {
                        if p.len() < COPY_BELOW {
                            stage.put_slice(&p);
                        } else {
                            parts.push_back(stage.split().freeze());
                            parts.push_back(p);
                        }
                    }
                }
            }
        }
        if !stage.is_empty() {
            parts.push_back(stage.split().freeze());
        }
        if let Err(e) = write_all(stream, &mut parts, &conn).await {
            conn.kill(format!("write failed: {e}"));
            return;
        }
        if let Err(e) = stream.flush().await {
            conn.kill(format!("flush failed: {e}"));
            return;
        }
    }
}

async fn write_all(
    wr: &mut BoxWrite,
    parts: &mut VecDeque<Bytes>,
    conn: &Conn,
) -> std::io::Result<()> {
    while !parts.is_empty() {
        let n = {
            let (slices, k) = io_slices(parts);
            Counters::add(&conn.core.counters.writes, 1);
            wr.write_vectored(&slices[..k]).await?
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        Counters::add(&conn.core.counters.bytes_sent, n as u64);
        advance(parts, n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_drops_whole_and_partial_parts() {
        let mut parts: VecDeque<Bytes> = [
            Bytes::from_static(b"abc"),
            Bytes::from_static(b"de"),
            Bytes::from_static(b"fgh"),
        ]
        .into();
        advance(&mut parts, 4);
        assert_eq!(
            parts,
            [Bytes::from_static(b"e"), Bytes::from_static(b"fgh")]
        );
        advance(&mut parts, 0);
        assert_eq!(parts.len(), 2);
        advance(&mut parts, 4);
        assert!(parts.is_empty());
    }
}
