//! Whole-tree operations: `create_dir_all`, `remove_dir_all`, and the listing step they share
//! with `walk`.

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use zerofs_9p_proto::consts::{errno, mode};
use zerofs_9p_proto::{Dialect, Tmkdir};
use zerofs_session::{Fid, SessionError};

use crate::ctx::{Ctx, OrPath, is_errno};
use crate::error::ZeroFsError;
use crate::path::{ValidPath, join_display};
use crate::records::FileType;
use crate::walk::FidRef;

/// Entries removed concurrently per directory by `remove_dir_all` (1 on plain servers: the
/// published ZeroFS 0.19.1 miscounts a directory emptied by parallel unlinks).
const REMOVE_CONCURRENCY: usize = 16;

impl Ctx {
    /// `mkdir -p`: one probing walk finds how much of the path exists, then only the missing
    /// directories are made (each `Tmkdir` tolerates a concurrent creator).
    pub(crate) async fn create_dir_all(&self, p: &ValidPath, perm: u32) -> Result<(), ZeroFsError> {
        let d = p.display.as_str();
        let root = self.session.root();
        let comps = &p.components;
        if comps.is_empty() {
            return Ok(());
        }
        let existing = match self.walk_qid(root, comps).await {
            Ok((_, qid)) => {
                let ty = qid.map(|q| q.ty).unwrap_or_default();
                if ty.is_dir() {
                    return Ok(());
                }
                if ty.is_symlink()
                    && self.resolve(p).await?.stat.mode & mode::S_IFMT == mode::S_IFDIR
                {
                    return Ok(());
                }
                return Err(ZeroFsError::NotADirectory {
                    path: p.display.clone(),
                });
            }
            Err(SessionError::PartialWalk { walked, .. }) => walked,
            // A 1.2+ server answers Rlerror only when the first name fails; plain servers may
            // do so for any name, so start from the root (every mkdir tolerates EEXIST).
            Err(e) if is_errno(&e, errno::ENOENT) => 0,
            Err(e) => return Err(ZeroFsError::from_session(e, d)),
        };
        let mut dir: FidRef<'_> = self.at_dir(root, &comps[..existing]).await.at(d)?;
        let mut last_existed = false;
        for (i, name) in comps.iter().enumerate().skip(existing) {
            let body = Tmkdir {
                dfid: dir.id(),
                name: name.clone(),
                mode: perm & 0o7777,
                gid: self.gid,
            };
            last_existed = match self.mkdir_only(body).await {
                Ok(()) => false,
                Err(e) if is_errno(&e, errno::EEXIST) => true,
                Err(e) => return Err(ZeroFsError::from_session(e, d)),
            };
            if i + 1 < comps.len() {
                dir = FidRef::Owned(self.walk(&dir, std::slice::from_ref(name)).await.at(d)?);
            }
        }
        if last_existed && self.resolve(p).await?.stat.mode & mode::S_IFMT != mode::S_IFDIR {
            return Err(ZeroFsError::NotADirectory {
                path: p.display.clone(),
            });
        }
        Ok(())
    }

    /// The tree walker's step, shared by `remove_dir_all` and `walk`: walks from `base` to the
    /// directory `names`, lists it whole (one listing fid, released after), and returns the
    /// directory's (unopened) fid with its entries.
    pub(crate) async fn list_dir(
        &self,
        base: &Fid,
        names: &[Bytes],
        display: &str,
    ) -> Result<(Fid, Vec<crate::records::DirEntry>), ZeroFsError> {
        let (dir, stat) = if names.is_empty() {
            (self.walk(base, &[]).await.at(display)?, None)
        } else {
            self.walk_maybe_stat(base, names).await.at(display)?
        };
        if crate::walk::node_is_dir(&dir, stat.as_ref()) == Some(false) {
            return Err(ZeroFsError::NotADirectory {
                path: display.to_owned(),
            });
        }
        let listing = self.open_listing(&dir).await.at(display)?;
        let entries = self.list_all(&listing).await.at(display)?;
        Ok((dir, entries))
    }

    /// Removes the directory `name` in `parent` with everything below it: one listing per
    /// directory, then the entries (concurrently on ZeroFS dialects), then the directory.
    pub(crate) fn remove_tree<'a>(
        &'a self,
        parent: &'a Fid,
        name: Bytes,
        display: String,
    ) -> BoxFuture<'a, Result<(), ZeroFsError>> {
        Box::pin(async move {
            let d = display.as_str();
            let (dir, entries) = self
                .list_dir(parent, std::slice::from_ref(&name), d)
                .await?;
            let width = if self.dialect() == Dialect::Plain {
                1
            } else {
                REMOVE_CONCURRENCY
            };
            let dir = &dir;
            futures::stream::iter(entries)
                .map(|e| async move {
                    let child = Bytes::from(e.name_bytes);
                    let cd = join_display(d, &child);
                    match e.file_type {
                        FileType::Dir => self.remove_tree(dir, child, cd).await,
                        FileType::Unknown => match self.unlink(dir, child.clone(), false).await {
                            Err(e) if is_errno(&e, errno::EISDIR) || is_errno(&e, errno::EPERM) => {
                                self.remove_tree(dir, child, cd).await
                            }
                            other => other.at(&cd),
                        },
                        _ => self.unlink(dir, child, false).await.at(&cd),
                    }
                })
                .buffer_unordered(width)
                .try_collect::<()>()
                .await?;
            self.unlink(parent, name, true).await.at(d)
        })
    }
}
