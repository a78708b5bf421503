//! Opening files by name: walk and open, or create exclusively, retrying lost races.

use bytes::Bytes;
use zerofs_9p_proto::consts::{errno, mode, open};
use zerofs_9p_proto::{Qid, Stat};
use zerofs_session::Fid;

use crate::ctx::{Ctx, OrPath, SResult, is_errno};
use crate::error::ZeroFsError;
use crate::records::OpenOptions;
use crate::walk::FidRef;

/// Create attempts before giving up on a create/delete race.
const ROUNDS: usize = 4;

/// An opened file.
#[derive(Debug)]
pub(crate) struct Opened {
    /// The opened fid.
    pub fid: Fid,
    /// Its stat, when it came for free (gen 1+ walk, gen 2 create).
    pub stat: Option<Stat>,
    /// The file was created by this open (so it is empty).
    pub created: bool,
}

impl Opened {
    /// The size at open time, if known without a round trip.
    pub(crate) fn known_size(&self) -> Option<u64> {
        if self.created {
            Some(0)
        } else {
            self.stat.map(|s| s.size)
        }
    }
}

/// The access bits of `opts`, or `InvalidArgument` when it has neither read nor write.
pub(crate) fn access(opts: &OpenOptions) -> Result<u32, ZeroFsError> {
    match (opts.read, opts.write) {
        (true, true) => Ok(open::RDWR),
        (false, true) => Ok(open::WRONLY),
        (true, false) => Ok(open::RDONLY),
        (false, false) => Err(ZeroFsError::invalid(
            "open requires read and/or write access",
        )),
    }
}

impl Ctx {
    /// Opens `parent/name` under `base` with `opts` (truncation is left to the caller).
    ///
    /// Without `create_new`: walk to the file (with its stat at gen 1+) and `Tlopen` it. A
    /// missing file with `create` (or `create_new`) is created exclusively (`O_EXCL`, so
    /// servers that would open an existing file refuse instead): `Tlcreateattr` on the parent
    /// (gen 2), else `Tlcreate` on a fresh fid walked to the parent. Losing a race to another
    /// creator retries the open, up to 4 rounds.
    pub(crate) async fn open_in(
        &self,
        base: &Fid,
        parent: &[Bytes],
        name: &Bytes,
        opts: &OpenOptions,
        display: &str,
    ) -> Result<Opened, ZeroFsError> {
        let acc = access(opts)?;
        let full: Vec<Bytes> = parent
            .iter()
            .chain(std::iter::once(name))
            .cloned()
            .collect();
        // A missing file costs a round trip to learn; at gen 1+ the walk to its parent (which
        // creating it needs) goes out at the same time, so a create costs no extra latency and
        // an existing file one extra concurrent request (still fewer than the reference). On
        // plain servers, where every request costs more, the walks stay sequential.
        let speculate = opts.create && !parent.is_empty() && self.gen1();
        let mut parent_fid = None;
        for _ in 0..ROUNDS {
            if !opts.create_new {
                let walked = if speculate && parent_fid.is_none() {
                    let (file, dir) = futures::join!(
                        self.walk_maybe_stat(base, &full),
                        self.walk_qid(base, parent)
                    );
                    parent_fid = Some(dir);
                    file
                } else {
                    self.walk_maybe_stat(base, &full).await
                };
                match walked {
                    Ok((fid, stat)) => {
                        if opts.write && crate::walk::node_is_dir(&fid, stat.as_ref()) == Some(true)
                        {
                            return Err(ZeroFsError::IsADirectory {
                                path: display.to_owned(),
                            });
                        }
                        self.session.lopen(&fid, acc).await.at(display)?;
                        return Ok(Opened {
                            fid,
                            stat,
                            created: false,
                        });
                    }
                    Err(e) if opts.create && is_errno(&e, errno::ENOENT) => {}
                    Err(zerofs_session::SessionError::PartialWalk { walked, .. })
                        if opts.create && walked == parent.len() => {}
                    Err(e) => return Err(ZeroFsError::from_session(e, display)),
                }
            }
            match self
                .create_in(base, parent, parent_fid.take(), name, acc, opts.mode)
                .await
            {
                Ok(opened) => return Ok(opened),
                Err(e) if is_errno(&e, errno::EEXIST) && !opts.create_new => continue,
                Err(e) => return Err(ZeroFsError::from_session(e, display)),
            }
        }
        Err(ZeroFsError::Io {
            errno: errno::EAGAIN as i32,
            path: display.to_owned(),
            message: "open/create raced with concurrent creates and removes".into(),
        })
    }

    /// Creates and opens `parent/name` exclusively. `walked` is a fresh fid for `parent` (and
    /// its qid) walked beforehand, if any.
    async fn create_in(
        &self,
        base: &Fid,
        parent: &[Bytes],
        walked: Option<SResult<(Fid, Option<Qid>)>>,
        name: &Bytes,
        acc: u32,
        perm: u32,
    ) -> SResult<Opened> {
        let flags = acc | open::CREAT | open::EXCL;
        let fmode = mode::S_IFREG | (perm & 0o7777);
        let walked = match walked {
            Some(w) => {
                let (fid, qid) = w?;
                if qid.is_some_and(|q| !q.ty.is_dir()) {
                    return Err(zerofs_session::SessionError::Server(errno::ENOTDIR));
                }
                Some(fid)
            }
            None => None,
        };
        if self.gen2() {
            let dir = match walked {
                Some(fid) => FidRef::Owned(fid),
                None => self.at_dir(base, parent).await?,
            };
            let (fid, r) = self
                .session
                .lcreateattr(&dir, name.clone(), flags, fmode, self.gid)
                .await?;
            return Ok(Opened {
                fid,
                stat: Some(r.stat),
                created: true,
            });
        }
        // Tlcreate turns the fid into the new file: walk a fresh one to the parent.
        let fid = match walked {
            Some(fid) => fid,
            None => self.walk(base, parent).await?,
        };
        if crate::walk::node_is_dir(&fid, None) == Some(false) {
            return Err(zerofs_session::SessionError::Server(errno::ENOTDIR));
        }
        self.session
            .lcreate(&fid, name.clone(), flags, fmode, self.gid)
            .await?;
        Ok(Opened {
            fid,
            stat: None,
            created: true,
        })
    }
}
