//! Sparse file contents: fixed-size chunks in a map, holes read as zeros.

use std::collections::BTreeMap;

use super::errno::{Errno, FsResult};

/// Bytes per stored chunk.
pub const CHUNK: u64 = 64 * 1024;

/// The largest file size accepted (Linux's `MAX_LFS_FILESIZE`).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// The contents of a regular file.
///
/// Invariant: every stored byte at or beyond `size` is zero, so extending the file (by a write
/// past the end or a truncate upwards) never exposes stale data.
#[derive(Debug, Clone, Default)]
pub struct FileData {
    chunks: BTreeMap<u64, Box<[u8]>>,
    size: u64,
}

impl FileData {
    /// File length.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Number of chunks holding data (for tests: holes allocate nothing).
    #[cfg(test)]
    pub fn allocated_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Reads up to `count` bytes at `offset`, stopping at the end of the file.
    pub fn read(&self, offset: u64, count: u64) -> Vec<u8> {
        if offset >= self.size || count == 0 {
            return Vec::new();
        }
        let end = self.size.min(offset.saturating_add(count));
        let mut out = vec![0u8; (end - offset) as usize];
        for (&idx, chunk) in self.chunks.range(offset / CHUNK..=(end - 1) / CHUNK) {
            let base = idx * CHUNK;
            let from = offset.max(base);
            let to = end.min(base + CHUNK);
            out[(from - offset) as usize..(to - offset) as usize]
                .copy_from_slice(&chunk[(from - base) as usize..(to - base) as usize]);
        }
        out
    }

    /// Writes `data` at `offset`, extending the file as needed.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> FsResult<()> {
        let end = offset.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        if data.is_empty() {
            return Ok(());
        }
        let mut pos = offset;
        while pos < end {
            let idx = pos / CHUNK;
            let base = idx * CHUNK;
            let to = end.min(base + CHUNK);
            let chunk = self
                .chunks
                .entry(idx)
                .or_insert_with(|| vec![0u8; CHUNK as usize].into_boxed_slice());
            chunk[(pos - base) as usize..(to - base) as usize]
                .copy_from_slice(&data[(pos - offset) as usize..(to - offset) as usize]);
            pos = to;
        }
        self.size = self.size.max(end);
        Ok(())
    }

    /// Truncates or extends to `size`.
    pub fn set_len(&mut self, size: u64) -> FsResult<()> {
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        if size < self.size {
            self.zero(size, self.size - size);
        }
        self.size = size;
        Ok(())
    }

    /// Zeroes `len` bytes at `offset` without changing the size (bytes past the end are already
    /// zero); whole chunks are released.
    pub fn zero(&mut self, offset: u64, len: u64) {
        let end = offset.saturating_add(len).min(self.size.max(offset));
        if end <= offset {
            return;
        }
        let idxs: Vec<u64> = self
            .chunks
            .range(offset / CHUNK..=(end - 1) / CHUNK)
            .map(|(i, _)| *i)
            .collect();
        for idx in idxs {
            let base = idx * CHUNK;
            let from = offset.max(base);
            let to = end.min(base + CHUNK);
            if from == base && to == base + CHUNK {
                self.chunks.remove(&idx);
            } else if let Some(chunk) = self.chunks.get_mut(&idx) {
                chunk[(from - base) as usize..(to - base) as usize].fill(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_write_at_one_tebibyte_allocates_one_chunk() {
        let mut f = FileData::default();
        f.write(1 << 40, b"hello").unwrap();
        assert_eq!(f.len(), (1 << 40) + 5);
        assert_eq!(f.allocated_chunks(), 1);
        assert_eq!(f.read(1 << 40, 10), b"hello");
        assert_eq!(f.read(12345, 4), vec![0; 4]);
    }

    #[test]
    fn empty_reads_and_zero_ranges_are_empty() {
        let mut f = FileData::default();
        assert!(f.read(0, 0).is_empty());
        f.write(0, b"abc").unwrap();
        assert!(f.read(1, 0).is_empty());
        assert!(f.read(3, 10).is_empty());
        f.zero(1, 0);
        f.zero(10, 5);
        assert_eq!(f.read(0, 10), b"abc");
    }

    #[test]
    fn overflowing_writes_are_efbig() {
        let mut f = FileData::default();
        assert_eq!(f.write(u64::MAX - 1, b"abc"), Err(Errno::EFBIG));
        assert_eq!(f.write(MAX_FILE_SIZE, b"a"), Err(Errno::EFBIG));
        assert_eq!(f.set_len(u64::MAX), Err(Errno::EFBIG));
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn shrinking_then_growing_reads_zeros() {
        let mut f = FileData::default();
        f.write(0, &[7; 100]).unwrap();
        f.set_len(10).unwrap();
        f.set_len(100).unwrap();
        let back = f.read(0, 100);
        assert_eq!(&back[..10], &[7; 10]);
        assert!(back[10..].iter().all(|&b| b == 0));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write(u64, Vec<u8>),
        SetLen(u64),
        Zero(u64, u64),
    }

    /// Offsets clustered around chunk boundaries, where the bugs would be.
    fn off() -> impl Strategy<Value = u64> + Clone {
        (0u64..5, 0u64..3000).prop_map(|(k, d)| (k * CHUNK).saturating_sub(1500) + d)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (off(), proptest::collection::vec(any::<u8>(), 0..3000))
                .prop_map(|(o, d)| Op::Write(o, d)),
            // Writes spanning whole chunks, with few distinct bytes to keep generation cheap.
            (off(), 1u8..255, 0usize..(2 * CHUNK as usize))
                .prop_map(|(o, b, n)| Op::Write(o, vec![b; n])),
            off().prop_map(Op::SetLen),
            (off(), prop_oneof![0u64..3000, 0u64..(2 * CHUNK)]).prop_map(|(o, l)| Op::Zero(o, l)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn matches_a_vec_model(ops in proptest::collection::vec(op(), 1..25)) {
            let mut f = FileData::default();
            let mut model: Vec<u8> = Vec::new();
            for op in ops {
                match op {
                    Op::Write(o, d) => {
                        f.write(o, &d).unwrap();
                        if d.is_empty() {
                            continue;
                        }
                        let end = o as usize + d.len();
                        if model.len() < end && !d.is_empty() { model.resize(end, 0); }
                        model[o as usize..o as usize + d.len()].copy_from_slice(&d);
                    }
                    Op::SetLen(n) => { f.set_len(n).unwrap(); model.resize(n as usize, 0); }
                    Op::Zero(o, l) => {
                        f.zero(o, l);
                        let end = (o + l).min(model.len() as u64) as usize;
                        if (o as usize) < end { model[o as usize..end].fill(0); }
                    }
                }
                prop_assert_eq!(f.len(), model.len() as u64);
            }
            prop_assert_eq!(f.read(0, u64::MAX), model.clone());
            // Random windows agree too, including past the end.
            for start in [0u64, 1, CHUNK - 1, CHUNK, 3 * CHUNK + 7, model.len() as u64 + 5, (model.len() as u64).saturating_sub(3)] {
                let want: Vec<u8> = model.iter().skip(start as usize).take(1000).copied().collect();
                prop_assert_eq!(f.read(start, 1000), want);
            }
        }
    }
}
