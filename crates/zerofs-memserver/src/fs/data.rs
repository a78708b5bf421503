//! Sparse file contents: fixed-size chunks in a map, holes read as zeros.
//!
//! A chunk is a reference-counted [`Bytes`] holding the first `len <= CHUNK` bytes of its
//! 64 KiB range; the rest of the range, and every range without a chunk, reads as zeros.
//! Reads hand out slices of the chunks themselves (see [`Payload`]); a write mutates a chunk in
//! place when nothing else holds it and copies it first otherwise (copy-on-write), so a reply
//! still being sent keeps the bytes it was given.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use super::errno::{Errno, FsResult};
use crate::payload::Payload;

/// Bytes per stored chunk.
pub const CHUNK: u64 = 64 * 1024;

/// The largest file size accepted (Linux's `MAX_LFS_FILESIZE`).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// The contents of a regular file.
///
/// Invariant (the sparse invariant): no chunk stores a byte at or beyond `size`, and no chunk
/// is empty. Truncation drops or shortens the chunks past the new end and punching a hole
/// drops, shortens or zeroes them, so extending the file (by a write past the end or a
/// truncate upwards) exposes only zeros and never stale data.
#[derive(Debug, Clone, Default)]
pub struct FileData {
    chunks: BTreeMap<u64, Bytes>,
    size: u64,
}

/// A chunk made writable: in place when `chunk` is the only handle to its buffer, else a copy
/// of its bytes (with room for the whole chunk).
fn make_mut(chunk: Bytes) -> BytesMut {
    chunk.try_into_mut().unwrap_or_else(|shared| {
        let mut m = BytesMut::with_capacity(CHUNK as usize);
        m.extend_from_slice(&shared);
        m
    })
}

/// Writes `data` at `at` into a chunk whose stored bytes are `m`, zero-filling any gap between
/// the stored end and `at`.
fn put(m: &mut BytesMut, at: usize, data: &[u8]) {
    if m.len() < at {
        m.resize(at, 0);
    }
    let overlap = (m.len() - at).min(data.len());
    m[at..at + overlap].copy_from_slice(&data[..overlap]);
    m.extend_from_slice(&data[overlap..]);
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

    /// The stored chunk `idx`, if any (for tests).
    #[cfg(test)]
    pub fn chunk(&self, idx: u64) -> Option<&Bytes> {
        self.chunks.get(&idx)
    }

    /// Reads up to `count` bytes at `offset`, stopping at the end of the file, without copying:
    /// the pieces are slices of the stored chunks and of a shared zero buffer for holes.
    pub fn read(&self, offset: u64, count: u64) -> Payload {
        let mut out = Payload::default();
        if offset >= self.size || count == 0 {
            return out;
        }
        let end = self.size.min(offset.saturating_add(count));
        let mut pos = offset;
        for (&idx, chunk) in self.chunks.range(offset / CHUNK..=(end - 1) / CHUNK) {
            let base = idx * CHUNK;
            let from = pos.max(base);
            out.push_zeros((from - pos) as usize);
            let stored_end = end.min(base + chunk.len() as u64);
            if from < stored_end {
                out.push(chunk.slice((from - base) as usize..(stored_end - base) as usize));
                pos = stored_end;
            } else {
                pos = from;
            }
        }
        out.push_zeros((end - pos) as usize);
        out
    }

    /// Writes `data` at `offset`, extending the file as needed. The bytes are copied once into
    /// the chunks; a chunk written whole is filled straight from `data`, never zeroed first.
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
            let at = (pos - base) as usize;
            let part = &data[(pos - offset) as usize..(to - offset) as usize];
            let chunk = self.chunks.entry(idx).or_default();
            let old = std::mem::take(chunk);
            let mut m = if at == 0 && part.len() >= old.len() {
                // Every stored byte is overwritten: reuse the buffer if unshared, else start
                // afresh (no copy of bytes about to be replaced).
                match old.try_into_mut() {
                    Ok(mut m) => {
                        m.clear();
                        m
                    }
                    Err(_) => BytesMut::with_capacity(part.len()),
                }
            } else {
                make_mut(old)
            };
            put(&mut m, at, part);
            *chunk = m.freeze();
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
            // Chunks starting at or past the new end go; the one holding it is shortened.
            drop(self.chunks.split_off(&size.div_ceil(CHUNK)));
            let idx = size / CHUNK;
            let keep = (size - idx * CHUNK) as usize;
            // `keep > 0` here: a chunk starting exactly at `size` went with the split.
            if let Some(chunk) = self.chunks.get_mut(&idx) {
                chunk.truncate(keep);
            }
        }
        self.size = size;
        Ok(())
    }

    /// Zeroes `len` bytes at `offset` without changing the size (bytes past the end are already
    /// zero): chunks wholly inside are released, chunks whose stored tail is inside are
    /// shortened, others have the range zeroed (copy-on-write).
    pub fn zero(&mut self, offset: u64, len: u64) {
        let end = offset.saturating_add(len).min(self.size);
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
            let from = (offset.max(base) - base) as usize;
            let to = (end.min(base + CHUNK) - base) as usize;
            let Some(chunk) = self.chunks.get_mut(&idx) else {
                continue;
            };
            if from >= chunk.len() {
                continue;
            }
            if to >= chunk.len() {
                if from == 0 {
                    self.chunks.remove(&idx);
                } else {
                    chunk.truncate(from);
                }
            } else {
                let mut m = make_mut(std::mem::take(chunk));
                m[from..to].fill(0);
                *chunk = m.freeze();
            }
        }
    }
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
