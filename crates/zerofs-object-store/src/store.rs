//! The [`ObjectStore`] implementation, and deletes, copies and renames.

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    RenameTargetMode, Result,
};
use zerofs_client::ZeroFsError;

use crate::ZeroFsStore;
use crate::error::{lookup_error, not_found, write_error};
use crate::paths::{object_path, parent_of, staging_path};
use crate::write::Publish;

/// Deletes of one `delete_stream` in flight at once.
const DELETES_IN_FLIGHT: usize = 32;
/// Tries of a link or rename whose target's parent had to be created (or was pruned by a
/// concurrent delete in between).
const PARENT_ATTEMPTS: usize = 4;

#[async_trait]
impl ObjectStore for ZeroFsStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.put(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.start_upload(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.get(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        ZeroFsStore::get_ranges(self, location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let store = self.clone();
        locations
            .map(move |location| {
                let store = store.clone();
                async move {
                    let location = location?;
                    store.delete_one(&location).await?;
                    Ok(location)
                }
            })
            .buffered(DELETES_IN_FLIGHT)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.list_stream(prefix, None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.list_stream(prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.list_delimited(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let src = object_path(&self.root, from)?;
        let dest = object_path(&self.root, to)?;
        match options.mode {
            CopyMode::Create => self.link(&src, &dest, from).await,
            CopyMode::Overwrite => {
                // Link to a staging name, then rename over the target: atomic replace.
                let staging = self.link_staging(&src, &dest, from).await?;
                self.publish(&staging, &dest, Publish::Overwrite).await
            }
        }
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let src = object_path(&self.root, from)?;
        let dest = object_path(&self.root, to)?;
        match options.target_mode {
            RenameTargetMode::Overwrite => {
                for _ in 0..PARENT_ATTEMPTS {
                    match self.client.rename(&src, &dest).await {
                        Ok(()) => {
                            self.prune(&src).await;
                            return Ok(());
                        }
                        Err(e @ ZeroFsError::NotFound { .. }) => {
                            self.missing_source_or_make_parent(&src, &dest, from, e)
                                .await?;
                        }
                        Err(e) => return Err(write_error(e, to.as_ref())),
                    }
                }
                Err(write_error(
                    ZeroFsError::NotFound { path: dest.clone() },
                    to.as_ref(),
                ))
            }
            // Atomic create-new link, then drop the old name.
            RenameTargetMode::Create => {
                self.link(&src, &dest, from).await?;
                self.delete_one(from).await
            }
        }
    }
}

impl ZeroFsStore {
    /// Deletes one object; a missing one is `NotFound`.
    async fn delete_one(&self, location: &Path) -> Result<()> {
        let path = object_path(&self.root, location)?;
        self.client
            .remove_file(&path)
            .await
            .map_err(|e| lookup_error(e, location.as_ref()))?;
        self.prune(&path).await;
        Ok(())
    }

    /// With automatic cleanup, removes the now-empty parents of the removed `path`, up to
    /// the store's root; stops at the first that is not empty.
    async fn prune(&self, path: &str) {
        if !self.automatic_cleanup {
            return;
        }
        let mut dir = parent_of(path);
        while dir.len() > self.root.len() && dir != "/" {
            if self.client.remove_dir(dir).await.is_err() {
                break;
            }
            dir = parent_of(dir);
        }
    }

    /// Hard-links `src` as `dest` (atomic create-new): `AlreadyExists` if taken, `NotFound`
    /// (naming `from`) if the source is missing; missing parents of `dest` are created.
    async fn link(&self, src: &str, dest: &str, from: &Path) -> Result<()> {
        for _ in 0..PARENT_ATTEMPTS {
            match self.client.hard_link(src, dest).await {
                Ok(_) => return Ok(()),
                Err(e @ ZeroFsError::NotFound { .. }) => {
                    self.missing_source_or_make_parent(src, dest, from, e)
                        .await?;
                }
                Err(e) => return Err(write_error(e, dest)),
            }
        }
        Err(write_error(
            ZeroFsError::NotFound { path: dest.into() },
            dest,
        ))
    }

    /// Hard-links `src` to a fresh staging name next to `dest`; returns that name.
    async fn link_staging(&self, src: &str, dest: &str, from: &Path) -> Result<String> {
        let mut last = None;
        for _ in 0..PARENT_ATTEMPTS {
            let staging = staging_path(dest);
            match self.link(src, &staging, from).await {
                Ok(()) => return Ok(staging),
                Err(e @ object_store::Error::AlreadyExists { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// After a link or rename answered `ENOENT`: `NotFound` for `from` if the source is not
    /// an object, otherwise creates the parents of `dest` so the caller can try again.
    async fn missing_source_or_make_parent(
        &self,
        src: &str,
        dest: &str,
        from: &Path,
        cause: ZeroFsError,
    ) -> Result<()> {
        match self.client.stat(src).await {
            Ok(md) if md.is_file() => self
                .client
                .create_dir_all(parent_of(dest), 0o755)
                .await
                .map_err(|e| write_error(e, dest)),
            Ok(md) => Err(not_found(
                from.as_ref(),
                format!("{from} is a {:?}, not an object", md.file_type),
            )),
            Err(ZeroFsError::NotFound { .. } | ZeroFsError::NotADirectory { .. }) => {
                Err(lookup_error(cause, from.as_ref()))
            }
            Err(e) => Err(lookup_error(e, from.as_ref())),
        }
    }
}
