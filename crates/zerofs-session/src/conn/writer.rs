//! The writer task: drains queued frames and writes them batched, with vectored writes.
//!
//! Frames smaller than [`COPY_BELOW`] are copied into one staging buffer; larger payloads go out
//! as their own slice, so a big `Twrite` payload is never copied into a frame buffer.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::{BoxWrite, Conn, Outgoing, QUEUED, SENT};
use crate::stats::Counters;

/// Frames smaller than this are copied into one staging buffer; larger ones go out as their own
/// slice of the vectored write.
const COPY_BELOW: usize = 16 * 1024;
/// Most slices per `write_vectored` call.
const MAX_IOV: usize = 64;
/// Stop batching once this many bytes are queued for one write.
const BATCH_BYTES: usize = 4 << 20;

pub(super) async fn writer(
    conn: Arc<Conn>,
    mut wr: BoxWrite,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut parts: VecDeque<Bytes> = VecDeque::new();
    let mut stage = BytesMut::new();
    while let Some(first) = rx.recv().await {
        let mut batch = 0usize;
        let mut next = Some(first);
        while let Some(out) = next.take() {
            if out
                .state
                .compare_exchange(QUEUED, SENT, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                batch += out.head.len() + out.payload.as_ref().map_or(0, Bytes::len);
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
            if batch < BATCH_BYTES && parts.len() < MAX_IOV * 4 {
                next = rx.try_recv().ok();
            }
        }
        if !stage.is_empty() {
            parts.push_back(stage.split().freeze());
        }
        if let Err(e) = write_all(&mut wr, &mut parts, &conn).await {
            conn.kill(format!("write failed: {e}"));
            return;
        }
        if let Err(e) = wr.flush().await {
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
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let mut k = 0;
            for (slot, part) in slices.iter_mut().zip(parts.iter()) {
                *slot = IoSlice::new(part);
                k += 1;
            }
            wr.write_vectored(&slices[..k]).await?
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        Counters::add(&conn.core.counters.bytes_sent, n as u64);
        let mut left = n;
        while left > 0 {
            let Some(front) = parts.front_mut() else {
                break;
            };
            if front.len() <= left {
                left -= front.len();
                parts.pop_front();
            } else {
                bytes::Buf::advance(front, left);
                left = 0;
            }
        }
    }
    Ok(())
}
