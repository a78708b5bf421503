//! Trees: a walk that feeds a bounded queue of file jobs, drained by a bounded number of
//! concurrent copies; directory modes and times applied once their contents are in.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::side::{Kind, Node, Side};
use super::{Endpoint, Event, Transfer, TransferError, TransferReport, pump};
use crate::dir::Dir;

/// Jobs queued ahead of the copies (bounds the walk's lead, and so its memory).
const QUEUE: usize = 1024;

/// Failures kept in the report (all are counted).
const KEEP_FAILURES: usize = 1000;

/// One file or link to copy, with the open parents the walk has on a server.
struct Job {
    from: PathBuf,
    to: PathBuf,
    node: Node,
    sdir: Option<Arc<Dir>>,
    ddir: Option<Arc<Dir>>,
}

/// The report under a lock, shared by the walk and the copies.
struct Shared(Mutex<TransferReport>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut TransferReport) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn fail(&self, e: TransferError) {
        tracing::debug!(error = %e, "transfer: path failed");
        self.with(|r| {
            r.failed += 1;
            if r.failures.len() < KEEP_FAILURES {
                r.failures.push(e);
            }
        });
    }
}

/// Whole seconds since the epoch (sizes and times are compared at this granularity).
fn secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Whether `dst` already holds what `src` describes (same kind, size and mtime second).
fn unchanged(src: &Node, dst: &Node) -> bool {
    src.kind == dst.kind && src.size == dst.size && secs(src.mtime) == secs(dst.mtime)
}

pub(crate) async fn run(
    engine: &Transfer,
    from: Endpoint,
    to: Endpoint,
) -> Result<TransferReport, TransferError> {
    let src = Side::of(&from);
    let node = src
        .stat(from.path())
        .await?
        .ok_or_else(|| not_found(&from))?;
    let shared = Shared(Mutex::new(TransferReport::default()));
    match node.kind {
        Kind::Dir if !engine.opts.recursive => {
            return Err(error_at(
                &from,
                io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory (copy it recursively)",
                ),
            ));
        }
        Kind::Dir => walk_and_copy(engine, &from, &to, node, &shared).await?,
        Kind::Other => {
            return Err(error_at(
                &from,
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "not a regular file, directory or symlink",
                ),
            ));
        }
        Kind::File | Kind::Symlink => {
            engine.progress.send_modify(|p| {
                p.files_total += 1;
                p.bytes_total += if node.kind == Kind::File {
                    node.size
                } else {
                    0
                };
            });
            let job = Job {
                from: from.path().to_path_buf(),
                to: to.path().to_path_buf(),
                node,
                sdir: None,
                ddir: None,
            };
            if engine.opts.skip_unchanged
                && let Some(d) = Side::of(&to).stat(to.path()).await?
                && unchanged(&node, &d)
            {
                skip(engine, &shared, &job);
            } else {
                copy_one(engine, &from, &to, job, &shared).await;
            }
        }
    }
    let report = shared.0.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(report)
}

fn error_at(e: &Endpoint, error: io::Error) -> TransferError {
    match e {
        Endpoint::Local(p) => TransferError::local(p, error),
        Endpoint::Remote(_, p) => TransferError {
            path: format!(":{}", p.display()),
            error,
        },
    }
}

fn not_found(e: &Endpoint) -> TransferError {
    match e {
        Endpoint::Local(p) => TransferError::local(p, io::Error::from_raw_os_error(2)),
        Endpoint::Remote(_, p) => TransferError::remote(
            p,
            crate::ZeroFsError::NotFound {
                path: p.display().to_string(),
            },
        ),
    }
}

fn skip(engine: &Transfer, shared: &Shared, job: &Job) {
    engine.event(|| Event::Skip {
        path: job.to.clone(),
    });
    shared.with(|r| r.skipped += 1);
    engine.progress.send_modify(|p| {
        p.files_done += 1;
        if job.node.kind == Kind::File {
            p.bytes_done += job.node.size;
        }
    });
}

/// Copies one file or link, recording the outcome.
async fn copy_one(engine: &Transfer, from: &Endpoint, to: &Endpoint, job: Job, shared: &Shared) {
    let (src, dst) = (from.with_path(&job.from), to.with_path(&job.to));
    let result = match job.node.kind {
        Kind::Symlink => copy_link(engine, &src, &dst).await,
        _ => {
            engine.event(|| Event::Copy {
                from: job.from.clone(),
                to: job.to.clone(),
                size: job.node.size,
            });
            if engine.opts.dry_run {
                engine
                    .progress
                    .send_modify(|p| p.bytes_done += job.node.size);
                Ok(())
            } else {
                let dirs = pump::Parents {
                    src: job.sdir.as_ref(),
                    dst: job.ddir.as_ref(),
                };
                match (&src, &dst) {
                    (Endpoint::Remote(a, _), Endpoint::Remote(b, _)) if Arc::ptr_eq(a, b) => {
                        super::copy_file_on_server(engine, a, &job.from, &job.to, &job.node, dirs)
                            .await
                    }
                    _ => pump::copy_file(engine, &src, &dst, &job.node, dirs).await,
                }
            }
        }
    };
    match result {
        Ok(()) => {
            shared.with(|r| {
                r.files += 1;
                if job.node.kind == Kind::File {
                    r.bytes += job.node.size;
                }
            });
            engine.progress.send_modify(|p| p.files_done += 1);
        }
        Err(e) => shared.fail(e),
    }
}

async fn copy_link(engine: &Transfer, src: &Endpoint, dst: &Endpoint) -> Result<(), TransferError> {
    let target = Side::of(src).read_link(src.path()).await?;
    engine.event(|| Event::Link {
        to: dst.path().to_path_buf(),
        target: target.clone(),
    });
    if engine.opts.dry_run {
        return Ok(());
    }
    Side::of(dst).symlink(&target, dst.path()).await
}

/// Walks the tree at `from` (a directory), creating directories as it goes and queueing
/// files and links; copies run concurrently with the walk.
async fn walk_and_copy(
    engine: &Transfer,
    from: &Endpoint,
    to: &Endpoint,
    root: Node,
    shared: &Shared,
) -> Result<(), TransferError> {
    let o = &engine.opts;
    let (src, dst) = (Side::of(from), Side::of(to));
    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
    // Directories whose mode and mtime are applied at the end (deepest first).
    let mut dirs: Vec<(PathBuf, Node)> = Vec::new();
    let walk = async {
        let mut stack = vec![(from.path().to_path_buf(), to.path().to_path_buf(), root)];
        while let Some((s, d, node)) = stack.pop() {
            if let Err(e) = ensure_dir(engine, dst, &d, shared).await {
                shared.fail(e);
                continue;
            }
            dirs.push((d.clone(), node));
            // Open parents on a server, shared by this directory's jobs.
            let sdir = src.open_dir(&s).await;
            let ddir = if o.dry_run {
                None
            } else {
                dst.open_dir(&d).await
            };
            let entries = match src.list(&s).await {
                Ok(e) => e,
                Err(e) => {
                    shared.fail(e);
                    continue;
                }
            };
            let existing: HashMap<OsString, Node> = if o.skip_unchanged || o.delete_extra {
                match dst.list(&d).await {
                    Ok(v) => v.into_iter().collect(),
                    Err(_) if o.dry_run => HashMap::new(),
                    Err(e) => {
                        shared.fail(e);
                        continue;
                    }
                }
            } else {
                HashMap::new()
            };
            if o.delete_extra {
                let keep: std::collections::HashSet<&OsString> =
                    entries.iter().map(|(n, _)| n).collect();
                for (name, n) in &existing {
                    if !keep.contains(name) {
                        remove_extra(engine, dst, &d.join(name), n.kind, shared).await;
                    }
                }
            }
            for (name, n) in entries {
                let (cs, cd) = (s.join(&name), d.join(&name));
                match n.kind {
                    Kind::Dir => stack.push((cs, cd, n)),
                    Kind::Symlink if !o.keep_symlinks => {}
                    Kind::File | Kind::Symlink => {
                        engine.progress.send_modify(|p| {
                            p.files_total += 1;
                            if n.kind == Kind::File {
                                p.bytes_total += n.size;
                            }
                        });
                        let job = Job {
                            from: cs,
                            to: cd,
                            node: n,
                            sdir: sdir.clone(),
                            ddir: ddir.clone(),
                        };
                        if o.skip_unchanged && existing.get(&name).is_some_and(|e| unchanged(&n, e))
                        {
                            skip(engine, shared, &job);
                        } else if tx.send(job).await.is_err() {
                            return;
                        }
                    }
                    Kind::Other => {
                        tracing::debug!(path = %cs.display(), "transfer: special file skipped");
                    }
                }
            }
        }
        engine.progress.send_modify(|p| p.scan_done = true);
        drop(tx);
    };
    let jobs =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|j| (j, rx)) });
    // Boxed as `dyn Future + Send`: the stream's closure future, held across the join,
    // otherwise defeats the compiler's proof that `Transfer::copy` is `Send` (it could not
    // be spawned on a multi-threaded runtime, nor awaited from the Python binding).
    let copies: futures::future::BoxFuture<'_, ()> = Box::pin(
        jobs.for_each_concurrent(o.concurrency, |job| copy_one(engine, from, to, job, shared)),
    );
    futures::join!(walk, copies);
    if !o.dry_run {
        for (d, node) in dirs.iter().rev() {
            let mode = o.keep_modes.then_some(node.mode);
            let mtime = o.keep_times.then_some(node.mtime);
            if let Err(e) = dst.set_meta(d, mode, mtime).await {
                shared.fail(e);
            }
        }
    }
    Ok(())
}

/// Makes sure `d` is a directory (replacing a file there when deleting extras).
async fn ensure_dir(
    engine: &Transfer,
    dst: Side<'_>,
    d: &Path,
    shared: &Shared,
) -> Result<(), TransferError> {
    match dst.stat(d).await? {
        Some(n) if n.kind == Kind::Dir => return Ok(()),
        Some(n) if engine.opts.delete_extra => remove_extra(engine, dst, d, n.kind, shared).await,
        _ => {}
    }
    engine.event(|| Event::Dir {
        to: d.to_path_buf(),
    });
    shared.with(|r| r.dirs += 1);
    if engine.opts.dry_run {
        return Ok(());
    }
    // Owner-writable while it fills; the source's mode is applied at the end.
    dst.mkdir(d, 0o755).await
}

async fn remove_extra(engine: &Transfer, dst: Side<'_>, path: &Path, kind: Kind, shared: &Shared) {
    engine.event(|| Event::Remove {
        path: path.to_path_buf(),
    });
    if !engine.opts.dry_run
        && let Err(e) = dst.remove(path, kind).await
    {
        shared.fail(e);
        return;
    }
    shared.with(|r| r.removed += 1);
}
