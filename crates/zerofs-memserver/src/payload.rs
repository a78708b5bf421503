//! Read data as zero-copy pieces: slices of stored file chunks and of one shared zero buffer.

use std::sync::OnceLock;

use bytes::Bytes;

/// Bytes of the shared zero buffer that holes are served from.
const ZEROS_LEN: usize = 1 << 20;

/// The shared zero buffer, allocated once (zeroed by the allocator: untouched pages cost no
/// memory, read ones map the kernel's zero page) and never written.
fn zeros() -> &'static Bytes {
    static ZEROS: OnceLock<Bytes> = OnceLock::new();
    ZEROS.get_or_init(|| Bytes::from(vec![0u8; ZEROS_LEN]))
}

/// The bytes of a read, as pieces that are never copied on the way to the socket: slices of
/// file chunks (reference-counted, so a later write to the file copies the chunk instead of
/// changing a reply in flight) and slices of a static zero buffer for holes.
#[derive(Debug, Clone, Default)]
pub struct Payload {
    pieces: Vec<Bytes>,
    len: usize,
}

impl Payload {
    /// Total length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces, in order (none of them empty).
    pub fn pieces(&self) -> &[Bytes] {
        &self.pieces
    }

    /// Appends a piece (an empty one is skipped).
    pub fn push(&mut self, piece: Bytes) {
        if !piece.is_empty() {
            self.len += piece.len();
            self.pieces.push(piece);
        }
    }

    /// Appends `n` zero bytes from the shared zero buffer, extending a zero piece at the end
    /// rather than adding one where it can.
    pub fn push_zeros(&mut self, mut n: usize) {
        if n == 0 {
            return;
        }
        let zeros = zeros();
        if let Some(last) = self.pieces.last_mut() {
            if last.as_ptr() == zeros.as_ptr() && last.len() < ZEROS_LEN {
                let grow = n.min(ZEROS_LEN - last.len());
                *last = zeros.slice(..last.len() + grow);
                self.len += grow;
                n -= grow;
            }
        }
        while n > 0 {
            let take = n.min(ZEROS_LEN);
            self.push(zeros.slice(..take));
            n -= take;
        }
    }

    /// The bytes as one `Bytes`: free for zero or one piece, a copy otherwise.
    pub fn into_bytes(mut self) -> Bytes {
        match self.pieces.len() {
            0 => Bytes::new(),
            1 => self.pieces.pop().unwrap_or_default(),
            _ => {
                let mut v = Vec::with_capacity(self.len);
                for p in &self.pieces {
                    v.extend_from_slice(p);
                }
                Bytes::from(v)
            }
        }
    }

    /// The bytes, copied into a `Vec` (for tests).
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for p in &self.pieces {
            v.extend_from_slice(p);
        }
        v
    }

    /// Whether `piece` is a slice of the shared zero buffer.
    #[cfg(test)]
    pub fn is_shared_zeros(piece: &Bytes) -> bool {
        let start = zeros().as_ptr() as usize;
        let p = piece.as_ptr() as usize;
        p >= start && p + piece.len() <= start + ZEROS_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_merge_and_split_at_the_buffer_size() {
        let mut p = Payload::default();
        p.push_zeros(0);
        assert!(p.is_empty() && p.pieces().is_empty());
        p.push_zeros(10);
        p.push_zeros(20);
        assert_eq!(p.pieces().len(), 1, "adjacent zero runs share one piece");
        p.push(Bytes::from_static(b"ab"));
        p.push(Bytes::new());
        p.push_zeros(ZEROS_LEN + 5);
        assert_eq!(p.len(), 32 + ZEROS_LEN + 5);
        assert_eq!(p.pieces().len(), 4);
        assert!(p.pieces().iter().all(|x| !x.is_empty()));
        assert!(Payload::is_shared_zeros(&p.pieces()[2]));
        let v = p.to_vec();
        assert_eq!(&v[30..32], b"ab");
        assert_eq!(v.iter().filter(|&&b| b != 0).count(), 2);
        assert_eq!(p.clone().into_bytes(), Bytes::from(v));
    }

    #[test]
    fn one_piece_becomes_bytes_without_a_copy() {
        let data = Bytes::from(vec![5u8; 100]);
        let mut p = Payload::default();
        p.push(data.slice(10..60));
        let b = p.into_bytes();
        assert_eq!(b.as_ptr(), data[10..].as_ptr());
        assert_eq!(b.len(), 50);
        assert!(Payload::default().into_bytes().is_empty());
    }
}
