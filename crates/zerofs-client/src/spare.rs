//! Chunk buffers reused by the cursor (`io.rs`) and the transfer engine's uploads, so a long
//! stream neither allocates nor page-faults a fresh buffer per chunk.

use bytes::{Bytes, BytesMut};

/// Idle chunk buffers, each empty and able to hold at least the size it was kept for, and
/// sent ones whose request may still hold a handle for a moment after its reply.
pub(crate) struct Spare {
    bufs: Vec<BytesMut>,
    returning: Vec<Bytes>,
    /// Buffers kept at most (idle and returning ones together).
    keep: usize,
}

impl Spare {
    /// No buffers yet; at most `keep` kept at a time.
    pub(crate) fn new(keep: usize) -> Spare {
        Spare {
            bufs: Vec::new(),
            returning: Vec::new(),
            keep,
        }
    }

    /// An empty buffer with room for `cap` bytes: a kept one if one is that large, else new.
    pub(crate) fn take(&mut self, cap: usize) -> BytesMut {
        if self.bufs.is_empty() {
            self.collect(cap);
        }
        while let Some(b) = self.bufs.pop() {
            if b.capacity() >= cap {
                return b;
            }
        }
        BytesMut::with_capacity(cap)
    }

    /// Keeps `b`'s allocation if it is whole again (no other handle shares it) and holds
    /// `cap` bytes; drops it otherwise.
    pub(crate) fn put(&mut self, mut b: BytesMut, cap: usize) {
        b.clear();
        if self.len() < self.keep && b.try_reclaim(cap) {
            self.bufs.push(b);
        }
    }

    /// [`put`](Self::put) for a buffer that was frozen to be sent. The connection may drop
    /// its own handle just after the reply woke the caller: such a buffer waits among the
    /// returning ones until it is the only handle.
    pub(crate) fn put_bytes(&mut self, b: Bytes, cap: usize) {
        match b.try_into_mut() {
            Ok(m) => self.put(m, cap),
            Err(b) if self.len() < self.keep => self.returning.push(b),
            Err(_) => {}
        }
    }

    /// Moves the returning buffers nobody else holds any more to the kept ones.
    fn collect(&mut self, cap: usize) {
        let mut i = 0;
        while i < self.returning.len() {
            if self.returning[i].is_unique() {
                let b = self.returning.swap_remove(i);
                self.put_bytes(b, cap);
            } else {
                i += 1;
            }
        }
    }

    /// Frees every kept buffer.
    pub(crate) fn clear(&mut self) {
        self.bufs = Vec::new();
        self.returning = Vec::new();
    }

    /// How many buffers are kept (returning ones included).
    pub(crate) fn len(&self) -> usize {
        self.bufs.len() + self.returning.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: usize = 10;

    #[test]
    fn a_sent_buffer_comes_back_without_a_new_allocation() {
        let mut s = Spare::new(KEEP);
        let mut b = s.take(1024);
        b.extend_from_slice(&[1; 1024]);
        let at = b.as_ptr();
        let frozen = b.freeze();
        let in_flight = frozen.clone();
        // Still shared by the request: waits among the returning ones.
        s.put_bytes(frozen, 1024);
        assert_eq!((s.bufs.len(), s.returning.len()), (0, 1));
        drop(in_flight);
        let again = s.take(1024);
        assert_eq!(again.as_ptr(), at);
        assert!(again.is_empty() && again.capacity() >= 1024);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn a_consumed_buffer_is_reclaimed_whole_and_small_ones_are_dropped() {
        let mut s = Spare::new(KEEP);
        let mut b = BytesMut::with_capacity(4096);
        b.extend_from_slice(&[2; 4096]);
        let at = b.as_ptr();
        // Delivered to a reader front to back.
        bytes::Buf::advance(&mut b, 4096);
        s.put(b, 4096);
        assert_eq!(s.len(), 1);
        assert_eq!(s.take(4096).as_ptr(), at);
        s.put(BytesMut::with_capacity(100), 4096);
        assert_eq!(s.len(), 0);
        for _ in 0..KEEP + 3 {
            s.put(BytesMut::with_capacity(4096), 4096);
        }
        assert_eq!(s.len(), KEEP);
        s.clear();
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn idle_and_returning_buffers_together_stay_within_the_bound() {
        let mut s = Spare::new(KEEP);
        let mut held = Vec::new();
        // Half still shared by requests in flight, then whole buffers on top.
        for _ in 0..KEEP / 2 {
            let b = BytesMut::with_capacity(4096).freeze();
            held.push(b.clone());
            s.put_bytes(b, 4096);
        }
        for _ in 0..KEEP {
            s.put(BytesMut::with_capacity(4096), 4096);
        }
        assert_eq!(s.len(), KEEP);
        drop(held);
        let _ = s.take(4096);
        assert_eq!(s.len(), KEEP - 1);
    }
}
