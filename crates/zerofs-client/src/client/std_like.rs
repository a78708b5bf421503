//! What users of `std::fs` / `tokio::fs` expect under std's names: `read_to_string`, `copy`,
//! `symlink_metadata`, `set_permissions`, and a recursive `walk`.

use std::path::Path;

use super::Client;
use crate::error::ZeroFsError;
use crate::records::{Metadata, OpenOptions, SetAttrs};

/// Bytes per read in [`Client::copy`] (each read is itself pipelined by the session).
const COPY_CHUNK: u32 = 8 << 20;

impl Client {
    /// Reads a whole file as UTF-8, as `std::fs::read_to_string` does; a file that is not
    /// valid UTF-8 is [`ZeroFsError::InvalidArgument`] (std: `InvalidData`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
    /// # let client = zerofs_client::Client::connect(&server.target()).await?;
    /// client.write("/greeting", "hello").await?;
    /// assert_eq!(client.read_to_string("/greeting").await?, "hello");
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(level = "debug", name = "read_to_string", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn read_to_string(&self, path: impl AsRef<Path>) -> Result<String, ZeroFsError> {
        let path = path.as_ref();
        let bytes = self.read(path).await?;
        String::from_utf8(bytes.into()).map_err(|_| {
            ZeroFsError::invalid(format!(
                "{}: stream did not contain valid UTF-8",
                path.display()
            ))
        })
    }

    /// The attributes of `path` itself, not following a final symlink: the same as
    /// [`stat`](Self::stat), under `std::fs::symlink_metadata`'s name.
    #[tracing::instrument(level = "debug", name = "symlink_metadata", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn symlink_metadata(&self, path: impl AsRef<Path>) -> Result<Metadata, ZeroFsError> {
        self.stat(path).await
    }

    /// Sets the permission bits (`mode & 0o7777`): [`chmod`](Self::chmod) under
    /// `std::fs::set_permissions`'s name (and its `()` result).
    #[tracing::instrument(level = "debug", name = "set_permissions", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn set_permissions(
        &self,
        path: impl AsRef<Path>,
        mode: u32,
    ) -> Result<(), ZeroFsError> {
        self.chmod(path, mode).await.map(drop)
    }

    /// Copies the contents of the file `from` to `to` (created, or truncated if it exists) and
    /// gives `to` the permission bits of `from`, as `std::fs::copy` does; returns the bytes
    /// copied. No ZeroFS dialect has a server-side copy, so the data travels through the
    /// client: pipelined reads of 8 MiB, each written back before the next (memory stays
    /// bounded for any file size). Copying a file onto itself empties it, as with std.
    #[tracing::instrument(level = "debug", name = "copy", skip_all, fields(path = %from.as_ref().display()), err(level = "debug", Display))]
    pub async fn copy(
        &self,
        from: impl AsRef<Path>,
        to: impl AsRef<Path>,
    ) -> Result<u64, ZeroFsError> {
        let src = self.open(from.as_ref(), OpenOptions::read_only()).await?;
        let meta = src.metadata().await?;
        if meta.is_dir() {
            return Err(ZeroFsError::IsADirectory {
                path: from.as_ref().display().to_string(),
            });
        }
        let perm = meta.permissions();
        let dst = self
            .open(
                to.as_ref(),
                OpenOptions::write_only()
                    .create(true)
                    .truncate(true)
                    .mode(perm),
            )
            .await?;
        let mut at = 0u64;
        loop {
            let chunk = src.read_at(at, COPY_CHUNK).await?;
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len() as u64;
            dst.write_at_bytes(at, chunk).await?;
            at += n;
        }
        if dst.metadata().await?.permissions() != perm {
            dst.set_attr(SetAttrs {
                mode: Some(perm),
                ..SetAttrs::default()
            })
            .await?;
        }
        Ok(at)
    }

    /// Every entry below the directory `path`, recursively, as a stream of
    /// [`WalkEntry`](crate::WalkEntry) (path, depth, entry): depth first, each directory
    /// before its contents, symlinks not followed. It shares the tree walker of
    /// [`remove_dir_all`](Self::remove_dir_all): one listing per directory.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
    /// # let client = zerofs_client::Client::connect(&server.target()).await?;
    /// use futures::TryStreamExt;
    ///
    /// client.create_dir_all("/t/a/b", 0o755).await?;
    /// client.write("/t/a/b/f", "x").await?;
    /// let mut found: Vec<(String, usize)> = client
    ///     .walk("/t")?
    ///     .map_ok(|e| (e.path.display().to_string(), e.depth))
    ///     .try_collect()
    ///     .await?;
    /// found.sort();
    /// assert_eq!(found, [("/t/a".into(), 1), ("/t/a/b".into(), 2), ("/t/a/b/f".into(), 3)]);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "stream")]
    pub fn walk(&self, path: impl AsRef<Path>) -> Result<crate::Walk, ZeroFsError> {
        self.walk_with(path, crate::WalkOptions::default())
    }

    /// [`walk`](Self::walk) with [`WalkOptions`](crate::WalkOptions): sorted, limited in
    /// depth, filtered, going on past unlistable directories, or each directory's entries
    /// before what is below them.
    #[cfg(feature = "stream")]
    pub fn walk_with(
        &self,
        path: impl AsRef<Path>,
        opts: crate::WalkOptions,
    ) -> Result<crate::Walk, ZeroFsError> {
        let cx = self.cx()?;
        let p = crate::path::ValidPath::new(path.as_ref())?;
        Ok(crate::Walk::new(
            cx.clone(),
            p,
            path.as_ref().to_path_buf(),
            opts,
        ))
    }
}
