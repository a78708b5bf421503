//! Writes: staging files, `put`, multipart uploads, and publishing by rename or link.

use std::sync::Arc;

use async_trait::async_trait;
use futures::FutureExt;
use futures::future::try_join_all;
use object_store::path::Path;
use object_store::{
    MultipartUpload, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    UploadPart,
};
use zerofs_client::{File, Metadata, OpenOptions, ZeroFsError};

use crate::ZeroFsStore;
use crate::error::{generic, not_implemented, write_error};
use crate::paths::{object_path, parent_of, staging_path};

/// Attempts at creating a staging file (a name collision or a parent pruned meanwhile
/// costs one each).
const STAGING_ATTEMPTS: usize = 8;

/// How a staged file becomes the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    /// Rename over whatever is there.
    Overwrite,
    /// Hard link, failing with `AlreadyExists` if the name is taken; then drop the staging name.
    Create,
}

/// The e-tag of a file: inode, mtime (ns) and size, in hex.
pub(crate) fn e_tag(md: &Metadata) -> String {
    let mtime = i128::from(md.mtime.secs) * 1_000_000_000 + i128::from(md.mtime.nanos);
    format!("\"{:x}-{:x}-{:x}\"", md.ino, mtime, md.size)
}

impl ZeroFsStore {
    /// Creates a fresh staging file next to `dest` (creating missing parents), open for
    /// writing.
    pub(crate) async fn create_staging(&self, dest: &str) -> Result<(Arc<File>, String)> {
        let opts = OpenOptions::write_only().create_new(true);
        let mut last = None;
        for _ in 0..STAGING_ATTEMPTS {
            let staging = staging_path(dest);
            match self.client.open(&staging, opts).await {
                Ok(file) => return Ok((file, staging)),
                Err(e @ ZeroFsError::AlreadyExists { .. }) => last = Some(e),
                Err(e @ ZeroFsError::NotFound { .. }) => {
                    self.client
                        .create_dir_all(parent_of(dest), 0o755)
                        .await
                        .map_err(|e| write_error(e, dest))?;
                    last = Some(e);
                }
                Err(e) => return Err(write_error(e, dest)),
            }
        }
        Err(generic(format!(
            "{dest}: no staging file after {STAGING_ATTEMPTS} attempts: {last:?}"
        )))
    }

    /// Makes the staging file `staging` the object at `dest`; the staging name is gone
    /// afterwards, whatever the outcome.
    pub(crate) async fn publish(&self, staging: &str, dest: &str, how: Publish) -> Result<()> {
        let r = match how {
            Publish::Overwrite => self.client.rename(staging, dest).await,
            Publish::Create => self.client.hard_link(staging, dest).await.map(drop),
        };
        if r.is_err() || how == Publish::Create {
            self.discard(staging).await;
        }
        r.map_err(|e| write_error(e, dest))
    }

    /// Removes a staging file, best effort (a failure only leaves a name listings skip).
    pub(crate) async fn discard(&self, staging: &str) {
        if let Err(e) = self.client.remove_file(staging).await {
            tracing::warn!(staging, error = %e, "could not remove a staging file");
        }
    }

    /// Syncs (if asked) and reads back the attributes of a fully written staging file.
    async fn finish_file(&self, file: &File) -> Result<Metadata, ZeroFsError> {
        if self.fsync {
            file.sync_all().await?;
        }
        file.metadata().await
    }

    /// `put_opts`: stage, write, publish.
    pub(crate) async fn put(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let how = match opts.mode {
            PutMode::Overwrite => Publish::Overwrite,
            PutMode::Create => Publish::Create,
            PutMode::Update(_) => {
                return Err(not_implemented(
                    "`put_opts` with `PutMode::Update` (9P has no compare-and-swap)",
                ));
            }
        };
        if !opts.attributes.is_empty() {
            return Err(not_implemented("`put_opts` with attributes"));
        }
        let dest = object_path(&self.root, location)?;
        let (file, staging) = self.create_staging(&dest).await?;
        let written = async {
            write_payload(&file, 0, &payload).await?;
            self.finish_file(&file).await
        }
        .await;
        drop(file);
        let md = match written {
            Ok(md) => md,
            Err(e) => {
                self.discard(&staging).await;
                return Err(write_error(e, location.as_ref()));
            }
        };
        self.publish(&staging, &dest, how).await?;
        Ok(put_result(&md))
    }

    /// `put_multipart_opts`: a staging file the parts are written into at their offsets.
    pub(crate) async fn start_upload(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        if !opts.attributes.is_empty() {
            return Err(not_implemented("`put_multipart_opts` with attributes"));
        }
        let dest = object_path(&self.root, location)?;
        let (file, staging) = self.create_staging(&dest).await?;
        Ok(Box::new(Upload {
            store: self.clone(),
            state: Some((file, staging)),
            dest,
            offset: 0,
        }))
    }
}

/// A `PutResult` for a file with these attributes.
fn put_result(md: &Metadata) -> PutResult {
    PutResult {
        e_tag: Some(e_tag(md)),
        version: None,
        extensions: Default::default(),
    }
}

/// Writes every chunk of `payload` at consecutive offsets from `offset`, all in flight at
/// once (each chunk itself pipelined by the client).
async fn write_payload(file: &File, offset: u64, payload: &PutPayload) -> Result<(), ZeroFsError> {
    let mut at = offset;
    let writes = payload.iter().map(|chunk| {
        let off = at;
        at += chunk.len() as u64;
        file.write_at_bytes(off, chunk.clone())
    });
    try_join_all(writes).await.map(drop)
}

/// An upload in progress: parts land at their offsets in the staging file as they arrive;
/// `complete` renames it into place, `abort` (or dropping the upload) removes it.
#[derive(Debug)]
struct Upload {
    store: ZeroFsStore,
    /// The open staging file and its path, until completed or aborted.
    state: Option<(Arc<File>, String)>,
    dest: String,
    /// Where the next part goes.
    offset: u64,
}

impl Upload {
    fn finished(&self) -> object_store::Error {
        generic(format!(
            "{}: the upload was completed or aborted",
            self.dest
        ))
    }
}

#[async_trait]
impl MultipartUpload for Upload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let Some((file, staging)) = self.state.clone() else {
            return futures::future::ready(Err(self.finished())).boxed();
        };
        let offset = self.offset;
        self.offset += data.content_length() as u64;
        async move {
            write_payload(&file, offset, &data)
                .await
                .map_err(|e| write_error(e, &staging))
        }
        .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let (file, staging) = self.state.take().ok_or_else(|| self.finished())?;
        let finished = self.store.finish_file(&file).await;
        drop(file);
        let md = match finished {
            Ok(md) => md,
            Err(e) => {
                self.store.discard(&staging).await;
                return Err(write_error(e, &self.dest));
            }
        };
        self.store
            .publish(&staging, &self.dest, Publish::Overwrite)
            .await?;
        Ok(put_result(&md))
    }

    async fn abort(&mut self) -> Result<()> {
        let (file, staging) = self.state.take().ok_or_else(|| self.finished())?;
        drop(file);
        self.store
            .client
            .remove_file(&staging)
            .await
            .map_err(|e| write_error(e, &staging))
    }
}

impl Drop for Upload {
    /// An upload dropped unfinished removes its staging file in the background (when a tokio
    /// runtime is there to run it; otherwise the name stays, and listings skip it).
    fn drop(&mut self) {
        if let Some((file, staging)) = self.state.take() {
            drop(file);
            let store = self.store.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { store.discard(&staging).await });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerofs_client::{FileType, Timestamp};

    #[test]
    fn e_tags_change_with_inode_mtime_and_size() {
        let md = |ino, secs, size| Metadata {
            ino,
            file_type: FileType::File,
            mode: 0o100644,
            nlink: 1,
            uid: 0,
            gid: 0,
            size,
            block_size: 4096,
            blocks: 0,
            rdev: 0,
            atime: Timestamp::new(0, 0),
            mtime: Timestamp::new(secs, 5),
            ctime: Timestamp::new(0, 0),
            btime: Timestamp::new(0, 0),
            data_version: 0,
        };
        let base = e_tag(&md(0x10, 1, 3));
        assert_eq!(base, format!("\"10-{:x}-3\"", 1_000_000_005u64));
        assert_ne!(base, e_tag(&md(0x11, 1, 3)));
        assert_ne!(base, e_tag(&md(0x10, 2, 3)));
        assert_ne!(base, e_tag(&md(0x10, 1, 4)));
    }
}
