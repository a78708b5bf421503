//! One file: blocks read from the source and written to the destination, several in flight.

use std::path::Path;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

use super::side::{Node, Reader, Side};
use super::temp::{TempGuard, temp_name};
use super::{Endpoint, Transfer, TransferError, UNIT};
use crate::dir::Dir;

/// The open parent directories of a file's source and destination (server sides only).
#[derive(Clone, Copy, Default)]
pub(crate) struct Parents<'a> {
    pub(crate) src: Option<&'a Arc<Dir>>,
    pub(crate) dst: Option<&'a Arc<Dir>>,
}

/// Whether every byte of `b` is zero.
pub(crate) fn is_zero(b: &[u8]) -> bool {
    let chunks = b.chunks_exact(16);
    let rest = chunks.remainder();
    chunks
        .map(|c| u128::from_ne_bytes(c.try_into().unwrap_or([1; 16])))
        .all(|x| x == 0)
        && rest.iter().all(|&x| x == 0)
}

/// Copies the regular file `src` (described by `node`) to `dst`: under a temporary name
/// renamed at the end (unless `in_place`), blocks pipelined, zero blocks skipped when
/// `sparse`, then length, mode and mtime set.
///
/// `dirs` are the open parents of source and destination on a server, when the walk has
/// them (children are then opened and renamed by name, without walks from the root).
pub(crate) async fn copy_file(
    engine: &Transfer,
    src: &Endpoint,
    dst: &Endpoint,
    node: &Node,
    dirs: Parents<'_>,
) -> Result<(), TransferError> {
    let o = &engine.opts;
    let (sside, dside) = (Side::of(src), Side::of(dst));
    let (spath, dpath) = (src.path(), dst.path());
    let reader = sside.open_read(spath, dirs.src).await?;
    if let (Reader::Remote(f), Endpoint::Local(_)) = (&reader, dst)
        && node.size < o.block_size as u64
        && !o.in_place
    {
        return small_download(engine, f, spath, dpath, node).await;
    }
    let (write_path, guard) = if o.in_place {
        (dpath.to_path_buf(), None)
    } else {
        let t = temp_name(dpath);
        let remote = match dst {
            Endpoint::Remote(c, _) => Some(c.clone()),
            Endpoint::Local(_) => None,
        };
        (t.clone(), Some((t, remote)))
    };
    // Guarded before it exists: a create cut short by cancellation is removed too.
    let exclusive = guard.is_some();
    let guard = guard.map(|(t, r)| TempGuard::new(t, r, &engine.pending));
    // Owner-only while it fills; the source's mode is applied at the end.
    let writer = dside
        .create(&write_path, dirs.dst, 0o600, exclusive)
        .await?;

    let bs = o.block_size as u64;
    let size = node.size;
    let blocks = size.div_ceil(bs);
    let (rd, wr) = (&reader, &writer);
    let wp: &Path = &write_path;
    let skipped_tail = futures::stream::iter(0..blocks)
        .map(|i| async move {
            let off = i * bs;
            let len = (size - off).min(bs) as usize;
            let _permit = engine
                .budget
                .acquire_many(len.div_ceil(UNIT) as u32)
                .await
                .map_err(|e| TransferError::local(spath, std::io::Error::other(e)))?;
            // A local source reads into a reused buffer, given back once the write let go.
            let buf = matches!(rd, Reader::Local(_)).then(|| engine.spare().take(len));
            let data = rd.read_at(off, len, buf).await.map_err(|e| e.at(spath))?;
            let got = data.len();
            let hole = o.sparse && is_zero(&data);
            if !hole && got > 0 {
                wr.write_at(off, data.clone()).await.map_err(|e| e.at(wp))?;
            }
            if matches!(rd, Reader::Local(_)) {
                engine.spare().put_bytes(data, len);
            }
            engine.progress.send_modify(|p| p.bytes_done += got as u64);
            if got < len {
                return Err(TransferError::local(
                    spath,
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("file shrank while being copied (short read at {off})"),
                    ),
                ));
            }
            Ok(hole)
        })
        .buffered(o.blocks_per_file)
        .try_fold(false, |_, hole| async move { Ok(hole) })
        .await?;
    // A trailing hole needs the length set.
    let len = skipped_tail.then_some(size);
    writer
        .finish(
            len,
            o.keep_modes.then_some(node.mode),
            o.keep_times.then_some(node.mtime),
        )
        .await
        .map_err(|e| e.at(wp))?;
    drop(reader);
    if let Some(g) = guard {
        // Close the handle before the rename (some servers refuse renaming open files).
        drop(writer);
        dside.rename(wp, dpath, dirs.dst).await?;
        g.keep();
    }
    Ok(())
}

/// A file smaller than a block from a server to the local disk: one read, then everything
/// local (temporary, data, mode, mtime, rename) in one blocking call, which either renames
/// the complete file or removes the temporary, so it needs no guard.
async fn small_download(
    engine: &Transfer,
    f: &Arc<crate::file::File>,
    spath: &Path,
    dpath: &Path,
    node: &Node,
) -> Result<(), TransferError> {
    let o = &engine.opts;
    // One byte more than expected proves the end in the same request.
    let want = u32::try_from(node.size + 1).unwrap_or(u32::MAX);
    let data = f
        .read_at(0, want)
        .await
        .map_err(|e| TransferError::remote(spath, e))?;
    // Bytes past the size the walk saw are left out, as the block path does.
    let data = data.slice(..data.len().min(node.size as usize));
    if (data.len() as u64) < node.size {
        return Err(TransferError::remote(
            spath,
            crate::ZeroFsError::Io {
                errno: 5,
                path: spath.display().to_string(),
                message: format!(
                    "file shrank while being copied ({} bytes, {} expected)",
                    data.len(),
                    node.size
                ),
            },
        ));
    }
    let got = data.len() as u64;
    let (mode, mtime) = (
        o.keep_modes.then_some(node.mode),
        o.keep_times.then_some(node.mtime),
    );
    let (temp, to) = (temp_name(dpath), dpath.to_path_buf());
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(&data)?;
            if let Some(m) = mode {
                file.set_permissions(std::fs::Permissions::from_mode(m))?;
            }
            if let Some(t) = mtime {
                file.set_modified(t)?;
            }
            drop(file);
            std::fs::rename(&temp, &to)
        };
        write().inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    .map_err(|e| TransferError::local(dpath, e))?;
    engine.progress.send_modify(|p| p.bytes_done += got);
    Ok(())
}
