//! Reads: `get_opts` (ranges, conditions, head), streamed bodies, and pipelined `get_ranges`.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResult, GetResultPayload, ObjectMeta, Result};
use zerofs_client::{File, Metadata, OpenOptions};

use crate::ZeroFsStore;
use crate::error::{generic, lookup_error, not_found, not_implemented};
use crate::paths::object_path;
use crate::write::e_tag;

/// Bytes per read of a streamed body: each is one pipelined client read.
const STREAM_CHUNK: u64 = 4 << 20;
/// Streamed chunks in flight ahead of the consumer (memory bound: chunk × depth).
const STREAM_DEPTH: usize = 2;
/// Ranges of one `get_ranges` in flight at once (the session's window bounds the wire).
const RANGES_IN_FLIGHT: usize = 64;

/// The object metadata of a regular file at `location`.
pub(crate) fn object_meta(location: Path, md: &Metadata) -> ObjectMeta {
    let last_modified = DateTime::<Utc>::from_timestamp(md.mtime.secs, md.mtime.nanos)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    ObjectMeta {
        location,
        last_modified,
        size: md.size,
        e_tag: Some(e_tag(md)),
        version: None,
    }
}

/// `NotFound` unless `md` is a regular file (directories, symlinks and special files are
/// not objects).
fn require_file(location: &Path, md: &Metadata) -> Result<()> {
    if md.is_file() {
        Ok(())
    } else {
        Err(not_found(
            location.as_ref(),
            format!("{location} is a {:?}, not an object", md.file_type),
        ))
    }
}

impl ZeroFsStore {
    /// `get_opts`.
    pub(crate) async fn get(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if options.version.is_some() {
            return Err(not_implemented("`get_opts` with a version (no versions)"));
        }
        let path = object_path(&self.root, location)?;
        let loc = location.as_ref();
        if options.head {
            // One stat, no open.
            let md = self
                .client
                .stat(&path)
                .await
                .map_err(|e| lookup_error(e, loc))?;
            require_file(location, &md)?;
            let meta = object_meta(location.clone(), &md);
            options.check_preconditions(&meta)?;
            let range = resolve_range(&options, meta.size)?;
            return Ok(result(meta, range, stream::empty().boxed()));
        }
        let file = self.open_read(&path, loc).await?;
        // A small bounded range (a Parquet reader's typical request) is read together with
        // the attributes, one round trip instead of two; checks apply before it is returned.
        let early = match &options.range {
            Some(GetRange::Bounded(r)) if r.start < r.end && r.end - r.start <= STREAM_CHUNK => {
                Some(r.clone())
            }
            _ => None,
        };
        let (md, prefetched) = match &early {
            Some(r) => {
                let len = (r.end - r.start) as u32;
                let (md, data) = futures::join!(file.metadata(), file.read_at(r.start, len));
                (md, Some(data))
            }
            None => (file.metadata().await, None),
        };
        let md = md.map_err(|e| lookup_error(e, loc))?;
        require_file(location, &md)?;
        let meta = object_meta(location.clone(), &md);
        options.check_preconditions(&meta)?;
        let range = resolve_range(&options, meta.size)?;
        let body = match (early, prefetched) {
            (Some(asked), Some(data)) => {
                let data = data.map_err(|e| lookup_error(e, loc))?;
                // The range as clamped to the size the attributes gave.
                let want = (range.end - range.start) as usize;
                if data.len() < want {
                    return Err(generic(format!(
                        "{loc}: the object changed while being read ({} of {want} bytes at {})",
                        data.len(),
                        asked.start
                    )));
                }
                stream::once(async move { Ok(data.slice(..want)) }).boxed()
            }
            _ => body_stream(file, range.clone(), location.to_string()),
        };
        Ok(result(meta, range, body))
    }

    /// `get_ranges`: one open, then every range read concurrently on the same file.
    pub(crate) async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> Result<Vec<Bytes>> {
        let path = object_path(&self.root, location)?;
        let loc = location.as_ref();
        let file = self.open_read(&path, loc).await?;
        let reads = ranges.iter().cloned().map(|r| {
            let file = file.clone();
            async move { read_exact(&file, r, loc).await }
        });
        stream::iter(reads)
            .buffered(RANGES_IN_FLIGHT)
            .try_collect()
            .await
    }

    /// Opens the object at `path` for reading.
    async fn open_read(&self, path: &str, loc: &str) -> Result<Arc<File>> {
        self.client
            .open(path, OpenOptions::read_only())
            .await
            .map_err(|e| lookup_error(e, loc))
    }
}

/// The byte range `options` asks for in an object of `size` bytes.
fn resolve_range(options: &GetOptions, size: u64) -> Result<Range<u64>> {
    match &options.range {
        Some(r) => r
            .as_range(size)
            .map_err(|e| generic(format!("invalid range: {e}"))),
        None => Ok(0..size),
    }
}

/// A `GetResult` with a streamed payload.
fn result(
    meta: ObjectMeta,
    range: Range<u64>,
    body: BoxStream<'static, Result<Bytes>>,
) -> GetResult {
    GetResult {
        payload: GetResultPayload::Stream(body),
        meta,
        range,
        attributes: Default::default(),
        extensions: Default::default(),
    }
}

/// Exactly the bytes of `range`; a short read (the range passes the end) is an error.
async fn read_exact(file: &File, range: Range<u64>, loc: &str) -> Result<Bytes> {
    if range.end < range.start {
        return Err(generic(format!("{loc}: inverted range {range:?}")));
    }
    let len = u32::try_from(range.end - range.start)
        .map_err(|_| generic(format!("{loc}: range {range:?} is over 4 GiB; stream it")))?;
    let got = file
        .read_at(range.start, len)
        .await
        .map_err(|e| lookup_error(e, loc))?;
    if got.len() < len as usize {
        return Err(generic(format!(
            "{loc}: range {range:?} passes the end of the object ({} of {len} bytes)",
            got.len()
        )));
    }
    Ok(got)
}

/// The body of `range` as a stream of chunks read ahead `STREAM_DEPTH` at a time, so
/// memory stays bounded whatever the object's size.
fn body_stream(
    file: Arc<File>,
    range: Range<u64>,
    loc: String,
) -> BoxStream<'static, Result<Bytes>> {
    let starts = (0..)
        .map(move |i| range.start + i * STREAM_CHUNK)
        .take_while(move |&s| s < range.end);
    let end = range.end;
    stream::iter(starts)
        .map(move |s| {
            let file = file.clone();
            let loc = loc.clone();
            async move {
                let r = s..end.min(s + STREAM_CHUNK);
                read_exact(&file, r, &loc).await.map_err(|e| match e {
                    object_store::Error::Generic { .. } => {
                        generic(format!("{loc}: the object changed while being read: {e}"))
                    }
                    other => other,
                })
            }
        })
        .buffered(STREAM_DEPTH)
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_size() {
        let with = |r: GetRange| GetOptions::new().with_range(Some(r));
        assert_eq!(resolve_range(&GetOptions::new(), 14).unwrap(), 0..14);
        assert_eq!(
            resolve_range(&with(GetRange::Bounded(2..100)), 14).unwrap(),
            2..14
        );
        assert_eq!(
            resolve_range(&with(GetRange::Suffix(2)), 14).unwrap(),
            12..14
        );
        assert_eq!(
            resolve_range(&with(GetRange::Offset(3)), 14).unwrap(),
            3..14
        );
        assert!(resolve_range(&with(GetRange::Offset(100)), 14).is_err());
    }
}
