//! Client-side symlink resolution for `metadata` and `canonicalize` (at most 40 links).
//!
//! Fast path: one walk of the literal path with its stat; done unless it fails (other than a
//! definite `ENOENT`) or ends on a symlink. Otherwise the path is walked one name at a time
//! from the deepest resolved directory, keeping each directory's fid so `..` (only possible
//! inside link targets) costs nothing; a symlink's target is read and its names are resolved
//! in its place (an absolute target restarts at the attach root).

use std::collections::VecDeque;

use bytes::Bytes;
use zerofs_9p_proto::Stat;
use zerofs_9p_proto::consts::{errno, mode};
use zerofs_session::Fid;

use crate::ctx::{Ctx, OrPath, is_errno};
use crate::error::ZeroFsError;
use crate::path::ValidPath;

/// Most symlinks followed in one resolution (Linux's `MAXSYMLINKS`).
pub(crate) const MAX_HOPS: usize = 40;

/// A resolved path: the final node's stat and its link-free name list from the root.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// Attributes of the final node (never a symlink).
    pub stat: Stat,
    /// Names from the attach root.
    pub names: Vec<Bytes>,
}

fn is_symlink(stat: &Stat) -> bool {
    stat.mode & mode::S_IFMT == mode::S_IFLNK
}

impl Ctx {
    /// Resolves every symlink of `path`.
    pub(crate) async fn resolve(&self, path: &ValidPath) -> Result<Resolved, ZeroFsError> {
        let root = self.session.root();
        let display = path.display.as_str();
        if path.is_root() {
            let stat = self.getattr(root).await.at(display)?;
            return Ok(Resolved {
                stat,
                names: Vec::new(),
            });
        }
        match self.walk_stat(root, &path.components).await {
            Ok((_, stat)) if !is_symlink(&stat) => {
                return Ok(Resolved {
                    stat,
                    names: path.components.clone(),
                });
            }
            Err(e) if is_errno(&e, errno::ENOENT) => {
                return Err(ZeroFsError::from_session(e, display));
            }
            _ => {}
        }
        self.resolve_stepwise(path).await
    }

    async fn resolve_stepwise(&self, path: &ValidPath) -> Result<Resolved, ZeroFsError> {
        let display = path.display.as_str();
        let root = self.session.root();
        let mut stack: Vec<(Bytes, Fid)> = Vec::new();
        let mut queue: VecDeque<Bytes> = path.components.iter().cloned().collect();
        let mut hops = 0;
        while let Some(name) = queue.pop_front() {
            match &name[..] {
                b"" | b"." => continue,
                b".." => {
                    stack.pop();
                    continue;
                }
                _ => {}
            }
            let cur = stack.last().map_or(root, |(_, f)| f);
            let last = queue.is_empty();
            let one = std::slice::from_ref(&name);
            // The final name needs a stat; intermediate ones only their qid type.
            let (fid, is_link, is_dir, stat) = if last {
                let (fid, stat) = self.walk_stat(cur, one).await.at(display)?;
                let ty = stat.mode & mode::S_IFMT;
                (fid, ty == mode::S_IFLNK, ty == mode::S_IFDIR, Some(stat))
            } else {
                let (fid, qid) = self.walk_qid(cur, one).await.at(display)?;
                let ty = qid.map(|q| q.ty).unwrap_or_default();
                (fid, ty.is_symlink(), ty.is_dir(), None)
            };
            if is_link {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(ZeroFsError::TooManySymlinks {
                        path: display.to_owned(),
                    });
                }
                let target = self.readlink(&fid).await.at(display)?;
                if target.starts_with(b"/") {
                    stack.clear();
                }
                let parts: Vec<Bytes> = target
                    .split(|&b| b == b'/')
                    .filter(|p| !p.is_empty() && *p != b".")
                    .map(|p| target.slice_ref(p))
                    .collect();
                for p in parts.into_iter().rev() {
                    queue.push_front(p);
                }
                continue;
            }
            if let Some(stat) = stat {
                let names = stack
                    .into_iter()
                    .map(|(n, _)| n)
                    .chain(std::iter::once(name))
                    .collect();
                return Ok(Resolved { stat, names });
            }
            if !is_dir {
                return Err(ZeroFsError::NotADirectory {
                    path: display.to_owned(),
                });
            }
            stack.push((name, fid));
        }
        // The names ran out on a directory (a target ending in `..` or `/`).
        let cur = stack.last().map_or(root, |(_, f)| f);
        let stat = self.getattr(cur).await.at(display)?;
        Ok(Resolved {
            stat,
            names: stack.into_iter().map(|(n, _)| n).collect(),
        })
    }
}
