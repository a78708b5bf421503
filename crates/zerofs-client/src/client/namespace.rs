//! Namespace operations: create, remove, rename, link, and opening directories.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::Client;
use crate::ctx::{Ctx, OrPath};
use crate::dir::Dir;
use crate::error::ZeroFsError;
use crate::listing::LIST_FLAGS;
use crate::path::ValidPath;
use crate::records::{DirEntry, Metadata, NodeKind};
use crate::walk::{FidRef, node_is_dir};

/// A path's parent directory (walked), with the context, the last name, and the path as
/// errors show it.
type InParent<'a> = (&'a Arc<Ctx>, FidRef<'a>, Bytes, String);

impl Client {
    /// Walks to the parent directory of `path` (which must name something below the root).
    async fn in_parent(&self, path: &Path) -> Result<InParent<'_>, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path)?;
        let (parent, name) = p.split_last()?;
        let dir = cx.at_dir(cx.session.root(), parent).await.at(&p.display)?;
        Ok((cx, dir, name.clone(), p.display))
    }

    /// Creates a directory with permission bits `mode`; returns its metadata.
    /// `AlreadyExists` if the name is taken.
    #[tracing::instrument(level = "debug", name = "create_dir", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn create_dir(
        &self,
        path: impl AsRef<Path>,
        mode: u32,
    ) -> Result<Metadata, ZeroFsError> {
        let (cx, dir, name, d) = self.in_parent(path.as_ref()).await?;
        let stat = cx.mkdir(&dir, name, mode).await.at(&d)?;
        Ok(Metadata::from_stat(&stat))
    }

    /// Creates a directory and every missing parent (like `mkdir -p`). Succeeds if the path
    /// already is a directory, or a symlink to one; anything else is `NotADirectory`.
    ///
    /// One walk finds the longest existing prefix; only the missing directories are made.
    #[tracing::instrument(level = "debug", name = "create_dir_all", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn create_dir_all(
        &self,
        path: impl AsRef<Path>,
        mode: u32,
    ) -> Result<(), ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        cx.create_dir_all(&p, mode).await
    }

    /// Removes a file, symlink or special node (not a directory).
    #[tracing::instrument(level = "debug", name = "remove_file", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn remove_file(&self, path: impl AsRef<Path>) -> Result<(), ZeroFsError> {
        self.remove(path.as_ref(), false).await
    }

    /// Removes an empty directory (`DirectoryNotEmpty` otherwise).
    #[tracing::instrument(level = "debug", name = "remove_dir", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn remove_dir(&self, path: impl AsRef<Path>) -> Result<(), ZeroFsError> {
        self.remove(path.as_ref(), true).await
    }

    async fn remove(&self, path: &Path, dir: bool) -> Result<(), ZeroFsError> {
        let (cx, pfid, name, d) = self.in_parent(path).await?;
        cx.unlink(&pfid, name, dir).await.at(&d)
    }

    /// Removes a directory and everything below it (symlinks are removed, never followed).
    /// Each directory is listed once. Not atomic; stops at the first error. The attach root
    /// is refused with `InvalidArgument`.
    #[tracing::instrument(level = "debug", name = "remove_dir_all", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn remove_dir_all(&self, path: impl AsRef<Path>) -> Result<(), ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        if p.is_root() {
            return Err(ZeroFsError::invalid("refusing to remove the attach root"));
        }
        let (parent, name) = p.split_last()?;
        let pfid = cx.at_dir(cx.session.root(), parent).await.at(&p.display)?;
        cx.remove_tree(&pfid, name.clone(), p.display.clone()).await
    }

    /// Renames `from` to `to`, replacing an existing `to` (server semantics). Errors name
    /// `from`.
    #[tracing::instrument(level = "debug", name = "rename", skip_all, fields(path = %from.as_ref().display()), err(level = "debug", Display))]
    pub async fn rename(
        &self,
        from: impl AsRef<Path>,
        to: impl AsRef<Path>,
    ) -> Result<(), ZeroFsError> {
        let cx = self.cx()?;
        let f = ValidPath::new(from.as_ref())?;
        let t = ValidPath::new(to.as_ref())?;
        let (fparent, fname) = f.split_last()?;
        let (tparent, tname) = t.split_last()?;
        let d = f.display.as_str();
        let root = cx.session.root();
        if fparent == tparent {
            let dir = cx.at_dir(root, fparent).await.at(d)?;
            return cx
                .rename(&dir, fname.clone(), &dir, tname.clone())
                .await
                .at(d);
        }
        let (fdir, tdir) =
            futures::try_join!(cx.at_dir(root, fparent), cx.at_dir(root, tparent)).at(d)?;
        cx.rename(&fdir, fname.clone(), &tdir, tname.clone())
            .await
            .at(d)
    }

    /// Creates the hard link `link` to `original` (not followed if a symlink); returns the
    /// file's metadata (with the new link count).
    #[tracing::instrument(level = "debug", name = "hard_link", skip_all, fields(path = %original.as_ref().display()), err(level = "debug", Display))]
    pub async fn hard_link(
        &self,
        original: impl AsRef<Path>,
        link: impl AsRef<Path>,
    ) -> Result<Metadata, ZeroFsError> {
        let cx = self.cx()?;
        let o = ValidPath::new(original.as_ref())?;
        let l = ValidPath::new(link.as_ref())?;
        let (lparent, lname) = l.split_last()?;
        let d = l.display.as_str();
        let root = cx.session.root();
        let (dir, file) =
            futures::try_join!(cx.at_dir(root, lparent), cx.walk(root, &o.components)).at(d)?;
        let stat = cx.link(&dir, &file, lname.clone()).await.at(d)?;
        Ok(Metadata::from_stat(&stat))
    }

    /// Creates the symlink `link_path` pointing to `target` (stored verbatim, as in
    /// `std::os::unix::fs::symlink`).
    #[tracing::instrument(level = "debug", name = "symlink", skip_all, fields(path = %link_path.as_ref().display()), err(level = "debug", Display))]
    pub async fn symlink(
        &self,
        target: impl AsRef<Path>,
        link_path: impl AsRef<Path>,
    ) -> Result<Metadata, ZeroFsError> {
        let (cx, dir, name, d) = self.in_parent(link_path.as_ref()).await?;
        let target = Bytes::copy_from_slice(target.as_ref().as_os_str().as_bytes());
        let stat = cx.symlink(&dir, name, target).await.at(&d)?;
        Ok(Metadata::from_stat(&stat))
    }

    /// The target of a symlink, verbatim.
    #[tracing::instrument(level = "debug", name = "read_link", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn read_link(&self, path: impl AsRef<Path>) -> Result<PathBuf, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let d = p.display.as_str();
        let fid = cx.at(cx.session.root(), &p.components).await.at(d)?;
        let target = cx.readlink(&fid).await.at(d)?;
        Ok(PathBuf::from(OsString::from_vec(target.to_vec())))
    }

    /// Creates a fifo, socket or device node with permission bits `mode`.
    #[tracing::instrument(level = "debug", name = "mknod", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn mknod(
        &self,
        path: impl AsRef<Path>,
        kind: NodeKind,
        mode: u32,
    ) -> Result<Metadata, ZeroFsError> {
        let (cx, dir, name, d) = self.in_parent(path.as_ref()).await?;
        let stat = cx.mknod(&dir, name, kind.to_wire(mode)).await.at(&d)?;
        Ok(Metadata::from_stat(&stat))
    }

    /// Every entry of a directory (without `.` and `..`), in server order; with inline
    /// metadata on ZeroFS dialects.
    #[tracing::instrument(level = "debug", name = "read_dir", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn read_dir(&self, path: impl AsRef<Path>) -> Result<Vec<DirEntry>, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        let d = p.display.as_str();
        let root = cx.session.root();
        let listing = if p.is_root() {
            cx.open_listing(root).await.at(d)?
        } else {
            let (fid, stat) = cx.walk_maybe_stat(root, &p.components).await.at(d)?;
            if node_is_dir(&fid, stat.as_ref()) == Some(false) {
                return Err(ZeroFsError::NotADirectory { path: p.display });
            }
            cx.session.lopen(&fid, LIST_FLAGS).await.at(d)?;
            fid
        };
        cx.list_all(&listing).await.at(d)
    }

    /// Opens a directory handle for listing and `*_at` operations. The attach root costs
    /// no round trip; other paths one walk.
    #[tracing::instrument(level = "debug", name = "open_dir", skip_all, fields(path = %path.as_ref().display()), err(level = "debug", Display))]
    pub async fn open_dir(&self, path: impl AsRef<Path>) -> Result<Arc<Dir>, ZeroFsError> {
        let cx = self.cx()?;
        let p = ValidPath::new(path.as_ref())?;
        if p.is_root() {
            return Ok(Arc::new(Dir::new(cx.clone(), None, p.display)));
        }
        let d = p.display.as_str();
        let (fid, stat) = cx
            .walk_maybe_stat(cx.session.root(), &p.components)
            .await
            .at(d)?;
        if node_is_dir(&fid, stat.as_ref()) == Some(false) {
            return Err(ZeroFsError::NotADirectory { path: p.display });
        }
        Ok(Arc::new(Dir::new(cx.clone(), Some(fid), p.display)))
    }
}
