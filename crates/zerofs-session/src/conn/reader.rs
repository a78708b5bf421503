//! The reader task: reads into pooled buffers, splits frames without copying, routes them by
//! tag.
//!
//! Frames are cut out of the receive buffer without copying, so a buffer stays allocated until
//! every frame cut from it is dropped. Room for a frame is made by reusing the current buffer
//! or a recently filled one once all its frames are gone (a small pool), and only otherwise by
//! allocating: a stream of large pipelined replies then cycles through a few buffers instead of
//! faulting in fresh pages for every frame.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use tokio::io::AsyncReadExt;
use zerofs_9p_proto::FrameDecoder;

use super::{Conn, DIRECT_MIN};
use crate::stats::Counters;
use crate::transport::BoxRead;

/// Smallest free room a read is given.
const MIN_ROOM: usize = 4096;
/// Size of a fresh buffer for small frames.
const SMALL_BUF: usize = 64 * 1024;
/// Filled buffers kept for reuse.
const POOL: usize = 4;

pub(super) async fn reader(conn: Arc<Conn>, mut rd: BoxRead) {
    let mut buf = BytesMut::with_capacity(SMALL_BUF);
    let mut pool = VecDeque::with_capacity(POOL);
    let mut framer = FrameDecoder::new(conn.msize());
    loop {
        framer.set_max_size(conn.msize());
        // The size of the frame at the front is checked before any room is made for it.
        let front = match framer.peek_size(&buf) {
            Ok(size) => size,
            Err(e) => {
                conn.violation(format!("bad frame: {e}"));
                return;
            }
        };
        if front.is_some_and(|size| buf.len() >= size) {
            match framer.decode(&mut buf) {
                Ok(Some(frame)) => {
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
        }
        if let Some(size) = front {
            match receive_direct(&conn, &mut rd, &mut buf, size).await {
                Direct::No => {}
                Direct::Done => continue,
                Direct::Stop => return,
            }
        }
        // Room for the rest of a partial frame (exactly: the next frame then starts in a
        // buffer of its own), else for a batch of small frames.
        let room = match front {
            Some(size) if size - buf.len() >= MIN_ROOM => size - buf.len(),
            _ => MIN_ROOM,
        };
        make_room(&mut buf, &mut pool, room);
        match rd.read_buf(&mut buf).await {
            Ok(0) => {
                conn.kill("connection closed by the server".into());
                return;
            }
            Ok(n) => {
                conn.note_rx();
                Counters::add(&conn.core.counters.bytes_received, n as u64);
            }
            Err(e) => {
                conn.kill(format!("read failed: {e}"));
                return;
            }
        }
    }
}

/// Bytes of an `Rread` before its payload: size, type, tag, count.
const RREAD_HEAD: usize = 11;

enum Direct {
    /// Not a direct receive: go on as usual.
    No,
    /// The frame was received and routed.
    Done,
    /// The connection was killed.
    Stop,
}

/// If the partial frame at the front of `buf` (`size` bytes in all) is a large `Rread` whose
/// request brought a sink, moves the payload bytes already buffered into the sink and reads
/// the rest of the payload from the socket straight into it: one copy less per byte than
/// splitting it out of the receive buffer and copying it into the caller's.
async fn receive_direct(
    conn: &Arc<Conn>,
    rd: &mut BoxRead,
    buf: &mut BytesMut,
    size: usize,
) -> Direct {
    if buf.len() >= size || buf.len() < RREAD_HEAD || size < DIRECT_MIN + RREAD_HEAD {
        return Direct::No;
    }
    if buf[4] != zerofs_9p_proto::MessageType::Rread as u8 {
        return Direct::No;
    }
    let tag = u16::from_le_bytes([buf[5], buf[6]]);
    let count = u32::from_le_bytes([buf[7], buf[8], buf[9], buf[10]]) as usize;
    if count + RREAD_HEAD != size {
        // Malformed; the normal path reports it once the frame is complete.
        return Direct::No;
    }
    let Some(mut sink) = conn.take_sink(tag, count) else {
        return Direct::No;
    };
    // Everything buffered belongs to this frame (it is incomplete).
    sink.extend_from_slice(&buf[RREAD_HEAD..]);
    buf.clear();
    while sink.len() < count {
        let want = count - sink.len();
        match rd.read_buf(&mut (&mut sink).limit(want)).await {
            Ok(0) => {
                conn.kill("connection closed by the server".into());
                return Direct::Stop;
            }
            Ok(n) => {
                conn.note_rx();
                Counters::add(&conn.core.counters.bytes_received, n as u64);
            }
            Err(e) => {
                conn.kill(format!("read failed: {e}"));
                return Direct::Stop;
            }
        }
    }
    Counters::add(
        &conn.core.counters.bytes_received_in_place,
        sink.len() as u64,
    );
    if conn.route_sink(tag, sink) {
        Direct::Done
    } else {
        Direct::Stop
    }
}

/// Ensures `buf` has `room` bytes of free capacity, preferring allocations whose frames have
/// all been dropped (its own, then the pool's) over a new one.
fn make_room(buf: &mut BytesMut, pool: &mut VecDeque<BytesMut>, room: usize) {
    if buf.capacity() - buf.len() >= room || buf.try_reclaim(room) {
        return;
    }
    let need = buf.len() + room;
    let reusable = pool.iter_mut().position(|b| b.try_reclaim(need));
    let mut next = match reusable.and_then(|i| pool.remove(i)) {
        Some(b) => b,
        None => BytesMut::with_capacity(need.max(SMALL_BUF)),
    };
    // Only the start of a partial frame (if any) moves.
    next.extend_from_slice(buf);
    let mut old = std::mem::replace(buf, next);
    old.clear();
    if pool.len() == POOL {
        pool.pop_front();
    }
    pool.push_back(old);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_room_reuses_a_buffer_once_its_frames_are_dropped() {
        let mut pool = VecDeque::new();
        let big = 4 * SMALL_BUF;
        let mut buf = BytesMut::with_capacity(big);
        buf.extend_from_slice(&[7u8; 1000]);
        let frame = buf.split_to(1000).freeze();
        let first = frame.as_ptr();
        // The frame is alive: room comes from a new allocation, the old one is parked.
        make_room(&mut buf, &mut pool, big);
        assert!(buf.capacity() >= big);
        assert_ne!(buf.as_ptr(), first);
        assert_eq!(pool.len(), 1);
        drop(frame);
        // Fill the new buffer with a frame still alive, then ask for room the parked buffer
        // can give: it is reused (same allocation) instead of allocating.
        buf.extend_from_slice(&[1u8; 10]);
        let held = buf.split_to(10).freeze();
        buf.extend_from_slice(&[2u8; 3]);
        make_room(&mut buf, &mut pool, big - 3);
        assert_eq!(buf.as_ptr(), first, "the parked buffer was reused");
        assert_eq!(&buf[..], &[2u8; 3], "a partial frame moves with the room");
        assert_eq!(&held[..], &[1u8; 10]);
    }

    #[test]
    fn the_pool_is_bounded() {
        let mut pool = VecDeque::new();
        let mut buf = BytesMut::new();
        let mut held = Vec::new();
        for i in 0..3 * POOL {
            buf.extend_from_slice(&[i as u8; 8]);
            held.push(buf.split_to(8).freeze());
            make_room(&mut buf, &mut pool, SMALL_BUF);
            assert!(pool.len() <= POOL);
        }
        assert_eq!(pool.len(), POOL);
        for (i, h) in held.iter().enumerate() {
            assert_eq!(&h[..], &[i as u8; 8], "frames keep their bytes");
        }
    }
}
