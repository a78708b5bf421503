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
///
/// `#[non_exhaustive]`: only walks make these, so a field added later (as `last` was) breaks
/// no program.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalkEntry {
    /// The entry's path: the walked path joined with every name below it (bytes kept exact).
    pub path: PathBuf,
    /// How far below the walked directory: 1 for its own entries, 2 for theirs, and so on.
    pub depth: usize,
    /// The entry as its directory listed it (with metadata on ZeroFS dialects).
    pub entry: DirEntry,
    /// Whether this is the last entry its directory yields (after the
    /// [`filter`](WalkOptions::filter)): what a `tree` drawing needs to know.
    pub last: bool,
}

/// Which entries keep a walk from listing a directory or yielding an entry.
type Filter = Arc<dyn Fn(&DirEntry) -> bool + Send + Sync>;

/// How [`Client::walk_with`](crate::Client::walk_with) walks; the default is
/// [`Client::walk`](crate::Client::walk)'s (server order, pre-order, no depth limit,
/// stop at the first error).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
/// # let client = zerofs_client::Client::connect(&server.target()).await?;
/// use futures::TryStreamExt;
/// use zerofs_client::WalkOptions;
///
/// client.create_dir_all("/w/b/deep", 0o755).await?;
/// client.write("/w/a", "x").await?;
/// client.write("/w/.hidden", "x").await?;
/// let opts = WalkOptions::new()
///     .sorted(true)
///     .max_depth(Some(2))
///     .filter(|e| !e.name_bytes.starts_with(b"."));
/// let found: Vec<String> = client
///     .walk_with("/w", opts)?
///     .map_ok(|e| e.path.display().to_string())
///     .try_collect()
///     .await?;
/// assert_eq!(found, ["/w/a", "/w/b", "/w/b/deep"]);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct WalkOptions {
    sorted: bool,
    max_depth: Option<usize>,
    keep_going: bool,
    contents_first: bool,
    filter: Option<Filter>,
}

impl fmt::Debug for WalkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalkOptions")
            .field("sorted", &self.sorted)
            .field("max_depth", &self.max_depth)
            .field("keep_going", &self.keep_going)
            .field("contents_first", &self.contents_first)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl WalkOptions {
    /// The defaults: as [`Client::walk`](crate::Client::walk).
    pub fn new() -> WalkOptions {
        WalkOptions::default()
    }

    /// Each directory's entries in the byte order of their names (else server order).
    pub fn sorted(mut self, yes: bool) -> WalkOptions {
        self.sorted = yes;
        self
    }

    /// Entries at most this deep are yielded (1: the directory's own entries); deeper
    /// directories are not listed. `None`: no limit.
    pub fn max_depth(mut self, depth: Option<usize>) -> WalkOptions {
        self.max_depth = depth;
        self
    }

    /// A directory below the walked one that cannot be listed is yielded as an error and
    /// the walk goes on with the next entry (else the error ends the walk).
    pub fn keep_going(mut self, yes: bool) -> WalkOptions {
        self.keep_going = yes;
        self
    }

    /// All of a directory's entries before anything below them, its subdirectories then
    /// walked in turn (the order of `ls -R`); else pre-order, each directory followed by
    /// what it contains (the order of `find` and `tree`).
    pub fn contents_first(mut self, yes: bool) -> WalkOptions {
        self.contents_first = yes;
        self
    }

    /// Only entries `keep` accepts are yielded, and only those directories are walked into.
    pub fn filter(mut self, keep: impl Fn(&DirEntry) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(keep));
        self
    }
}

/// One directory being walked: its fid, its path and the entries not yet yielded (and, when
/// contents come first, the subdirectories not yet walked).
struct Frame {
    dir: Fid,
    path: PathBuf,
    depth: usize,
    pending: VecDeque<DirEntry>,
    subdirs: VecDeque<DirEntry>,
}

/// The walk's state between items.
struct State {
    cx: Arc<Ctx>,
    opts: WalkOptions,
    /// The walked directory first (not yet listed), then the directories being yielded.
    start: Option<(ValidPath, PathBuf)>,
    stack: Vec<Frame>,
    /// With `keep_going`: a listing error to yield after the entry that caused it.
    deferred: Option<ZeroFsError>,
}

/// A recursive, depth-first listing of a directory tree: pre-order by default (a directory
/// is yielded before what it contains), each directory's entries in server order unless
/// [sorted](WalkOptions::sorted). Symlinks are yielded, never followed. Each directory is
/// listed whole when reached, with one listing fid that is released at once; the
/// directories on the current branch stay held. An error is yielded once and ends the
/// stream (unless [`keep_going`](WalkOptions::keep_going)).
pub struct Walk {
    inner: BoxStream<'static, Result<WalkEntry, ZeroFsError>>,
}

impl fmt::Debug for Walk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Walk").finish_non_exhaustive()
    }
}

impl Walk {
    pub(crate) fn new(cx: Arc<Ctx>, path: ValidPath, shown: PathBuf, opts: WalkOptions) -> Walk {
        let state = State {
            cx,
            opts,
            start: Some((path, shown)),
            stack: Vec::new(),
            deferred: None,
        };
        let inner = futures::stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            match state.next().await {
                Ok(Some(item)) => Some((Ok(item), Some(state))),
                Ok(None) => None,
                // The walked directory's own failure leaves nothing to go on with.
                Err(e) if state.opts.keep_going => Some((Err(e), Some(state))),
                Err(e) => Some((Err(e), None)),
            }
        });
        Walk {
            inner: Box::pin(inner),
        }
    }
}

impl State {
    /// Lists the directory `names` below `base` into a frame `depth` deep, filtered and
    /// sorted as asked.
    async fn frame(
        cx: &Ctx,
        opts: &WalkOptions,
        base: &Fid,
        names: &[Bytes],
        path: PathBuf,
        depth: usize,
    ) -> Result<Frame, ZeroFsError> {
        let shown = path.to_string_lossy();
        let (dir, mut entries) = cx.list_dir(base, names, &shown).await?;
        if let Some(keep) = &opts.filter {
            entries.retain(|e| keep(e));
        }
        if opts.sorted {
            entries.sort_by(|a, b| a.name_bytes.cmp(&b.name_bytes));
        }
        Ok(Frame {
            dir,
            path,
            depth,
            pending: entries.into(),
            subdirs: VecDeque::new(),
        })
    }

    async fn next(&mut self) -> Result<Option<WalkEntry>, ZeroFsError> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let (cx, opts) = (&self.cx, &self.opts);
        if let Some((p, shown)) = self.start.take() {
            let top = Self::frame(cx, opts, cx.session.root(), &p.components, shown, 1).await?;
            if opts.max_depth != Some(0) {
                self.stack.push(top);
            }
        }
        while let Some(top) = self.stack.last_mut() {
            let Some(entry) = top.pending.pop_front() else {
                // Contents first: the next subdirectory, once every entry was yielded.
                let Some(sub) = top.subdirs.pop_front() else {
                    self.stack.pop();
                    continue;
                };
                let path = top.path.join(OsStr::from_bytes(&sub.name_bytes));
                let name = [Bytes::from(sub.name_bytes)];
                let frame = Self::frame(cx, opts, &top.dir, &name, path, top.depth + 1).await?;
                self.stack.push(frame);
                continue;
            };
            let path = top.path.join(OsStr::from_bytes(&entry.name_bytes));
            let depth = top.depth;
            let last = top.pending.is_empty();
            let descends =
                entry.file_type == FileType::Dir && opts.max_depth.is_none_or(|m| depth < m);
            if descends && opts.contents_first {
                top.subdirs.push_back(entry.clone());
            } else if descends {
                let name = [Bytes::copy_from_slice(&entry.name_bytes)];
                match Self::frame(cx, opts, &top.dir, &name, path.clone(), depth + 1).await {
                    Ok(frame) => self.stack.push(frame),
                    Err(e) if opts.keep_going => self.deferred = Some(e),
                    Err(e) => return Err(e),
                }
            }
            return Ok(Some(WalkEntry {
                path,
                depth,
                entry,
                last,
            }));
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
