//! `AsyncClient` and `Client`: every path operation of the Rust `Client`, with Python names.
//! One macro writes both classes; they differ only in how an operation runs (see
//! [`crate::run::run`]) and in their context-manager protocol.

use std::future::Future;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use zerofs_client::{Client as RClient, ConnectOptions, ZeroFsError as RError};

use crate::convert::{Data, Name, PathArg, Stat, StatFs, data_arg, path_arg, path_or_root};
use crate::errors::{Filename, to_py};
use crate::file::{OpenMode, Opened};
use crate::progress::Reporter;
use crate::run::{Unit, run};
use crate::transfer::{self, Direction, Knobs};

/// The connected Rust client, until `close()` drops it (dropping is all closing needs: the
/// connection ends when the last handle goes).
#[derive(Debug, Default)]
pub(crate) struct Shared(Mutex<Option<Arc<RClient>>>);

impl Shared {
    fn new(c: Arc<RClient>) -> Shared {
        Shared(Mutex::new(Some(c)))
    }

    /// The client, or `OSError(EBADF)` once closed.
    fn get(&self) -> PyResult<Arc<RClient>> {
        self.0
            .lock()
            .expect("client lock")
            .clone()
            .ok_or_else(|| to_py(RError::Closed, None))
    }

    fn close(&self) {
        self.0.lock().expect("client lock").take();
    }

    fn is_open(&self) -> bool {
        self.0.lock().expect("client lock").is_some()
    }
}

/// Runs a client operation, turning its error into the Python exception for `filename`.
fn op<T, F>(py: Python<'_>, blocking: bool, filename: Filename, fut: F) -> PyResult<Py<PyAny>>
where
    F: Future<Output = Result<T, RError>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    run(py, blocking, async move {
        fut.await.map_err(|e| to_py(e, filename))
    })
}

/// Connection options from Python keywords; only the fields every version of the Rust
/// client's `ConnectOptions` has are set.
fn options(
    uid: Option<u32>,
    gid: Option<u32>,
    uname: Option<String>,
    aname: Option<String>,
    msize: Option<u32>,
    connect_timeout: Option<f64>,
) -> ConnectOptions {
    // ConnectOptions holds exactly the reference client's six fields (a compatibility promise),
    // so a full literal names them all.
    let d = ConnectOptions::default();
    ConnectOptions {
        uid,
        gid,
        uname,
        aname: aname.unwrap_or(d.aname.clone()),
        msize: msize.unwrap_or(d.msize),
        connect_timeout_ms: connect_timeout
            .map(|t| (t * 1000.0).clamp(1.0, u32::MAX as f64) as u32)
            .or(d.connect_timeout_ms),
    }
}

/// `mkdir` with `os.mkdir`/`os.makedirs` semantics.
async fn mkdir(
    c: &RClient,
    p: &PathArg,
    mode: u32,
    parents: bool,
    exist_ok: bool,
) -> Result<(), RError> {
    let path = p.path();
    if parents {
        if !exist_ok && c.exists(&path).await? {
            return Err(RError::AlreadyExists {
                path: path.display().to_string(),
            });
        }
        return c.create_dir_all(&path, mode).await;
    }
    match c.create_dir(&path, mode).await {
        Ok(_) => Ok(()),
        Err(RError::AlreadyExists { .. }) if exist_ok && c.metadata(&path).await?.is_dir() => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

macro_rules! client_class {
    ($name:ident, $blocking:expr, $file:ident, $scan:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $name {
            /// Connects to a ZeroFS (or any 9P2000.L) server.
            ///
            /// `target`: "host:port", "tcp://host:port", "[v6]:port", a bare host (port
            /// 5564), "unix:/path" or "/path/to.sock"; a comma-separated list is an HA set.
            /// Keywords: `uid`, `gid`, `uname` (identity; default this process's), `aname`
            /// (the export), `msize` (largest message), `connect_timeout` (seconds).
            #[staticmethod]
            #[pyo3(signature = (target, *, uid=None, gid=None, uname=None, aname=None, msize=None, connect_timeout=None))]
            #[allow(clippy::too_many_arguments)]
            fn connect(
                py: Python<'_>,
                target: String,
                uid: Option<u32>,
                gid: Option<u32>,
                uname: Option<String>,
                aname: Option<String>,
                msize: Option<u32>,
                connect_timeout: Option<f64>,
            ) -> PyResult<Py<PyAny>> {
                let o = options(uid, gid, uname, aname, msize, connect_timeout);
                op(py, $blocking, None, async move {
                    let c = RClient::connect_with(&target, o).await?;
                    Ok($name { inner: Shared::new(c) })
                })
            }

            /// Reads the whole file at `path` as `bytes` (pipelined for large files).
            fn read(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move { c.read(p.path()).await.map(Data) })
            }

            /// Reads up to `length` bytes at `offset` (shorter only at end of file).
            fn read_range(&self, py: Python<'_>, path: &Bound<'_, PyAny>, offset: u64, length: u32) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move {
                    c.read_range(p.path(), offset, length).await.map(Data)
                })
            }

            /// Replaces the contents of `path` with `data` (any buffer), creating the file.
            fn write(&self, py: Python<'_>, path: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p, d) = (self.inner.get()?, path_arg(path)?, data_arg(data)?);
                op(py, $blocking, p.filename(py), async move { c.write_bytes(p.path(), d).await.map(Unit::from) })
            }

            /// Appends `data` to `path` (created if missing); returns the offset it landed at.
            fn append(&self, py: Python<'_>, path: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p, d) = (self.inner.get()?, path_arg(path)?, data_arg(data)?);
                op(py, $blocking, p.filename(py), async move { c.append(p.path(), &d).await })
            }

            /// The attributes of `path` (`follow_symlinks=False`: of a symlink itself).
            #[pyo3(signature = (path, *, follow_symlinks=true))]
            fn stat(&self, py: Python<'_>, path: &Bound<'_, PyAny>, follow_symlinks: bool) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move {
                    let m = if follow_symlinks { c.metadata(p.path()).await } else { c.stat(p.path()).await };
                    m.map(Stat::from)
                })
            }

            /// The attributes of `path` without following a final symlink.
            fn lstat(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                self.stat(py, path, false)
            }

            /// Whether `path` exists (a dangling symlink exists).
            fn exists(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move { c.exists(p.path()).await })
            }

            /// Creates a directory. `parents=True` creates missing parents (`os.makedirs`);
            /// `exist_ok=True` accepts an existing directory.
            #[pyo3(signature = (path, mode=0o755, *, parents=false, exist_ok=false))]
            fn mkdir(&self, py: Python<'_>, path: &Bound<'_, PyAny>, mode: u32, parents: bool, exist_ok: bool) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move { mkdir(&c, &p, mode, parents, exist_ok).await.map(Unit::from) })
            }

            /// Removes a file (or symlink, or special node); not a directory.
            fn rm(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move { c.remove_file(p.path()).await.map(Unit::from) })
            }

            /// Removes an empty directory.
            fn rmdir(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move { c.remove_dir(p.path()).await.map(Unit::from) })
            }

            /// Removes a directory and everything under it.
            fn rmtree(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move { c.remove_dir_all(p.path()).await.map(Unit::from) })
            }

            /// Renames `src` to `dst` (replacing a file at `dst`).
            fn rename(&self, py: Python<'_>, src: &Bound<'_, PyAny>, dst: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, s, d) = (self.inner.get()?, path_arg(src)?, path_arg(dst)?);
                op(py, $blocking, s.filename(py), async move { c.rename(s.path(), d.path()).await.map(Unit::from) })
            }

            /// Creates a symlink at `link` pointing to `target`.
            fn symlink(&self, py: Python<'_>, target: &Bound<'_, PyAny>, link: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, t, l) = (self.inner.get()?, path_arg(target)?, path_arg(link)?);
                op(py, $blocking, l.filename(py), async move { c.symlink(t.path(), l.path()).await.map(|_| Unit) })
            }

            /// Creates a hard link at `link` to the file `src`.
            fn link(&self, py: Python<'_>, src: &Bound<'_, PyAny>, link: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, s, l) = (self.inner.get()?, path_arg(src)?, path_arg(link)?);
                op(py, $blocking, l.filename(py), async move { c.hard_link(s.path(), l.path()).await.map(|_| Unit) })
            }

            /// The target of the symlink at `path` (str or bytes, as `path` is).
            fn readlink(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                let bytes = p.bytes;
                op(py, $blocking, p.filename(py), async move {
                    let t = c.read_link(p.path()).await?;
                    Ok(Name { raw: t.into_os_string().into_encoded_bytes(), bytes })
                })
            }

            /// The absolute, symlink-free form of `path`.
            fn realpath(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                let bytes = p.bytes;
                op(py, $blocking, p.filename(py), async move {
                    let t = c.canonicalize(p.path()).await?;
                    Ok(Name { raw: t.into_os_string().into_encoded_bytes(), bytes })
                })
            }

            /// Sets the permission bits of `path`.
            fn chmod(&self, py: Python<'_>, path: &Bound<'_, PyAny>, mode: u32) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move { c.chmod(p.path(), mode).await.map(|_| Unit) })
            }

            /// Truncates or extends the file at `path` to `size` bytes.
            fn truncate(&self, py: Python<'_>, path: &Bound<'_, PyAny>, size: u64) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                op(py, $blocking, p.filename(py), async move { c.truncate(p.path(), size).await.map(|_| Unit) })
            }

            /// The names in the directory `path` (str or bytes, as `path` is), without "."
            /// and "..".
            #[pyo3(signature = (path=None))]
            fn listdir(&self, py: Python<'_>, path: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_or_root(py, path)?);
                let bytes = p.bytes;
                op(py, $blocking, p.filename(py), async move {
                    let entries = c.read_dir(p.path()).await?;
                    Ok(entries.into_iter().map(|e| Name { raw: e.name_bytes, bytes }).collect::<Vec<_>>())
                })
            }

            /// An iterator over the entries of the directory `path` (`DirEntry` objects),
            /// fetched from the server in batches as it is consumed.
            #[pyo3(signature = (path=None))]
            fn scandir(&self, py: Python<'_>, path: Option<&Bound<'_, PyAny>>) -> PyResult<$scan> {
                Ok($scan::new(self.inner.get()?, path_or_root(py, path)?))
            }

            /// Opens the file at `path`: mode "r", "r+", "w", "w+", "a", "a+", "x", "x+"
            /// ("b" is accepted and implied: files are binary). Creating modes use
            /// permission bits `perms`.
            #[pyo3(signature = (path, mode="rb", perms=0o644))]
            fn open(&self, py: Python<'_>, path: &Bound<'_, PyAny>, mode: &str, perms: u32) -> PyResult<Py<PyAny>> {
                let (c, p) = (self.inner.get()?, path_arg(path)?);
                let m = OpenMode::parse(mode, perms)?;
                let name = p.orig.clone_ref(py);
                let mode = mode.to_owned();
                op(py, $blocking, p.filename(py), async move {
                    let opened = Opened::open(&c, p.path(), m).await?;
                    Ok($file::new(opened, name, mode))
                })
            }

            /// Copies the local file (or, with `recursive=True`, directory tree) `local` to
            /// `remote` (the destination path itself, not a directory to copy into) through
            /// the bulk engine: `concurrency` files at once (default 32), each large file
            /// pipelined in `block_size` blocks (default 4 MiB), every file written under a
            /// temporary name and renamed into place (a cancelled upload leaves no partial
            /// file). `keep_modes`/`keep_times` copy permission bits and modification times;
            /// symlinks are recreated as symlinks (`keep_symlinks=False` skips them). The
            /// parent of `remote` must exist. Returns `{"files", "bytes", "dirs"}`; if any
            /// path failed, the rest is still copied and the first failure is raised.
            ///
            /// `progress`: a callable receiving a `TransferProgress` (`files_done`,
            /// `files_total`, `bytes_done`, `bytes_total`, `scan_done`) while the copy runs,
            /// at most once per `progress_interval` seconds (default 0.1; 0: at every
            /// change the copy makes between two calls), and once at the end with the
            /// final counts; never twice with the same counts. `AsyncClient` calls it on
            /// the event loop's thread, `Client` in the calling thread. If it raises, the
            /// copy is cancelled (no partial file is left) and its exception propagates.
            #[pyo3(signature = (local, remote, *, recursive=false, keep_modes=true, keep_times=true, keep_symlinks=true, concurrency=None, block_size=None, progress=None, progress_interval=crate::progress::DEFAULT_INTERVAL))]
            #[allow(clippy::too_many_arguments)]
            fn upload(&self, py: Python<'_>, local: &Bound<'_, PyAny>, remote: &Bound<'_, PyAny>, recursive: bool, keep_modes: bool, keep_times: bool, keep_symlinks: bool, concurrency: Option<usize>, block_size: Option<usize>, progress: Option<Py<PyAny>>, progress_interval: f64) -> PyResult<Py<PyAny>> {
                let (c, l, r) = (self.inner.get()?, path_arg(local)?, path_arg(remote)?);
                let k = Knobs { recursive, keep_modes, keep_times, keep_symlinks, concurrency, block_size };
                let p = Reporter::new(py, progress, progress_interval, $blocking)?;
                run(py, $blocking, transfer::copy(c, Direction::Up, l, r, k, p))
            }

            /// Copies the server file (or, with `recursive=True`, directory tree) `remote` to
            /// the local path `local` (the destination itself): the reverse of `upload`, with
            /// the same engine, keywords (`progress` included) and result.
            #[pyo3(signature = (remote, local, *, recursive=false, keep_modes=true, keep_times=true, keep_symlinks=true, concurrency=None, block_size=None, progress=None, progress_interval=crate::progress::DEFAULT_INTERVAL))]
            #[allow(clippy::too_many_arguments)]
            fn download(&self, py: Python<'_>, remote: &Bound<'_, PyAny>, local: &Bound<'_, PyAny>, recursive: bool, keep_modes: bool, keep_times: bool, keep_symlinks: bool, concurrency: Option<usize>, block_size: Option<usize>, progress: Option<Py<PyAny>>, progress_interval: f64) -> PyResult<Py<PyAny>> {
                let (c, r, l) = (self.inner.get()?, path_arg(remote)?, path_arg(local)?);
                let k = Knobs { recursive, keep_modes, keep_times, keep_symlinks, concurrency, block_size };
                let p = Reporter::new(py, progress, progress_interval, $blocking)?;
                run(py, $blocking, transfer::copy(c, Direction::Down, r, l, k, p))
            }

            /// File system statistics.
            fn statfs(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                let c = self.inner.get()?;
                op(py, $blocking, None, async move { c.statfs().await.map(StatFs::from) })
            }

            /// Asks the server to make everything written so far durable.
            fn sync(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                let c = self.inner.get()?;
                op(py, $blocking, None, async move { c.sync().await.map(Unit::from) })
            }

            /// What the connection negotiated: a dict with `msize`, `max_read_chunk`,
            /// `max_write_chunk`, `extensions_v1`, `extensions_v2`.
            #[getter]
            fn capabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                let caps = self.inner.get()?.capabilities();
                let d = pyo3::types::PyDict::new(py);
                d.set_item("msize", caps.msize)?;
                d.set_item("max_read_chunk", caps.max_read_chunk)?;
                d.set_item("max_write_chunk", caps.max_write_chunk)?;
                d.set_item("extensions_v1", caps.extensions_v1)?;
                d.set_item("extensions_v2", caps.extensions_v2)?;
                Ok(d)
            }

            /// Whether the client is open and connected right now (while it reconnects,
            /// calls wait instead of failing).
            #[getter]
            fn connected(&self) -> bool {
                self.inner.get().is_ok_and(|c| c.is_connected())
            }

            /// Whether `close()` was called.
            #[getter]
            fn closed(&self) -> bool {
                !self.inner.is_open()
            }

            /// Bytes and requests exchanged so far: `(bytes_sent, bytes_received, operations)`.
            fn traffic_stats(&self) -> PyResult<(u64, u64, u64)> {
                let t = self.inner.get()?.traffic_stats();
                Ok((t.bytes_sent, t.bytes_received, t.operations))
            }

            /// Fids the connection holds (root, open handles, in flight): for leak tests.
            fn _outstanding_fids(&self) -> PyResult<usize> {
                Ok(self.inner.get()?.outstanding_fids())
            }

            fn __repr__(&self) -> String {
                format!("<zerofs9p.{} {}>", stringify!($name), if self.inner.is_open() { "open" } else { "closed" })
            }

            $($extra)*
        }
    };
}

/// An asyncio client: every operation is a coroutine-like awaitable.
///
/// ```python
/// async with await AsyncClient.connect("127.0.0.1:5564") as c:
///     await c.write("/hello.txt", b"hi")
///     assert await c.read("/hello.txt") == b"hi"
/// ```
#[pyclass(module = "zerofs9p", frozen)]
#[derive(Debug)]
pub(crate) struct AsyncClient {
    inner: Shared,
}

client_class!(AsyncClient, false, AsyncFile, AsyncScandir, {
    /// A blocking `Client` on the same connection (closing one does not close the other).
    fn to_blocking(&self) -> PyResult<Client> {
        Ok(Client {
            inner: Shared::new(self.inner.get()?),
        })
    }

    /// Closes the client (awaitable; immediate). Later calls raise `OSError(EBADF)`; open
    /// files keep working until closed.
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
});

/// A blocking client for scripts and notebooks; calls release the GIL and run on the same
/// runtime thread pool as `AsyncClient`.
#[pyclass(module = "zerofs9p", frozen)]
#[derive(Debug)]
pub(crate) struct Client {
    inner: Shared,
}

client_class!(Client, true, File, Scandir, {
    /// An `AsyncClient` on the same connection (closing one does not close the other).
    fn to_async(&self) -> PyResult<AsyncClient> {
        Ok(AsyncClient {
            inner: Shared::new(self.inner.get()?),
        })
    }

    /// Closes the client (immediate). Later calls raise `OSError(EBADF)`.
    fn close(&self) {
        self.inner.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, _t: Option<Py<PyAny>>, _v: Option<Py<PyAny>>, _tb: Option<Py<PyAny>>) {
        self.inner.close();
    }
});

use crate::file::{AsyncFile, File};
use crate::listing::{AsyncScandir, Scandir};
