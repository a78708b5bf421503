//! The per-connection writer: drains queued replies, encodes them and writes them in batches
//! with vectored writes.
//!
//! Small replies are encoded into one reused staging buffer; a data payload of
//! [`COPY_BELOW`] bytes or more (`Rread`, `Rlopenatread`) is never copied: its pieces (slices
//! of the file's chunks) go to `write_vectored` as slices of their own after the encoded head.

use std::io::{self, IoSlice};
use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tracing::warn;
use zerofs_9p_proto::{Dialect, Frame, Message};

use crate::dispatch::Reply;

/// Most bytes gathered into one batch (one reply may take it past this).
const BATCH: usize = 1 << 20;
/// Payloads shorter than this are copied into the staging buffer; longer ones go out as their
/// own slices.
pub(super) const COPY_BELOW: usize = 16 * 1024;
/// Most slices handed to one `write_vectored` call.
const MAX_IOV: usize = 64;

/// A reply queued for the wire.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The request's tag.
    pub tag: u16,
    /// The dialect to encode in.
    pub wire: Dialect,
    /// The reply.
    pub reply: Reply,
}

/// Writes replies until the queue closes, a write fails or the connection is closed.
pub(crate) async fn run<W: AsyncWrite + Unpin>(
    conn: u64,
    mut w: W,
    mut rx: mpsc::Receiver<Outgoing>,
    close: Arc<watch::Sender<bool>>,
) {
    let mut closed = close.subscribe();
    let mut batch = Batch::default();
    loop {
        let first = tokio::select! {
            biased;
            _ = closed.wait_for(|c| *c) => break,
            m = rx.recv() => match m { Some(o) => o, None => break },
        };
        batch.push(conn, first);
        while batch.len < BATCH {
            match rx.try_recv() {
                Ok(o) => batch.push(conn, o),
                Err(_) => break,
            }
        }
        let res = tokio::select! {
            biased;
            _ = closed.wait_for(|c| *c) => break,
            r = batch.write_to(&mut w) => r,
        };
        if res.is_err() {
            close.send_replace(true);
            break;
        }
        batch.clear();
    }
    let _ = w.shutdown().await;
}

/// One part of a batch: a range of the staging buffer, or a payload piece sent as is.
#[derive(Debug)]
enum Seg {
    Staged(Range<usize>),
    Piece(Bytes),
}

/// Encoded replies waiting for one round of writes.
#[derive(Debug, Default)]
struct Batch {
    staging: BytesMut,
    segs: Vec<Seg>,
    /// Bytes in the batch.
    len: usize,
}

impl Batch {
    /// Encodes `out` into the batch (a reply that cannot be encoded becomes `EIO`).
    fn push(&mut self, conn: u64, out: Outgoing) {
        let Outgoing { tag, wire, reply } = out;
        let Reply { message, data } = reply;
        let frame = Frame::new(tag, message);
        let start = self.staging.len();
        // A message with a payload field whose data came separately: encode the head for it.
        let separate = frame.message.payload().is_some() && !data.is_empty();
        let res = if separate {
            frame.encode_head_for(wire, data.len(), &mut self.staging)
        } else {
            frame.encode(wire, &mut self.staging)
        };
        if let Err(e) = res {
            warn!(conn, tag, error = %e, "reply cannot be encoded, answering EIO");
            self.staging.truncate(start);
            let eio = Frame::new(tag, Message::error(zerofs_9p_proto::consts::errno::EIO));
            let _ = eio.encode(wire, &mut self.staging);
            self.stage(start);
            return;
        }
        self.stage(start);
        if !separate {
            return;
        }
        if data.len() < COPY_BELOW {
            let start = self.staging.len();
            for piece in data.pieces() {
                self.staging.extend_from_slice(piece);
            }
            self.stage(start);
        } else {
            for piece in data.pieces() {
                self.len += piece.len();
                self.segs.push(Seg::Piece(piece.clone()));
            }
        }
    }

    /// Records the staging bytes from `start` to the end as the next part.
    fn stage(&mut self, start: usize) {
        let end = self.staging.len();
        if end == start {
            return;
        }
        self.len += end - start;
        if let Some(Seg::Staged(r)) = self.segs.last_mut() {
            if r.end == start {
                r.end = end;
                return;
            }
        }
        self.segs.push(Seg::Staged(start..end));
    }

    fn bytes<'a>(&'a self, seg: &'a Seg) -> &'a [u8] {
        match seg {
            Seg::Staged(r) => &self.staging[r.clone()],
            Seg::Piece(b) => b,
        }
    }

    /// Writes the whole batch, at most [`MAX_IOV`] slices per call, resuming after partial
    /// writes.
    async fn write_to<W: AsyncWrite + Unpin>(&self, w: &mut W) -> io::Result<()> {
        let (mut seg, mut off) = (0, 0);
        while seg < self.segs.len() {
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let mut n = 0;
            for (i, s) in self.segs[seg..].iter().take(MAX_IOV).enumerate() {
                let b = self.bytes(s);
                iov[i] = IoSlice::new(if i == 0 { &b[off..] } else { b });
                n = i + 1;
            }
            let mut written = w.write_vectored(&iov[..n]).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            while written > 0 && seg < self.segs.len() {
                let rest = self.bytes(&self.segs[seg]).len() - off;
                if written >= rest {
                    written -= rest;
                    seg += 1;
                    off = 0;
                } else {
                    off += written;
                    written = 0;
                }
            }
        }
        Ok(())
    }

    /// Empties the batch, keeping the staging buffer unless a huge reply blew it up.
    fn clear(&mut self) {
        self.segs.clear();
        self.len = 0;
        if self.staging.capacity() > 4 * BATCH {
            self.staging = BytesMut::new();
        } else {
            self.staging.clear();
        }
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
