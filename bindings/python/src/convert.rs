//! Python values in and out: paths (`str`, `bytes`, `os.PathLike`), data (any buffer),
//! names (`str` or `bytes`, as the caller's path was), and the `Stat`, `DirEntry` and
//! `StatFs` records.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use bytes::Bytes;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyString};
use zerofs_client::{FileType, Metadata};

/// A path argument: its bytes, whether the caller spoke `bytes` (then names come back as
/// `bytes`, like `os.listdir(b"...")`), and the object itself for `OSError.filename`.
#[derive(Debug)]
pub(crate) struct PathArg {
    pub raw: Vec<u8>,
    pub bytes: bool,
    pub orig: Py<PyAny>,
}

impl PathArg {
    /// The path for the Rust client.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(OsString::from_vec(self.raw.clone()))
    }

    /// The caller's object, for an error's `filename`.
    pub fn filename(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        Some(self.orig.clone_ref(py))
    }
}

/// Reads a path argument: `str` (encoded like `os.fsencode`: UTF-8 with surrogateescape),
/// `bytes`, or an `os.PathLike` returning either.
pub(crate) fn path_arg(obj: &Bound<'_, PyAny>) -> PyResult<PathArg> {
    let orig = obj.clone().unbind();
    let fs = if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        obj.clone()
    } else if obj.hasattr("__fspath__")? {
        obj.call_method0("__fspath__")?
    } else {
        return Err(PyTypeError::new_err(format!(
            "expected str, bytes or os.PathLike, not {}",
            obj.get_type().name()?
        )));
    };
    if let Ok(b) = fs.cast::<PyBytes>() {
        return Ok(PathArg {
            raw: b.as_bytes().to_vec(),
            bytes: true,
            orig,
        });
    }
    let s = fs
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("__fspath__ must return str or bytes"))?;
    let raw = match s.to_cow() {
        Ok(s) => s.as_bytes().to_vec(),
        // Lone surrogates: names that were not UTF-8, decoded by os.fsdecode.
        Err(_) => s
            .call_method1("encode", ("utf-8", "surrogateescape"))?
            .cast_into::<PyBytes>()?
            .as_bytes()
            .to_vec(),
    };
    Ok(PathArg {
        raw,
        bytes: false,
        orig,
    })
}

/// `path`, or "/" when not given.
pub(crate) fn path_or_root(py: Python<'_>, path: Option<&Bound<'_, PyAny>>) -> PyResult<PathArg> {
    match path {
        Some(p) => path_arg(p),
        None => path_arg(PyString::new(py, "/").as_any()),
    }
}

/// Reads a data argument without copying `bytes` (the object is kept alive until the write
/// is done); `bytearray` is copied once, any other buffer (`memoryview`, `array`, numpy...)
/// once through `memoryview(obj).tobytes()`.
pub(crate) fn data_arg(obj: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    if let Ok(b) = obj.extract::<PyBackedBytes>() {
        return Ok(Bytes::from_owner(b));
    }
    let py = obj.py();
    let mv = py
        .import("builtins")?
        .getattr("memoryview")?
        .call1((obj,))?;
    let b = mv.call_method0("tobytes")?.extract::<PyBackedBytes>()?;
    Ok(Bytes::from_owner(b))
}

/// Bytes returned to Python as `bytes` (the one copy into Python memory).
#[derive(Debug)]
pub(crate) struct Data(pub Bytes);

impl<'py> IntoPyObject<'py> for Data {
    type Target = PyBytes;
    type Output = Bound<'py, PyBytes>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        crate::large::to_bytes(py, &self.0)
    }
}

/// A name or path returned to Python: `bytes` if the caller spoke bytes, else `str`
/// decoded like `os.fsdecode` (non-UTF-8 bytes become lone surrogates and round-trip).
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub raw: Vec<u8>,
    pub bytes: bool,
}

impl<'py> IntoPyObject<'py> for Name {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        if self.bytes {
            Ok(PyBytes::new(py, &self.raw).into_any())
        } else {
            Ok(OsStr::from_bytes(&self.raw).into_pyobject(py)?.into_any())
        }
    }
}

/// `dir` joined with `name` ("/" between, none doubled).
pub(crate) fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = dir.to_vec();
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

/// The name of a file type as `Stat.type` and `DirEntry.type` give it.
fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Dir => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharDevice => "char_device",
        FileType::BlockDevice => "block_device",
        FileType::Unknown => "unknown",
    }
}

/// Attributes of a node, named like `os.stat_result` (plus `type`, `st_birthtime` and
/// `data_version`). Times are seconds since the epoch (`*_ns`: integer nanoseconds).
#[pyclass(frozen, module = "zerofs9p", get_all)]
#[derive(Debug, Clone)]
pub(crate) struct Stat {
    st_mode: u32,
    st_ino: u64,
    st_nlink: u64,
    st_uid: u32,
    st_gid: u32,
    st_size: u64,
    st_blksize: u64,
    st_blocks: u64,
    st_rdev: u64,
    st_atime: f64,
    st_mtime: f64,
    st_ctime: f64,
    st_birthtime: f64,
    st_atime_ns: i128,
    st_mtime_ns: i128,
    st_ctime_ns: i128,
    /// "file", "directory", "symlink", "fifo", "socket", "char_device", "block_device".
    r#type: &'static str,
    /// Changes whenever the file's data does (0 where the server does not say).
    data_version: u64,
}

fn ns(t: zerofs_client::Timestamp) -> i128 {
    i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos)
}

impl From<Metadata> for Stat {
    fn from(m: Metadata) -> Stat {
        let secs = |t: zerofs_client::Timestamp| t.secs as f64 + f64::from(t.nanos) / 1e9;
        Stat {
            st_mode: m.mode,
            st_ino: m.ino,
            st_nlink: m.nlink,
            st_uid: m.uid,
            st_gid: m.gid,
            st_size: m.size,
            st_blksize: m.block_size,
            st_blocks: m.blocks,
            st_rdev: m.rdev,
            st_atime: secs(m.atime),
            st_mtime: secs(m.mtime),
            st_ctime: secs(m.ctime),
            st_birthtime: secs(m.btime),
            st_atime_ns: ns(m.atime),
            st_mtime_ns: ns(m.mtime),
            st_ctime_ns: ns(m.ctime),
            r#type: type_name(m.file_type),
            data_version: m.data_version,
        }
    }
}

#[pymethods]
impl Stat {
    /// Whether this is a directory.
    fn is_dir(&self) -> bool {
        self.r#type == "directory"
    }
    /// Whether this is a regular file.
    fn is_file(&self) -> bool {
        self.r#type == "file"
    }
    /// Whether this is a symbolic link.
    fn is_symlink(&self) -> bool {
        self.r#type == "symlink"
    }
    fn __repr__(&self) -> String {
        format!(
            "Stat(type={:?}, st_mode=0o{:o}, st_size={}, st_ino={}, st_mtime={})",
            self.r#type, self.st_mode, self.st_size, self.st_ino, self.st_mtime
        )
    }
}

/// One entry of `scandir`: `name` and `path` (str or bytes, as the directory was given),
/// `type`, `inode()`, `is_dir()`/`is_file()`/`is_symlink()`, and `stat` when the server sent
/// attributes with the listing (ZeroFS dialects; `None` on plain 9P2000.L).
#[pyclass(frozen, module = "zerofs9p", get_all)]
#[derive(Debug)]
pub(crate) struct DirEntry {
    /// The entry's name (str or bytes, as the directory was given).
    name: Py<PyAny>,
    /// The directory's path joined with `name`.
    path: Py<PyAny>,
    /// "file", "directory", "symlink", ... (as `Stat.type`).
    r#type: &'static str,
    /// The inode number.
    ino: u64,
    /// The attributes sent with the listing (ZeroFS dialects), else `None`.
    stat: Option<Py<Stat>>,
}

impl DirEntry {
    /// The Python entry for `e`, listed in `dir`.
    pub fn new(
        py: Python<'_>,
        dir: &[u8],
        bytes: bool,
        e: zerofs_client::DirEntry,
    ) -> PyResult<DirEntry> {
        let path = Name {
            raw: join(dir, &e.name_bytes),
            bytes,
        };
        let name = Name {
            raw: e.name_bytes,
            bytes,
        };
        Ok(DirEntry {
            name: name.into_pyobject(py)?.unbind(),
            path: path.into_pyobject(py)?.unbind(),
            r#type: type_name(e.file_type),
            ino: e.ino,
            stat: e.metadata.map(|m| Py::new(py, Stat::from(m))).transpose()?,
        })
    }
}

#[pymethods]
impl DirEntry {
    /// The inode number.
    fn inode(&self) -> u64 {
        self.ino
    }
    /// Whether the entry is a directory (symlinks are not followed).
    fn is_dir(&self) -> bool {
        self.r#type == "directory"
    }
    /// Whether the entry is a regular file (symlinks are not followed).
    fn is_file(&self) -> bool {
        self.r#type == "file"
    }
    /// Whether the entry is a symbolic link.
    fn is_symlink(&self) -> bool {
        self.r#type == "symlink"
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("<DirEntry {}>", self.name.bind(py).repr()?))
    }
}

/// File system statistics (`statvfs`-like).
#[pyclass(frozen, module = "zerofs9p", get_all)]
#[derive(Debug)]
pub(crate) struct StatFs {
    /// Bytes per block.
    block_size: u32,
    /// Blocks in all.
    blocks: u64,
    /// Free blocks.
    blocks_free: u64,
    /// Free blocks an unprivileged user may use.
    blocks_available: u64,
    /// Inodes in all.
    files: u64,
    /// Free inodes.
    files_free: u64,
    /// The file system's id.
    filesystem_id: u64,
    /// Longest file name.
    max_name_len: u32,
}

impl From<zerofs_client::StatFs> for StatFs {
    fn from(s: zerofs_client::StatFs) -> StatFs {
        StatFs {
            block_size: s.block_size,
            blocks: s.blocks,
            blocks_free: s.blocks_free,
            blocks_available: s.blocks_available,
            files: s.files,
            files_free: s.files_free,
            filesystem_id: s.filesystem_id,
            max_name_len: s.max_name_len,
        }
    }
}
