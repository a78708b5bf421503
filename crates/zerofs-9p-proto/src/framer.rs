//! Stream framing: split a byte stream into complete frames, refusing bad sizes up front.

use bytes::{Bytes, BytesMut};

use crate::consts::{HEADER_LEN, MAX_MSIZE};
use crate::error::{Error, Result};

/// Splits a byte stream into frames.
///
/// It reads each frame's `size[4]` as soon as four bytes are there and refuses a size below
/// 7 or above [`max_size`](FrameDecoder::max_size) *before* buffering the frame, so a peer
/// cannot make the reader allocate what it announces. Complete frames are split off the buffer
/// without copying.
///
/// ```
/// use bytes::BytesMut;
/// use zerofs_9p_proto::{Dialect, Frame, FrameDecoder, Message};
///
/// let mut decoder = FrameDecoder::new(8192);
/// let mut stream = BytesMut::from(&[7u8, 0, 0, 0, 121, 5, 0, 7, 0][..]);
/// let frame = decoder.decode(&mut stream)?.expect("one whole frame");
/// assert_eq!(Frame::decode(frame, Dialect::Plain)?.message, Message::Rclunk);
/// assert_eq!(decoder.decode(&mut stream)?, None); // two bytes of the next frame so far
/// # Ok::<(), zerofs_9p_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_size: u32,
}

impl Default for FrameDecoder {
    /// A decoder accepting frames up to [`MAX_MSIZE`] (10 MiB), the largest any ZeroFS server
    /// grants.
    fn default() -> Self {
        FrameDecoder::new(MAX_MSIZE)
    }
}

impl FrameDecoder {
    /// A decoder that refuses frames larger than `max_size` bytes (typically the msize).
    pub const fn new(max_size: u32) -> Self {
        FrameDecoder { max_size }
    }

    /// The largest frame accepted.
    pub const fn max_size(&self) -> u32 {
        self.max_size
    }

    /// Changes the largest frame accepted (e.g. after version negotiation).
    pub fn set_max_size(&mut self, max_size: u32) {
        self.max_size = max_size;
    }

    /// Checks a frame's declared size.
    pub fn check_size(&self, size: u32) -> Result<()> {
        if size < HEADER_LEN as u32 {
            Err(Error::FrameTooSmall { size })
        } else if size > self.max_size {
            Err(Error::FrameTooLarge {
                size,
                max: self.max_size,
            })
        } else {
            Ok(())
        }
    }

    /// The size of the frame at the front of `buf`, once its size field has arrived and passed
    /// the limits.
    pub fn peek_size(&self, buf: &[u8]) -> Result<Option<usize>> {
        let Some(raw) = buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let size = u32::from_le_bytes(*raw);
        self.check_size(size)?;
        Ok(Some(size as usize))
    }

    /// Splits the next complete frame off the front of `buf`.
    ///
    /// Returns `Ok(None)` while the frame is incomplete, after reserving room for the rest of
    /// it (only once its size has been checked). An error leaves `buf` untouched; the stream
    /// cannot be resynchronised after one, so the connection should be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>> {
        let Some(size) = self.peek_size(buf)? else {
            return Ok(None);
        };
        if buf.len() < size {
            buf.reserve(size - buf.len());
            return Ok(None);
        }
        Ok(Some(buf.split_to(size).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_oversized_frames_before_buffering() {
        let mut d = FrameDecoder::new(4096);
        let mut buf = BytesMut::from(&(4097u32).to_le_bytes()[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(Error::FrameTooLarge {
                size: 4097,
                max: 4096
            })
        );
        assert!(
            buf.capacity() < 4096,
            "nothing was reserved for the bad frame"
        );
    }

    #[test]
    fn refuses_undersized_frames() {
        let mut d = FrameDecoder::default();
        let mut buf = BytesMut::from(&6u32.to_le_bytes()[..]);
        assert_eq!(d.decode(&mut buf), Err(Error::FrameTooSmall { size: 6 }));
    }

    #[test]
    fn waits_for_the_whole_frame_and_splits_back_to_back_frames() {
        let mut d = FrameDecoder::default();
        let one = [8u8, 0, 0, 0, 1, 2, 3, 4];
        let mut buf = BytesMut::new();
        for (i, b) in one.iter().enumerate() {
            assert_eq!(d.decode(&mut buf).unwrap(), None, "after {i} bytes");
            buf.extend_from_slice(&[*b]);
        }
        buf.extend_from_slice(&one);
        assert_eq!(&d.decode(&mut buf).unwrap().unwrap()[..], &one);
        assert_eq!(&d.decode(&mut buf).unwrap().unwrap()[..], &one);
        assert!(buf.is_empty());
    }
}
