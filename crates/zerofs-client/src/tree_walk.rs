//! [`Walk`]: a recursive listing as a `Stream` (feature `stream`), on the tree walker that
//! `remove_dir_all` uses.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures_core::Stream;
use zerofs_session::Fid;

use crate::ctx::Ctx;
use crate::error::ZeroFsError;
use crate::path::ValidPath;
use crate::records::{DirEntry, FileType};

/// One entry found by [`Client::walk`](crate::Client::walk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkEntry {
    /// The entry's path: the walked path joined with every name below it (bytes kept exact).
    pub path: PathBuf,
    /// How far below the walked directory: 1 for its own entries, 2 for theirs, and so on.
    pub depth: usize,
    /// The entry as its directory listed it (with metadata on ZeroFS dialects).
    pub entry: DirEntry,
}

/// One directory being walked: its fid, its path and the entries not yet yielded.
struct Frame {
    dir: Fid,
    path: PathBuf,
    depth: usize,
    pending: VecDeque<DirEntry>,
}

/// The walk's state between items.
struct State {
    cx: Arc<Ctx>,
    /// The walked directory first (not yet listed), then the directories being yielded.
    start: Option<(ValidPath, PathBuf)>,
    stack: Vec<Frame>,
}

/// A recursive, depth-first, pre-order listing of a directory tree (each directory's entries
/// in server order; a directory is yielded before what it contains). Symlinks are yielded,
/// never followed. Each directory is listed whole when reached, with one listing fid that is
/// released at once; the directories on the current branch stay held. An error is yielded
/// once and ends the stream.
pub struct Walk {
    inner: BoxStream<'static, Result<WalkEntry, ZeroFsError>>,
}

impl fmt::Debug for Walk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Walk").finish_non_exhaustive()
    }
}

impl Walk {
    pub(crate) fn new(cx: Arc<Ctx>, path: ValidPath, shown: PathBuf) -> Walk {
        let state = State {
            cx,
            start: Some((path, shown)),
            stack: Vec::new(),
        };
        let inner = futures::stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            match state.next().await {
                Ok(Some(item)) => Some((Ok(item), Some(state))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        Walk {
            inner: Box::pin(inner),
        }
    }
}

impl State {
    async fn next(&mut self) -> Result<Option<WalkEntry>, ZeroFsError> {
        if let Some((p, shown)) = self.start.take() {
            let (dir, entries) = self
                .cx
                .list_dir(self.cx.session.root(), &p.components, &p.display)
                .await?;
            self.stack.push(Frame {
                dir,
                path: shown,
                depth: 1,
                pending: entries.into(),
            });
        }
        while let Some(top) = self.stack.last_mut() {
            let Some(entry) = top.pending.pop_front() else {
                self.stack.pop();
                continue;
            };
            let path = top.path.join(OsStr::from_bytes(&entry.name_bytes));
            let depth = top.depth;
            if entry.file_type == FileType::Dir {
                let name = Bytes::copy_from_slice(&entry.name_bytes);
                let shown = path.to_string_lossy();
                let (dir, entries) = self
                    .cx
                    .list_dir(&top.dir, std::slice::from_ref(&name), &shown)
                    .await?;
                self.stack.push(Frame {
                    dir,
                    path: path.clone(),
                    depth: depth + 1,
                    pending: entries.into(),
                });
            }
            return Ok(Some(WalkEntry { path, depth, entry }));
        }
        Ok(None)
    }
}

impl Stream for Walk {
    type Item = Result<WalkEntry, ZeroFsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
