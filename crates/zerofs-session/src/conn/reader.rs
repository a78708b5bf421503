//! The reader task: reads into one buffer, splits frames without copying, routes them by tag.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use zerofs_9p_proto::FrameDecoder;

use super::{BoxRead, Conn};
use crate::stats::Counters;

pub(super) async fn reader(conn: Arc<Conn>, mut rd: BoxRead) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut framer = FrameDecoder::new(conn.msize());
    // Size of the last frame: the next read reserves room for one like it, so a stream of
    // large replies costs one allocation per frame (frames handed out keep their buffer
    // alive, so it cannot be reused) instead of a small one plus a copying regrowth.
    let mut hint = 0usize;
    loop {
        framer.set_max_size(conn.msize());
        match framer.decode(&mut buf) {
            Ok(Some(frame)) => {
                hint = frame.len();
                if !conn.route(frame) {
                    return;
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                conn.violation(format!("bad frame: {e}"));
                return;
            }
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(hint.clamp(64 * 1024, (conn.msize() as usize).max(64 * 1024)));
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => {
                conn.kill("connection closed by the server".into());
                return;
            }
            Ok(n) => Counters::add(&conn.core.counters.bytes_received, n as u64),
            Err(e) => {
                conn.kill(format!("read failed: {e}"));
                return;
            }
        }
    }
}
