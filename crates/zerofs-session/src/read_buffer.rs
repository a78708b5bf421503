//! [`ReadBuffer`]: the result of a chunked read, assembled in one allocation.

use bytes::{Bytes, BytesMut};

/// A read result being assembled from its chunks, in order.
///
/// A lone chunk is kept as is (no copy). A read of several chunks reserves one buffer for the
/// expected total and carves each chunk's place from it, in order, for the connection to
/// receive the payload straight into (no user-space copy); the places join back in O(1).
/// Chunks that did not get a place are copied in. The data is held once (plus the chunks in
/// flight), not twice.
///
/// ```no_run
/// # async fn demo(session: &zerofs_session::Session, fid: &zerofs_session::Fid)
/// # -> Result<(), zerofs_session::SessionError> {
/// use zerofs_session::ReadBuffer;
///
/// // A file reported at 10 MiB: reserve for all of it, read it in two spans.
/// let mut buf = ReadBuffer::new(10 << 20);
/// session.read_append(fid, 0, 4 << 20, &mut buf).await?;
/// session.read_append(fid, buf.len() as u64, 6 << 20, &mut buf).await?;
/// let data = buf.finish(); // one allocation, no copy
/// # let _ = data; Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct ReadBuffer {
    lone: Option<Bytes>,
    /// What has been joined so far.
    out: BytesMut,
    /// Reserved room not yet carved into places.
    room: BytesMut,
    expect: usize,
}

impl ReadBuffer {
    /// An empty result expected to grow to about `expect` bytes. The reservation is made
    /// when a read of several chunks first appends; an upper bound is fine (pages reserved
    /// but never written are never touched), and one the allocator refuses falls back to
    /// what that read needs.
    pub fn new(expect: usize) -> ReadBuffer {
        ReadBuffer {
            expect,
            ..ReadBuffer::default()
        }
    }

    /// Sets the expected total (e.g. once a file's size is known), if nothing was reserved yet.
    pub fn expect_total(&mut self, expect: usize) {
        self.expect = expect;
    }

    /// Bytes gathered so far.
    pub fn len(&self) -> usize {
        self.lone.as_ref().map_or(self.out.len(), Bytes::len)
    }

    /// Whether nothing was gathered yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reserves room for the expected total (at least what is held plus `need` bytes), once,
    /// and moves a lone part held so far to its front, so every later place joins it without
    /// a copy.
    pub(crate) fn reserve(&mut self, need: usize) {
        if self.room.capacity() > 0 || self.out.capacity() > 0 {
            return;
        }
        let least = self.len().saturating_add(need);
        let mut v: Vec<u8> = Vec::new();
        if v.try_reserve_exact(self.expect.max(least)).is_err()
            && v.try_reserve_exact(least).is_err()
        {
            // No memory even for this read: every chunk is copied into `out`, growing it.
            return;
        }
        // `Vec` → `BytesMut` keeping the reservation (an unadvanced `IntoIter` is collected
        // in place).
        self.room = BytesMut::from_iter(v);
        if let Some(first) = self.lone.take() {
            if let Some(mut head) = self.place(first.len()) {
                head.extend_from_slice(&first);
                self.out = head;
            } else {
                self.out.extend_from_slice(&first);
            }
        }
    }

    /// The place for the next `n` bytes, if room was reserved for them.
    pub(crate) fn place(&mut self, n: usize) -> Option<BytesMut> {
        if self.room.capacity() < n {
            return None;
        }
        let rest = self.room.split_off(n);
        Some(std::mem::replace(&mut self.room, rest))
    }

    /// Appends one part received into its place (or any buffer: one from elsewhere is copied).
    pub(crate) fn push_place(&mut self, part: BytesMut) {
        if let Some(first) = self.lone.take() {
            self.out.extend_from_slice(&first);
        }
        self.out.unsplit(part);
    }

    /// Appends `part`: kept as is while it is the only one, else copied in after what is held.
    pub fn push(&mut self, part: Bytes) {
        if part.is_empty() {
            return;
        }
        if self.lone.is_none() && self.out.is_empty() && self.room.capacity() == 0 {
            self.lone = Some(part);
            return;
        }
        if let Some(first) = self.lone.take() {
            self.out.extend_from_slice(&first);
        }
        // Copied into the reservation when it has room, so what follows stays contiguous.
        match self.place(part.len()) {
            Some(mut p) => {
                p.extend_from_slice(&part);
                self.out.unsplit(p);
            }
            None => self.out.extend_from_slice(&part),
        }
    }

    /// The gathered bytes. A result far below its reservation (a short read) is copied into
    /// an exact-size buffer, giving the rest back.
    pub fn finish(mut self) -> Bytes {
        match self.lone {
            Some(b) => b,
            None => {
                drop(self.room);
                if self.out.len() < self.out.capacity() / 2 {
                    return Bytes::copy_from_slice(&self.out);
                }
                std::mem::take(&mut self.out).freeze()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_join_in_the_one_reservation() {
        let mut g = ReadBuffer::new(300);
        g.reserve(100);
        let a = g.place(100).unwrap();
        let mut b = g.place(150).unwrap();
        let base = a.as_ptr();
        let mut a = a;
        a.extend_from_slice(&[1; 100]);
        b.extend_from_slice(&[2; 150]);
        g.push_place(a);
        g.push_place(b);
        // Room for 50 more; a part without a place is copied after the placed ones.
        assert!(g.place(51).is_none());
        g.push(Bytes::from_static(&[3; 10]));
        assert_eq!(g.len(), 260);
        let out = g.finish();
        assert_eq!(out.as_ptr(), base, "one allocation, no copy");
        assert_eq!(&out[..100], &[1; 100]);
        assert_eq!(&out[100..250], &[2; 150]);
        assert_eq!(&out[250..], &[3; 10]);
    }

    /// A lone first part (read before the size was known) moves into the reservation, so
    /// the result is one allocation of about the expected size, not the reservation plus a
    /// second, growing buffer.
    #[test]
    fn a_lone_first_part_moves_into_the_reservation() {
        let mut g = ReadBuffer::new(1000);
        g.push(Bytes::from(vec![4u8; 100]));
        g.reserve(900);
        let mut p = g.place(900).unwrap();
        let base = p.as_ptr();
        p.extend_from_slice(&[5; 900]);
        g.push_place(p);
        let out = g.finish();
        assert_eq!(out.len(), 1000);
        assert_eq!(out[..100], [4; 100]);
        assert_eq!(out[100..], [5; 900]);
        assert_eq!(
            out.as_ptr().wrapping_add(100),
            base,
            "the lone part sits right before the places: one allocation"
        );
    }

    #[test]
    fn a_lone_part_is_kept_and_an_absurd_size_reserves_only_what_is_needed() {
        let mut g = ReadBuffer::new(0);
        let lone = Bytes::from(vec![7u8; 64]);
        let ptr = lone.as_ptr();
        g.push(lone);
        assert_eq!(g.finish().as_ptr(), ptr);

        let mut g = ReadBuffer::new(usize::MAX);
        g.push(Bytes::from_static(b"head"));
        g.reserve(32);
        let mut p = g.place(32).unwrap();
        p.extend_from_slice(&[9; 32]);
        g.push_place(p);
        let out = g.finish();
        assert_eq!(&out[..4], b"head");
        assert_eq!(&out[4..], &[9; 32]);
    }
}
