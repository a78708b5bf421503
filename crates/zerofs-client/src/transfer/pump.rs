//! One file: blocks read from the source and written to the destination, several in flight.

use std::path::Path;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

use super::side::{Node, Side};
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
            let data = rd.read_at(off, len).await.map_err(|e| e.at(spath))?;
            let got = data.len();
            let hole = o.sparse && is_zero(&data);
            if !hole && got > 0 {
                wr.write_at(off, data).await.map_err(|e| e.at(wp))?;
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
