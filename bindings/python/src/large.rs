//! Large reads returned as `bytes`: the one copy into Python memory, made cheap.
//!
//! `PyBytes::new` on a 256 MiB read is a `malloc` of fresh memory and a `memcpy` that
//! takes a page fault every 4 KiB (65,536 of them) on one thread with the GIL held: on a
//! quiet 2-core machine that copy costs about a third of the time the read itself took.
//! Here the object is allocated uninitialised, its memory is asked to be backed by
//! transparent huge pages (what NumPy does for its large arrays: 512 times fewer faults),
//! and the copy runs on a few threads with the GIL released.

use std::mem::MaybeUninit;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// From this size on, [`to_bytes`] takes the fast path; below it `PyBytes::new` is as fast.
pub(crate) const LARGE: usize = 8 << 20;

/// Each copying thread gets at least this much.
const PER_THREAD: usize = 4 << 20;

/// `data` as a new Python `bytes` (one copy).
pub(crate) fn to_bytes<'py>(py: Python<'py>, data: &Bytes) -> PyResult<Bound<'py, PyBytes>> {
    if data.len() < LARGE {
        return Ok(PyBytes::new(py, data));
    }
    filled(py, data)
}

/// A new `bytes` of `data.len()` bytes, filled from `data` by [`copy_parallel`].
///
/// Safety: `PyBytes_FromStringAndSize(NULL, n)` returns a new object whose `n` bytes
/// (plus the trailing NUL it sets itself) are allocated but uninitialised, and which
/// CPython documents must be filled before the object is used. This function holds the
/// only reference to it; `PyBytes_AsString` gives its buffer, which stays valid while that
/// reference lives (the whole function). The buffer is handed to safe code as
/// `MaybeUninit<u8>` (so nothing reads it before it is written), every byte of it is
/// written by `copy_parallel` (it asserts equal lengths), and only then is the object
/// returned. The GIL is released during the copy: no Python code can reach the object
/// meanwhile, since no reference to it has been given out. `madvise` only advises the
/// kernel about pages inside that buffer.
#[allow(unsafe_code)]
fn filled<'py>(py: Python<'py>, data: &Bytes) -> PyResult<Bound<'py, PyBytes>> {
    let n = pyo3::ffi::Py_ssize_t::try_from(data.len())
        .map_err(|_| pyo3::exceptions::PyMemoryError::new_err("read larger than memory"))?;
    // SAFETY: see above.
    unsafe {
        let obj = Bound::from_owned_ptr_or_err(
            py,
            pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), n),
        )?
        .cast_into_unchecked::<PyBytes>();
        let at = pyo3::ffi::PyBytes_AsString(obj.as_ptr()).cast::<u8>();
        if at.is_null() {
            return Err(PyErr::fetch(py));
        }
        huge_pages(at, data.len());
        let dst = std::slice::from_raw_parts_mut(at.cast::<MaybeUninit<u8>>(), data.len());
        py.detach(|| copy_parallel(dst, data));
        Ok(obj)
    }
}

/// Advises the kernel to back the whole 2 MiB pages inside `len` bytes at `at` with
/// transparent huge pages (a hint: errors, or a kernel without THP, change nothing).
#[allow(unsafe_code)]
fn huge_pages(at: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (at as usize).next_multiple_of(HUGE);
        let end = (at as usize + len) / HUGE * HUGE;
        if end > start {
            // SAFETY: the range lies inside the caller's buffer, and MADV_HUGEPAGE changes
            // how its pages are backed, never their contents.
            let _ = unsafe {
                rustix::mm::madvise(
                    start as *mut std::ffi::c_void,
                    end - start,
                    rustix::mm::Advice::LinuxHugepage,
                )
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (at, len);
}

/// Copies `src` into `dst` (the same length), split over up to four threads.
pub(crate) fn copy_parallel(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    // (`write_copy_of_slice` is newer than the crate's MSRV; this loop compiles to a copy.)
    split_copy(dst, src, |d, s| {
        for (d, s) in d.iter_mut().zip(s) {
            *d = MaybeUninit::new(*s);
        }
    });
}

/// `copy(dst, src)` on matching pieces of both, on as many threads as the size and the
/// cores warrant (at most four; the calling thread copies the first piece).
fn split_copy<D: Send>(dst: &mut [D], src: &[u8], copy: fn(&mut [D], &[u8])) {
    assert_eq!(
        dst.len(),
        src.len(),
        "copy between buffers of different sizes"
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = (src.len() / PER_THREAD).clamp(1, cores.min(4));
    if threads == 1 {
        copy(dst, src);
        return;
    }
    let part = src.len().div_ceil(threads);
    std::thread::scope(|s| {
        let mut pieces = dst.chunks_mut(part).zip(src.chunks(part));
        let first = pieces.next();
        for (d, from) in pieces {
            s.spawn(move || copy(d, from));
        }
        if let Some((d, from)) = first {
            copy(d, from);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_copy_writes_every_byte_in_place() {
        for len in [
            0,
            1,
            PER_THREAD - 1,
            3 * PER_THREAD + 12_345,
            9 * PER_THREAD,
        ] {
            let src: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut dst = vec![0xAA; len];
            split_copy(&mut dst, &src, <[u8]>::copy_from_slice);
            assert!(dst == src, "{len}");
        }
    }
}
