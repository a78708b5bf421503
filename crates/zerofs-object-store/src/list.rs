//! Listings: one directory at a time, depth first, streamed.

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ListResult, ObjectMeta, Result};
use zerofs_client::{Dir, FileType, Metadata, ZeroFsError};

use crate::ZeroFsStore;
use crate::error::lookup_error;
use crate::paths::{dir_path, entry_part, is_staging_name};
use crate::read::object_meta;

/// Stats in flight at once for entries listed without attributes (plain 9P servers).
const STATS_IN_FLIGHT: usize = 32;

/// One directory's entries, as objects and subdirectories.
#[derive(Debug, Default)]
struct Listed {
    objects: Vec<ObjectMeta>,
    /// Server path and object path of each subdirectory.
    dirs: Vec<(String, Path)>,
}

impl ZeroFsStore {
    /// Lists the directory `fs_dir` (the object prefix `obj_dir`). A missing directory, or a
    /// file where the directory should be, lists empty.
    async fn list_dir(&self, fs_dir: &str, obj_dir: &Path) -> Result<Listed> {
        let dir = match self.client.open_dir(fs_dir).await {
            Ok(d) => d,
            Err(ZeroFsError::NotFound { .. } | ZeroFsError::NotADirectory { .. }) => {
                return Ok(Listed::default());
            }
            Err(e) => return Err(lookup_error(e, obj_dir.as_ref())),
        };
        let mut entries = Vec::new();
        loop {
            let batch = dir
                .next_batch(None)
                .await
                .map_err(|e| lookup_error(e, obj_dir.as_ref()))?;
            if batch.is_empty() {
                break;
            }
            entries.extend(batch);
        }
        let base = fs_dir.trim_end_matches('/');
        let mut listed = Listed::default();
        // Entries whose type or attributes the listing did not give.
        let mut unknown = Vec::new();
        for e in &entries {
            let Some(part) = entry_part(fs_dir, &e.name_bytes) else {
                continue;
            };
            let name = part.as_ref();
            let location = obj_dir.clone().join(part.clone());
            match (e.file_type, e.metadata) {
                (FileType::Dir, _) => listed.dirs.push((format!("{base}/{name}"), location)),
                (FileType::File, _) if is_staging_name(name) => {}
                (FileType::File, Some(md)) => listed.objects.push(object_meta(location, &md)),
                (FileType::File | FileType::Unknown, _) => {
                    unknown.push((e.name_bytes.clone(), location));
                }
                (other, _) => {
                    tracing::debug!(dir = fs_dir, name, kind = ?other, "not an object; skipped");
                }
            }
        }
        let stats = stream::iter(unknown)
            .map(|(name, location)| stat_entry(dir.clone(), name, location))
            .buffer_unordered(STATS_IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?;
        for (location, md) in stats.into_iter().flatten() {
            match md.file_type {
                FileType::File if !location.filename().is_some_and(is_staging_name) => {
                    listed.objects.push(object_meta(location, &md));
                }
                FileType::Dir => {
                    let name = location.filename().unwrap_or_default();
                    listed.dirs.push((format!("{base}/{name}"), location));
                }
                _ => {}
            }
        }
        Ok(listed)
    }

    /// `list` and `list_with_offset`: a depth-first walk below `prefix`, one directory
    /// listed per step; with an offset, subtrees that sort entirely before it are not listed.
    pub(crate) fn list_stream(
        &self,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let start = (
            dir_path(&self.root, prefix),
            prefix.cloned().unwrap_or_default(),
        );
        let state = (self.clone(), vec![start], offset.cloned());
        stream::try_unfold(state, |(store, mut stack, offset)| async move {
            let Some((fs_dir, obj_dir)) = stack.pop() else {
                return Ok::<_, object_store::Error>(None);
            };
            let listed = store.list_dir(&fs_dir, &obj_dir).await?;
            let after = |p: &Path| offset.as_ref().is_none_or(|o| p > o);
            stack.extend(
                listed
                    .dirs
                    .into_iter()
                    .filter(|(_, d)| offset.as_ref().is_none_or(|o| !subtree_before(d, o))),
            );
            let objects: Vec<_> = listed
                .objects
                .into_iter()
                .filter(|m| after(&m.location))
                .collect();
            Ok(Some((objects, (store, stack, offset))))
        })
        .map_ok(|objects| stream::iter(objects.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// `list_with_delimiter`: one directory; subdirectories are the common prefixes.
    pub(crate) async fn list_delimited(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let obj_dir = prefix.cloned().unwrap_or_default();
        let listed = self
            .list_dir(&dir_path(&self.root, prefix), &obj_dir)
            .await?;
        let mut common_prefixes: Vec<Path> = listed.dirs.into_iter().map(|(_, p)| p).collect();
        common_prefixes.sort_unstable();
        let mut objects = listed.objects;
        objects.sort_unstable_by(|a, b| a.location.cmp(&b.location));
        Ok(ListResult {
            common_prefixes,
            objects,
            extensions: Default::default(),
        })
    }
}

/// The attributes of an entry the listing gave without them; `None` if it vanished meanwhile.
async fn stat_entry(
    dir: Arc<Dir>,
    name: Vec<u8>,
    location: Path,
) -> Result<Option<(Path, Metadata)>> {
    match dir.metadata_at(&name).await {
        Ok(md) => Ok(Some((location, md))),
        Err(ZeroFsError::NotFound { .. }) => Ok(None),
        Err(err) => Err(lookup_error(err, location.as_ref())),
    }
}

/// Whether every path below the directory `dir` sorts at or before `offset`, so a listing
/// after `offset` can skip it: those paths all start with `dir/`, so that holds when
/// `offset` is past `dir/` and does not itself start with it.
fn subtree_before(dir: &Path, offset: &Path) -> bool {
    let below = format!("{}/", dir.as_ref());
    let o = offset.as_ref();
    o > below.as_str() && !o.starts_with(&below)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_subtrees_wholly_before_the_offset_are_skipped() {
        let skip = |d: &str, o: &str| subtree_before(&Path::from(d), &Path::from(o));
        assert!(skip("a", "b"));
        assert!(skip("a", "a0"));
        assert!(!skip("a", "a/x"));
        assert!(!skip("a", "a"));
        assert!(!skip("b", "a/z"));
        // "a b" sorts before "a/": the subtree of "a" is still needed after it.
        assert!(!skip("a", "a b"));
    }
}
