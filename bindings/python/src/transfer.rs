//! `upload` and `download`: files and whole trees between the local file system and the
//! server through the bulk engine of `zerofs_client::transfer` (the one the CLI's `cp` uses):
//! many files at once, each large file pipelined, every file written under a temporary name
//! and renamed into place, bounded memory whatever the tree size.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use zerofs_client::Client as RClient;
use zerofs_client::ZeroFsError as RError;
use zerofs_client::transfer::{Endpoint, Transfer, TransferError, TransferOptions};

use crate::convert::PathArg;
use crate::errors::to_py;
use crate::progress::Reporter;

/// Which way the bytes go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    /// Local path to server path.
    Up,
    /// Server path to local path.
    Down,
}

/// The engine's knobs a Python caller may set (the rest keep the CLI's defaults).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Knobs {
    pub recursive: bool,
    pub keep_modes: bool,
    pub keep_times: bool,
    pub keep_symlinks: bool,
    pub concurrency: Option<usize>,
    pub block_size: Option<usize>,
}

/// How long a copy stopped by its progress callable waits for its temporary files on the
/// server to be removed before it raises (a silent server must not hang the call).
const SETTLE: Duration = Duration::from_secs(10);

/// Runs one copy from `src` to `dst` (the destination path itself, not a directory to copy
/// into) and returns its counts as a dict (`files`, `bytes`, `dirs`). A failure of any path
/// fails the call: the first one is raised as an `OSError` with its errno and path (the
/// message says how many failed), after the rest of the tree was copied.
///
/// With a `progress` reporter, the copy's counts go to its callable while it runs and once
/// when it ends; if the callable raises, the copy is cancelled and that exception returned.
pub(crate) async fn copy(
    c: Arc<RClient>,
    dir: Direction,
    src: PathArg,
    dst: PathArg,
    k: Knobs,
    progress: Option<Reporter>,
) -> PyResult<HashMap<&'static str, u64>> {
    let d = TransferOptions::default();
    let engine = Transfer::new(TransferOptions {
        recursive: k.recursive,
        keep_modes: k.keep_modes,
        keep_times: k.keep_times,
        keep_symlinks: k.keep_symlinks,
        concurrency: k.concurrency.unwrap_or(d.concurrency),
        block_size: k.block_size.unwrap_or(d.block_size),
        ..d
    });
    let (from, to) = match dir {
        Direction::Up => (
            Endpoint::local(src.path()),
            Endpoint::remote(&c, dst.path()),
        ),
        Direction::Down => (
            Endpoint::remote(&c, src.path()),
            Endpoint::local(dst.path()),
        ),
    };
    let report = match progress {
        None => engine.copy(from, to).await,
        Some(mut r) => {
            let rx = engine.progress();
            match r.drive(engine.copy(from, to), rx.clone()).await {
                Ok(out) => {
                    if out.is_ok() {
                        let last = *rx.borrow();
                        r.report(last).await?;
                    }
                    out
                }
                Err(err) => {
                    // The copy's future is dropped: wait (bounded) for its temporaries to go.
                    let _ = tokio::time::timeout(SETTLE, engine.settle()).await;
                    return Err(err);
                }
            }
        }
    };
    let report = report.map_err(|e| to_os_error(e, 0))?;
    if let Some(first) = report.failures.into_iter().next() {
        return Err(to_os_error(first, report.failed.saturating_sub(1)));
    }
    Ok(HashMap::from([
        ("files", report.files),
        ("bytes", report.bytes),
        ("dirs", report.dirs),
    ]))
}

/// The Python exception for a transfer failure: a server error maps as every other call's
/// does; a local one by its OS errno (or, for errors the engine makes itself, by its kind).
/// `more` other paths also failed.
fn to_os_error(e: TransferError, more: u64) -> PyErr {
    let path = e.path.strip_prefix(':').unwrap_or(&e.path).to_owned();
    let suffix = if more > 0 {
        format!(" (and {more} more paths failed)")
    } else {
        String::new()
    };
    let kind = e.error.kind();
    let raw = e.error.raw_os_error();
    let message = e.error.to_string();
    if let Some(inner) = e.error.into_inner()
        && let Ok(z) = inner.downcast::<RError>()
    {
        return match *z {
            // The package's own exception classes, as every other call raises them.
            z @ (RError::NotLeader { .. }
            | RError::Stale { .. }
            | RError::ConnectFailed { .. }
            | RError::Protocol { .. }) => to_py(z, None),
            z => PyOSError::new_err((z.to_errno(), format!("{z}{suffix}"), path)),
        };
    }
    Python::attach(|py| {
        let errno = match raw {
            Some(n) => {
                let Ok(n) = n.into_pyobject(py);
                Ok(n.into_any())
            }
            None => py.import("errno").and_then(|m| m.getattr(errno_name(kind))),
        };
        match errno {
            Ok(n) => PyOSError::new_err((n.unbind(), format!("{message}{suffix}"), path)),
            Err(e) => e,
        }
    })
}

/// The `errno` module's name for an error the engine made from a kind.
fn errno_name(kind: io::ErrorKind) -> &'static str {
    use io::ErrorKind as K;
    match kind {
        K::NotFound => "ENOENT",
        K::PermissionDenied => "EACCES",
        K::AlreadyExists => "EEXIST",
        K::IsADirectory => "EISDIR",
        K::NotADirectory => "ENOTDIR",
        K::DirectoryNotEmpty => "ENOTEMPTY",
        K::InvalidInput | K::InvalidData => "EINVAL",
        K::Unsupported => "EOPNOTSUPP",
        K::StorageFull => "ENOSPC",
        _ => "EIO",
    }
}
