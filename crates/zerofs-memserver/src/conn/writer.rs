//! The per-connection writer: drains queued replies and writes them in batches.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

/// Most bytes gathered into one write.
const BATCH: usize = 1 << 20;

/// Writes replies until the queue closes, a write fails or the connection is closed.
pub(crate) async fn run<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::Receiver<Bytes>,
    close: Arc<watch::Sender<bool>>,
) {
    let mut closed = close.subscribe();
    let mut buf = BytesMut::new();
    loop {
        let first = tokio::select! {
            biased;
            _ = closed.wait_for(|c| *c) => break,
            m = rx.recv() => match m { Some(b) => b, None => break },
        };
        buf.extend_from_slice(&first);
        while buf.len() < BATCH {
            match rx.try_recv() {
                Ok(b) => buf.extend_from_slice(&b),
                Err(_) => break,
            }
        }
        let res = tokio::select! {
            biased;
            _ = closed.wait_for(|c| *c) => break,
            r = w.write_all(&buf) => r,
        };
        if res.is_err() {
            close.send_replace(true);
            break;
        }
        buf.clear();
    }
    let _ = w.shutdown().await;
}
