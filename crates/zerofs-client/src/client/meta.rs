//! Metadata operations: stat, symlink-resolving metadata, attributes, statfs, sync.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use super::Client;
use crate::ctx::OrPath;
use crate::error::ZeroFsError;
use crate::path::ValidPath;
use crate::records::{Metadata, SetAttrs, SetTime, StatFs};

impl Client {
    /// The attributes of `path` itself (a symlink is not followed; a path *through* a
    /// symlinked directory is `NotADirectory`). One round trip at gen 1+.
    #[tracing::instrument(level = "debug", name = "stat", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn stat(&self, path: impl AsRef<Path>) -> Result<Metadata, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let stat = cx
            .stat_at(cx.session.root(), &p.components)
            .await
            .at(&p.display)?;
        Ok(Metadata::from_stat(&stat))
    }

    /// The attributes of what `path` names after following every symlink (at most 40), as
    /// `std::fs::metadata` does. A path without symlinks costs what [`stat`](Self::stat) does.
    #[tracing::instrument(level = "debug", name = "metadata", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn metadata(&self, path: impl AsRef<Path>) -> Result<Metadata, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        Ok(Metadata::from_stat(&cx.resolve(&p).await?.stat))
    }

    /// The absolute, symlink-free form of `path` (absolute link targets resolve against the
    /// attach root). Names are kept byte for byte.
    #[tracing::instrument(level = "debug", name = "canonicalize", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn canonicalize(&self, path: impl AsRef<Path>) -> Result<PathBuf, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let names = cx.resolve(&p).await?.names;
        let mut out = Vec::new();
        for n in &names {
            out.push(b'/');
            out.extend_from_slice(n);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Ok(PathBuf::from(OsString::from_vec(out)))
    }

    /// Whether `path` exists (a dangling symlink exists; links are not followed). Errors
    /// other than `NotFound`, such as `NotADirectory`, are returned.
    #[tracing::instrument(level = "debug", name = "exists", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn exists(&self, path: impl AsRef<Path>) -> Result<bool, ZeroFsError> {
        match self.stat(path).await {
            Ok(_) => Ok(true),
            Err(ZeroFsError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Changes the attributes `attrs` sets (on the entry itself, never through a symlink) and
    /// returns the metadata after the change. Times before the epoch are `InvalidArgument`.
    #[tracing::instrument(level = "debug", name = "set_attr", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn set_attr(
        &self,
        path: impl AsRef<Path>,
        attrs: SetAttrs,
    ) -> Result<Metadata, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let wire = attrs.to_wire(0)?;
        let d = p.display.as_str();
        let fid = cx.at(cx.session.root(), &p.components).await.at(d)?;
        let stat = cx
            .setattr(
                &fid,
                zerofs_9p_proto::Tsetattr {
                    fid: fid.id(),
                    ..wire
                },
            )
            .await
            .at(d)?;
        Ok(Metadata::from_stat(&stat))
    }

    /// Sets the permission bits (`mode & 0o7777`).
    #[tracing::instrument(level = "debug", name = "chmod", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn chmod(&self, path: impl AsRef<Path>, mode: u32) -> Result<Metadata, ZeroFsError> {
        self.set_attr(
            path,
            SetAttrs {
                mode: Some(mode & 0o7777),
                ..SetAttrs::default()
            },
        )
        .await
    }

    /// Sets the owner and/or group (`None` leaves it unchanged).
    #[tracing::instrument(level = "debug", name = "chown", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn chown(
        &self,
        path: impl AsRef<Path>,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<Metadata, ZeroFsError> {
        self.set_attr(
            path,
            SetAttrs {
                uid,
                gid,
                ..SetAttrs::default()
            },
        )
        .await
    }

    /// Truncates or extends a file to `size` bytes.
    #[tracing::instrument(level = "debug", name = "truncate", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn truncate(
        &self,
        path: impl AsRef<Path>,
        size: u64,
    ) -> Result<Metadata, ZeroFsError> {
        self.set_attr(
            path,
            SetAttrs {
                size: Some(size),
                ..SetAttrs::default()
            },
        )
        .await
    }

    /// Sets the access and/or modification time (`SetTime::Now` uses the server's clock).
    #[tracing::instrument(level = "debug", name = "set_times", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn set_times(
        &self,
        path: impl AsRef<Path>,
        atime: Option<SetTime>,
        mtime: Option<SetTime>,
    ) -> Result<Metadata, ZeroFsError> {
        self.set_attr(
            path,
            SetAttrs {
                atime,
                mtime,
                ..SetAttrs::default()
            },
        )
        .await
    }

    /// File system statistics (one round trip).
    #[tracing::instrument(
        level = "debug",
        name = "statfs",
        skip_all,
        err(level = "debug", Display)
    )]
    pub async fn statfs(&self) -> Result<StatFs, ZeroFsError> {
        let cx = self.cx()?;
        Ok(StatFs::from(&cx.statfs().await.at("/")?))
    }

    /// Flushes the whole file system to stable storage (ZeroFS's flush is global).
    #[tracing::instrument(
        level = "debug",
        name = "sync",
        skip_all,
        err(level = "debug", Display)
    )]
    pub async fn sync(&self) -> Result<(), ZeroFsError> {
        let cx = self.cx()?;
        cx.sync_all().await.at("/")
    }
}
