//! The connection's read buffer: splits complete frames off without copying and sizes itself
//! to the frame in progress, so a large frame is read into one buffer of exactly its size.
//! The buffer of the last large frame is reused once nothing else holds it (its request is
//! done), so a stream of large writes does not allocate, and fault in, a buffer per frame.

use bytes::{Bytes, BytesMut};
use zerofs_9p_proto::FrameDecoder;

/// Room reserved for reading small frames.
const READ_CHUNK: usize = 64 * 1024;
/// Below this much free room (and with no large frame in progress) more is reserved.
const MIN_ROOM: usize = 4096;

/// Inbound bytes not yet split into frames.
#[derive(Debug)]
pub(super) struct InBuf {
    buf: BytesMut,
    framer: FrameDecoder,
    /// The last large frame split off, to take its buffer back when it is no longer shared.
    last_large: Option<Bytes>,
}

impl InBuf {
    /// A buffer refusing frames larger than `max_frame` bytes.
    pub fn new(max_frame: u32) -> InBuf {
        InBuf {
            buf: BytesMut::with_capacity(READ_CHUNK),
            framer: FrameDecoder::new(max_frame),
            last_large: None,
        }
    }

    /// Splits the next complete frame off the front; `Ok(None)` while it is incomplete. An
    /// error (a size field out of bounds) leaves the stream unusable.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, zerofs_9p_proto::Error> {
        match self.framer.peek_size(&self.buf)? {
            Some(size) if self.buf.len() >= size => {
                let frame = self.buf.split_to(size).freeze();
                if size >= READ_CHUNK {
                    self.last_large = Some(frame.clone());
                }
                Ok(Some(frame))
            }
            _ => Ok(None),
        }
    }

    /// Makes room for the next read. A frame in progress that does not fit gets a buffer of
    /// exactly its size (the bytes received so far are copied once; the rest is read in place,
    /// with no regrowth); otherwise at least [`MIN_ROOM`] bytes are kept free, reclaiming the
    /// buffer when every frame split off it is gone.
    pub fn make_room(&mut self) {
        let need = match self.framer.peek_size(&self.buf) {
            Ok(Some(size)) => size,
            _ => 0,
        };
        if need > self.buf.capacity() {
            let mut exact = self
                .reclaim(need)
                .unwrap_or_else(|| BytesMut::with_capacity(need));
            exact.extend_from_slice(&self.buf);
            self.buf = exact;
        } else if need < READ_CHUNK && self.buf.capacity() - self.buf.len() < MIN_ROOM {
            if self.buf.is_empty() && self.last_large.is_some() {
                // Let go of the old allocation first: it may be the large frame's.
                self.buf = BytesMut::new();
                if let Some(free) = self.reclaim(READ_CHUNK) {
                    self.buf = free;
                    return;
                }
            }
            self.buf.reserve(READ_CHUNK);
        }
    }

    /// The last large frame's buffer, emptied, if nothing else holds it any more and it has
    /// room for `need` bytes.
    fn reclaim(&mut self, need: usize) -> Option<BytesMut> {
        let last = self.last_large.take()?;
        match last.try_into_mut() {
            Ok(mut free) if free.capacity() >= need => {
                free.clear();
                Some(free)
            }
            Ok(_) => None,
            Err(shared) => {
                self.last_large = Some(shared);
                None
            }
        }
    }

    /// The buffer to read into.
    pub fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

    use super::*;

    /// A reader handing out at most `step` bytes per read.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = self
                .step
                .min(buf.remaining())
                .min(self.data.len() - self.pos);
            let pos = self.pos;
            buf.put_slice(&self.data[pos..pos + n]);
            self.pos += n;
            Poll::Ready(Ok(()))
        }
    }

    fn frame(size: usize, fill: u8) -> Vec<u8> {
        let mut f = vec![fill; size];
        f[..4].copy_from_slice(&(size as u32).to_le_bytes());
        f
    }

    #[tokio::test]
    async fn a_large_frame_is_read_into_one_exact_buffer() {
        let big = 1 << 20;
        let mut wire = frame(100, 1);
        wire.extend(frame(big, 2));
        wire.extend(frame(11, 3));
        wire.extend(frame(big, 4));
        let mut r = Trickle {
            data: wire.clone(),
            pos: 0,
            step: 60_000,
        };
        let mut ib = InBuf::new(2 << 20);
        let mut frames: Vec<Bytes> = Vec::new();
        // Per large frame: the buffers it was read into (reallocations while reading it).
        let mut buffers_per_big = Vec::new();
        let mut ptrs = std::collections::HashSet::new();
        for _ in 0..1000 {
            while let Some(f) = ib.next_frame().unwrap() {
                if f.len() == big {
                    buffers_per_big.push(ptrs.len());
                }
                ptrs.clear();
                frames.push(f);
            }
            if frames.len() == 4 {
                break;
            }
            ib.make_room();
            ptrs.insert(ib.buf_mut().as_ptr() as usize);
            let n = r.read_buf(ib.buf_mut()).await.unwrap();
            assert!(n > 0, "the reader still had data");
        }
        let lens: Vec<usize> = frames.iter().map(Bytes::len).collect();
        assert_eq!(lens, [100, big, 11, big]);
        assert_eq!(frames.concat(), wire, "the frames are the stream, in order");
        // The first piece of a large frame arrives in the small buffer; then one buffer of the
        // frame's size takes the rest: two buffers at most, never a regrowth per read.
        assert_eq!(buffers_per_big.len(), 2);
        assert!(
            buffers_per_big.iter().all(|&n| n <= 2),
            "{buffers_per_big:?}"
        );
    }

    #[test]
    fn the_last_large_buffer_is_reused_once_released() {
        let big = 200_000;
        let mut ib = InBuf::new(1 << 20);
        let mut first = frame(big, 1);
        ib.buf_mut().extend_from_slice(&first[..1000]);
        ib.make_room();
        let exact = ib.buf_mut().as_ptr();
        assert_eq!(ib.buf_mut().capacity(), big);
        ib.buf_mut().extend_from_slice(&first[1000..]);
        let f1 = ib.next_frame().unwrap().unwrap();
        assert_eq!(f1.as_ptr(), exact);
        // Still held by its request: a new buffer for the next one.
        let second = frame(big, 2);
        ib.make_room();
        ib.buf_mut().extend_from_slice(&second[..1000]);
        ib.make_room();
        assert_ne!(ib.buf_mut().as_ptr(), exact);
        ib.buf_mut().extend_from_slice(&second[1000..]);
        let f2 = ib.next_frame().unwrap().unwrap();
        assert_eq!(&f1[..], &first[..]);
        drop(f1);
        // The first buffer was dropped with its frame; the second is released now and taken
        // back, for small reads as well as for the next large frame.
        let held = f2.as_ptr();
        drop(f2);
        ib.make_room();
        assert_eq!(ib.buf_mut().as_ptr(), held);
        first[5] = 9;
        ib.buf_mut().extend_from_slice(&first);
        let f3 = ib.next_frame().unwrap().unwrap();
        assert_eq!(f3.as_ptr(), held);
        assert_eq!(&f3[..], &first[..], "the reused buffer holds the new frame");
    }

    #[test]
    fn bad_sizes_are_errors() {
        let mut ib = InBuf::new(100_000);
        ib.buf_mut().extend_from_slice(&100_001u32.to_le_bytes());
        let before = ib.buf_mut().capacity();
        assert!(ib.next_frame().is_err());
        ib.make_room();
        assert_eq!(
            ib.buf_mut().capacity(),
            before,
            "nothing reserved for a refused frame"
        );
        let mut ib = InBuf::new(4096);
        ib.buf_mut().extend_from_slice(&3u32.to_le_bytes());
        assert!(ib.next_frame().is_err());
    }
}
