//! `AsyncFile` and `File`: an open file with a position, like Python's binary files
//! (`read`/`readinto`/`readline`/`write`/`seek`/`tell`, iteration over lines). Reads go
//! through the Rust `File`'s positioned, pipelined I/O; `readline` keeps a read-ahead buffer.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use zerofs_client::{Client as RClient, File as RFile, OpenOptions, ZeroFsError as RError};

use crate::convert::{Data, Stat, data_arg};
use crate::errors::{to_py, value_error};
use crate::run::{Unit, run};

/// How `open(path, mode)` opens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenMode {
    opts: OpenOptions,
    append: bool,
}

impl OpenMode {
    /// Parses a Python mode string ("r", "wb", "a+", "x", ...).
    pub fn parse(mode: &str, perms: u32) -> PyResult<OpenMode> {
        let plus = mode.contains('+');
        if mode.contains('t') {
            return Err(value_error("text mode is not supported: files are binary"));
        }
        if mode.chars().any(|c| !"rwaxb+".contains(c)) {
            return Err(value_error(format!("invalid mode: {mode:?}")));
        }
        let base = match mode
            .chars()
            .filter(|c| "rwax".contains(*c))
            .collect::<String>()
            .as_str()
        {
            "r" => OpenOptions::read_only(),
            "w" => OpenOptions::write_only().create(true).truncate(true),
            "a" => OpenOptions::write_only().create(true),
            "x" => OpenOptions::write_only().create_new(true),
            _ => return Err(value_error(format!("invalid mode: {mode:?}"))),
        };
        let mut opts = base.mode(perms);
        if plus {
            opts.read = true;
            opts.write = true;
        }
        Ok(OpenMode {
            opts,
            append: mode.contains('a'),
        })
    }
}

/// The state behind a Python file object.
#[derive(Debug)]
pub(crate) struct Opened {
    /// `None` once closed: dropping the Rust handle releases its fid.
    file: Mutex<Option<Arc<RFile>>>,
    readable: bool,
    writable: bool,
    append: bool,
    pos: Mutex<Cursor>,
}

/// The position and the bytes read ahead of it (`buf` holds the file's bytes at
/// `[pos, pos + buf.len())`).
#[derive(Debug, Default)]
struct Cursor {
    pos: u64,
    buf: Bytes,
}

/// How far `readline` reads ahead per round trip.
const LINE_CHUNK: u32 = 64 * 1024;
/// The largest single read request (the engine pipelines it in chunks).
const MAX_READ: u64 = 1 << 30;

impl Opened {
    /// Opens `path` as `m` says; an appending file starts at the end.
    pub async fn open(c: &RClient, path: PathBuf, m: OpenMode) -> Result<Arc<Opened>, RError> {
        let file = c.open(&path, m.opts).await?;
        let pos = if m.append {
            file.metadata().await?.size
        } else {
            0
        };
        Ok(Arc::new(Opened {
            file: Mutex::new(Some(file)),
            readable: m.opts.read,
            writable: m.opts.write,
            append: m.append,
            pos: Mutex::new(Cursor {
                pos,
                buf: Bytes::new(),
            }),
        }))
    }

    fn file(&self) -> Result<Arc<RFile>, RError> {
        self.file
            .lock()
            .expect("file lock")
            .clone()
            .ok_or(RError::Closed)
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, Cursor> {
        self.pos.lock().expect("cursor lock")
    }

    fn close(&self) {
        self.file.lock().expect("file lock").take();
    }

    fn check_read(&self) -> Result<Arc<RFile>, RError> {
        let f = self.file()?;
        if !self.readable {
            return Err(RError::Io {
                errno: 9,
                path: String::new(),
                message: "file not open for reading".into(),
            });
        }
        Ok(f)
    }

    /// Reads up to `size` bytes (`None`: to the end of the file) and advances.
    async fn read(&self, size: Option<u64>) -> Result<Bytes, RError> {
        self.read_parts(size).await.map(concat)
    }

    /// [`read`](Self::read) as the pieces it arrived in (what was buffered by `readline`,
    /// then each positioned read's own buffer), so `readinto` copies each straight into the
    /// caller's buffer without joining them first.
    async fn read_parts(&self, size: Option<u64>) -> Result<Vec<Bytes>, RError> {
        let f = self.check_read()?;
        let (head, at) = {
            let mut c = self.cursor();
            let take = size.map_or(c.buf.len(), |s| (s as usize).min(c.buf.len()));
            let head = c.buf.split_to(take);
            c.pos += take as u64;
            (head, c.pos)
        };
        let want = match size {
            Some(s) => s - head.len() as u64,
            None => f.metadata().await?.size.saturating_sub(at),
        };
        if want == 0 {
            return Ok(vec![head]);
        }
        let mut parts = vec![head];
        let mut off = at;
        let mut left = want;
        while left > 0 {
            let n = left.min(MAX_READ) as u32;
            let got = f.read_at(off, n).await?;
            let len = got.len() as u64;
            parts.push(got);
            off += len;
            left -= len;
            if len < u64::from(n) {
                break;
            }
        }
        {
            let mut c = self.cursor();
            c.pos = off;
            c.buf = Bytes::new();
        }
        Ok(parts)
    }

    /// Reads one line (through `\n`, or to the end of the file; at most `limit` bytes).
    async fn readline(&self, limit: Option<u64>) -> Result<Bytes, RError> {
        let f = self.check_read()?;
        let limit = limit.map(|l| l as usize);
        loop {
            let (at, have) = {
                let mut c = self.cursor();
                let end = c.buf.iter().position(|&b| b == b'\n').map(|i| i + 1);
                let cut = match (end, limit) {
                    (Some(e), Some(l)) => Some(e.min(l)),
                    (Some(e), None) => Some(e),
                    (None, Some(l)) if c.buf.len() >= l => Some(l),
                    _ => None,
                };
                if let Some(n) = cut {
                    let line = c.buf.split_to(n);
                    c.pos += n as u64;
                    return Ok(line);
                }
                (c.pos + c.buf.len() as u64, c.buf.len())
            };
            let more = f.read_at(at, LINE_CHUNK).await?;
            let mut c = self.cursor();
            if more.is_empty() {
                let line = std::mem::take(&mut c.buf);
                c.pos += line.len() as u64;
                return Ok(line);
            }
            if c.buf.len() == have {
                let old = std::mem::take(&mut c.buf);
                c.buf = concat(vec![old, more]);
            }
        }
    }

    fn check_write(&self) -> Result<Arc<RFile>, RError> {
        let f = self.file()?;
        if !self.writable {
            return Err(RError::Io {
                errno: 9,
                path: String::new(),
                message: "file not open for writing".into(),
            });
        }
        Ok(f)
    }

    /// Writes all of `data` at the position (at the end in append mode) and advances.
    async fn write(&self, data: Bytes) -> Result<usize, RError> {
        let f = self.check_write()?;
        let at = {
            let mut c = self.cursor();
            c.buf = Bytes::new();
            c.pos
        };
        let at = if self.append {
            f.metadata().await?.size.max(at)
        } else {
            at
        };
        let n = data.len();
        f.write_at_bytes(at, data).await?;
        self.cursor().pos = at + n as u64;
        Ok(n)
    }

    /// Moves the position (`whence` 0: from the start, 1: from here, 2: from the end).
    async fn seek(&self, offset: i64, whence: u8) -> Result<u64, RError> {
        let f = self.file()?;
        let base = match whence {
            0 => 0,
            1 => self.cursor().pos as i64,
            2 => f.metadata().await?.size as i64,
            _ => {
                return Err(RError::InvalidArgument {
                    message: format!("invalid whence ({whence})"),
                });
            }
        };
        let to = base
            .checked_add(offset)
            .filter(|p| *p >= 0)
            .ok_or_else(|| RError::InvalidArgument {
                message: "negative seek position".into(),
            })? as u64;
        let mut c = self.cursor();
        if to >= c.pos && to - c.pos <= c.buf.len() as u64 {
            let skip = (to - c.pos) as usize;
            let _ = c.buf.split_to(skip);
        } else {
            c.buf = Bytes::new();
        }
        c.pos = to;
        Ok(to)
    }

    async fn truncate(&self, size: Option<u64>) -> Result<u64, RError> {
        let f = self.file()?;
        let size = size.unwrap_or_else(|| self.cursor().pos);
        self.cursor().buf = Bytes::new();
        f.set_len(size).await?;
        Ok(size)
    }
}

/// Joins byte pieces (no copy when there is only one non-empty piece).
fn concat(parts: Vec<Bytes>) -> Bytes {
    let mut nonempty = parts.into_iter().filter(|p| !p.is_empty());
    let Some(first) = nonempty.next() else {
        return Bytes::new();
    };
    let rest: Vec<Bytes> = nonempty.collect();
    if rest.is_empty() {
        return first;
    }
    let mut out = BytesMut::with_capacity(first.len() + rest.iter().map(Bytes::len).sum::<usize>());
    out.extend_from_slice(&first);
    for r in rest {
        out.extend_from_slice(&r);
    }
    out.freeze()
}

/// The caller's buffer of a `readinto`: a writable, C-contiguous `memoryview` of it cast to
/// bytes (checked before anything is read, so a read-only buffer loses no data), and its size.
fn writable_bytes_view(buf: &Bound<'_, PyAny>) -> PyResult<(Py<PyAny>, u64)> {
    let py = buf.py();
    let mv = py
        .import("builtins")?
        .getattr("memoryview")?
        .call1((buf,))?;
    if mv.getattr("readonly")?.extract::<bool>()? {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "readinto() needs a writable buffer",
        ));
    }
    let mv = mv.call_method1("cast", ("B",))?;
    let n = mv.len()? as u64;
    Ok((mv.unbind(), n))
}

/// Pieces read for `readinto`, copied into the caller's buffer (a byte `memoryview` from
/// [`writable_bytes_view`]) once the GIL is held; yields the count.
#[derive(Debug)]
struct Into_ {
    parts: Vec<Bytes>,
    view: Py<PyAny>,
}

impl<'py> IntoPyObject<'py> for Into_ {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let view = self.view.bind(py);
        let mut at = 0usize;
        for part in self.parts.iter().filter(|p| !p.is_empty()) {
            let slice = pyo3::types::PySlice::new(py, at as isize, (at + part.len()) as isize, 1);
            copy_into(view, &slice, part)?;
            at += part.len();
        }
        at.into_pyobject(py)
            .map(|n| n.into_any())
            .map_err(PyErr::from)
    }
}

/// CPython's `PyBUF_READ` flag (a read-only memoryview), part of the stable ABI; pyo3-ffi
/// exports its buffer constants only where the buffer API itself is available (3.11+).
const PYBUF_READ: std::os::raw::c_int = 0x100;

/// `view[slice] = data`, with `data`'s bytes copied once, straight from Rust memory.
///
/// Why this is the one `unsafe` block of the crate: the copy needs `data`'s bytes as a
/// Python buffer. PyO3's safe route to the buffer protocol (`PyBuffer`, and so writing into
/// the caller's memory from Rust, or receiving from the socket straight into it) exists
/// under the stable ABI only from Python 3.11, and these wheels target 3.9 (`abi3-py39`).
/// Without it, safe code must first copy `data` into a Python `bytes` and then copy that
/// into the caller's buffer: two copies. `PyMemoryView_FromMemory` (stable ABI since 3.3)
/// instead wraps `data`'s memory in a read-only memoryview, and memoryview slice
/// assignment copies from it once.
///
/// Safety: the memoryview borrows `data`'s memory without owning it, so it must not be used
/// after `data` is dropped. It is read-only (`PyBUF_READ`: nothing writes through the
/// `*mut` the C signature asks for), lives in this function only, and is `release()`d
/// before returning; `release()` refuses while the view is exported, and in that case a
/// clone of `data` is leaked so its memory stays valid for as long as anything could read
/// it.
#[allow(unsafe_code)]
fn copy_into(view: &Bound<'_, PyAny>, slice: &Bound<'_, PyAny>, data: &Bytes) -> PyResult<()> {
    let py = view.py();
    let len = pyo3::ffi::Py_ssize_t::try_from(data.len())
        .map_err(|_| value_error("read larger than the address space"))?;
    // SAFETY: see above; the pointer and length describe `data`, valid while it lives.
    let src = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            pyo3::ffi::PyMemoryView_FromMemory(data.as_ptr().cast_mut().cast(), len, PYBUF_READ),
        )?
    };
    let copied = view.set_item(slice, &src);
    if src.call_method0("release").is_err() {
        std::mem::forget(data.clone());
    }
    copied
}

/// Converts a file operation's error, naming the file.
fn fail(name: &Py<PyAny>, py: Python<'_>) -> impl Fn(RError) -> PyErr + Send + 'static {
    let n = name.clone_ref(py);
    move |e| to_py(e, Some(Python::attach(|py| n.clone_ref(py))))
}

macro_rules! file_class {
    ($name:ident, $blocking:expr, { $($extra:tt)* }) => {
        #[pymethods]
        impl $name {
            /// Reads up to `size` bytes (`-1`: to the end of the file); `b""` at the end.
            #[pyo3(signature = (size=-1))]
            fn read(&self, py: Python<'_>, size: i64) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                let size = u64::try_from(size).ok();
                run(py, $blocking, async move { o.read(size).await.map(Data).map_err(err) })
            }

            /// Reads into the writable buffer `buf` (bytearray, memoryview, ...); returns the
            /// number of bytes read (0 at the end of the file).
            ///
            /// The bytes are copied once, from the connection's receive buffers straight
            /// into `buf` (see the README on why not zero times under the 3.9 stable ABI).
            fn readinto(&self, py: Python<'_>, buf: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                let (view, n) = writable_bytes_view(buf)?;
                run(py, $blocking, async move {
                    let parts = o.read_parts(Some(n)).await.map_err(err)?;
                    Ok(Into_ { parts, view })
                })
            }

            /// Reads one line, through b"\n" (at most `size` bytes if `size >= 0`).
            #[pyo3(signature = (size=-1))]
            fn readline(&self, py: Python<'_>, size: i64) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                let size = u64::try_from(size).ok();
                run(py, $blocking, async move { o.readline(size).await.map(Data).map_err(err) })
            }

            /// Writes `data` (any buffer); returns the number of bytes written.
            fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                let d = data_arg(data)?;
                run(py, $blocking, async move { o.write(d).await.map_err(err) })
            }

            /// Moves the position: `whence` 0 (os.SEEK_SET), 1 (SEEK_CUR) or 2 (SEEK_END).
            /// Returns the new position.
            #[pyo3(signature = (offset, whence=0))]
            fn seek(&self, py: Python<'_>, offset: i64, whence: u8) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                run(py, $blocking, async move { o.seek(offset, whence).await.map_err(err) })
            }

            /// Reads up to `size` bytes at `offset` without moving the position (one
            /// pipelined positioned read; shorter only at the end of the file).
            fn read_at(&self, py: Python<'_>, offset: u64, size: u32) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                run(py, $blocking, async move {
                    let f = o.check_read().map_err(&err)?;
                    f.read_at(offset, size).await.map(Data).map_err(err)
                })
            }

            /// Writes all of `data` at `offset` without moving the position; returns its
            /// length.
            fn write_at(&self, py: Python<'_>, offset: u64, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                let d = data_arg(data)?;
                run(py, $blocking, async move {
                    let f = o.check_write().map_err(&err)?;
                    let n = d.len();
                    f.write_at_bytes(offset, d).await.map_err(err)?;
                    o.cursor().buf = Bytes::new();
                    Ok(n)
                })
            }

            /// The position.
            fn tell(&self) -> u64 {
                self.inner.cursor().pos
            }

            /// Truncates (or extends) the file to `size` bytes (default: the position).
            #[pyo3(signature = (size=None))]
            fn truncate(&self, py: Python<'_>, size: Option<u64>) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                run(py, $blocking, async move { o.truncate(size).await.map_err(err) })
            }

            /// The file's attributes.
            fn stat(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                run(py, $blocking, async move {
                    let f = o.file().map_err(err)?;
                    f.metadata().await.map(Stat::from).map_err(|e| to_py(e, None))
                })
            }

            /// Makes the file's data and metadata durable on the server.
            fn fsync(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                let (o, err) = (self.inner.clone(), fail(&self.name, py));
                run(py, $blocking, async move {
                    let f = o.file().map_err(err)?;
                    f.sync_all().await.map(Unit::from).map_err(|e| to_py(e, None))
                })
            }

            /// Nothing to flush (writes are not buffered); present for file-like code.
            fn flush(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                run(py, $blocking, async { Ok(Unit) })
            }

            /// Whether the file was opened for reading.
            fn readable(&self) -> bool {
                self.inner.readable
            }

            /// Whether the file was opened for writing.
            fn writable(&self) -> bool {
                self.inner.writable
            }

            /// Always true: every file supports `seek`.
            fn seekable(&self) -> bool {
                true
            }

            /// The path the file was opened by.
            #[getter]
            fn name(&self, py: Python<'_>) -> Py<PyAny> {
                self.name.clone_ref(py)
            }

            /// The mode it was opened with.
            #[getter]
            fn mode(&self) -> &str {
                &self.mode
            }

            /// Whether the file is closed.
            #[getter]
            fn closed(&self) -> bool {
                self.inner.file().is_err()
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                Ok(format!("<zerofs9p.{} name={} mode={:?}>", stringify!($name), self.name.bind(py).repr()?, self.mode))
            }

            $($extra)*
        }

        impl $name {
            pub(crate) fn new(inner: Arc<Opened>, name: Py<PyAny>, mode: String) -> $name {
                $name { inner, name, mode }
            }
        }
    };
}

/// An open file whose I/O methods return awaitables; `async for line in f` iterates lines.
#[pyclass(module = "zerofs9p", frozen)]
#[derive(Debug)]
pub(crate) struct AsyncFile {
    inner: Arc<Opened>,
    name: Py<PyAny>,
    mode: String,
}

file_class!(AsyncFile, false, {
    /// Closes the file (awaitable; immediate, idempotent).
    fn close(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.inner.close();
        run(py, false, async { Ok(Unit) })
    }

    fn __aenter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<PyAny>> {
        run(py, false, async move { Ok(slf) })
    }

    fn __aexit__(
        &self,
        py: Python<'_>,
        _t: Option<Py<PyAny>>,
        _v: Option<Py<PyAny>>,
        _tb: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.close(py)
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (o, err) = (self.inner.clone(), fail(&self.name, py));
        run(py, false, async move {
            let line = o.readline(None).await.map_err(err)?;
            if line.is_empty() {
                return Err(PyStopAsyncIteration::new_err(()));
            }
            Ok(Data(line))
        })
    }
});

/// An open file with blocking I/O methods; `for line in f` iterates lines.
#[pyclass(module = "zerofs9p", frozen)]
#[derive(Debug)]
pub(crate) struct File {
    inner: Arc<Opened>,
    name: Py<PyAny>,
    mode: String,
}

file_class!(File, true, {
    /// Closes the file (immediate, idempotent).
    fn close(&self) {
        self.inner.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, _t: Option<Py<PyAny>>, _v: Option<Py<PyAny>>, _tb: Option<Py<PyAny>>) {
        self.inner.close();
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (o, err) = (self.inner.clone(), fail(&self.name, py));
        run(py, true, async move {
            let line = o.readline(None).await.map_err(err)?;
            if line.is_empty() {
                return Err(PyStopIteration::new_err(()));
            }
            Ok(Data(line))
        })
    }
});
