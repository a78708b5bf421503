//! Walk helpers: from a base fid (the attach root or a directory handle) to a name list,
//! with the stat when the dialect gives it for free.

use std::ops::Deref;

use bytes::Bytes;
use zerofs_9p_proto::consts::getattr;
use zerofs_9p_proto::{Qid, Stat, Tgetattr, kind};
use zerofs_session::{Fid, SessionError};

use crate::ctx::{Ctx, SResult};

/// A fid that is either borrowed (the base itself, no round trip) or owned (walked).
#[derive(Debug)]
pub(crate) enum FidRef<'a> {
    /// The base fid.
    Borrowed(&'a Fid),
    /// A new fid, released when dropped.
    Owned(Fid),
}

impl Deref for FidRef<'_> {
    type Target = Fid;
    fn deref(&self) -> &Fid {
        match self {
            FidRef::Borrowed(f) => f,
            FidRef::Owned(f) => f,
        }
    }
}

impl Ctx {
    /// A fid for `names` under `base`: `base` itself when `names` is empty (no round trip),
    /// else a walked fid. Only for requests that leave the fid unchanged (`T*at`, `Tmkdir`,
    /// `Tgetattr`, `Tsetattr`...).
    pub(crate) async fn at<'a>(&self, base: &'a Fid, names: &[Bytes]) -> SResult<FidRef<'a>> {
        if names.is_empty() {
            return Ok(FidRef::Borrowed(base));
        }
        self.walk(base, names).await.map(FidRef::Owned)
    }

    /// Like [`at`](Self::at), for a directory: a walked node that is not a directory is
    /// `ENOTDIR` without asking the server (its qid says so).
    pub(crate) async fn at_dir<'a>(&self, base: &'a Fid, names: &[Bytes]) -> SResult<FidRef<'a>> {
        let fid = self.at(base, names).await?;
        if node_is_dir(&fid, None) == Some(false) {
            return Err(SessionError::Server(
                zerofs_9p_proto::consts::errno::ENOTDIR,
            ));
        }
        Ok(fid)
    }

    /// A new fid for `names` under `base` (a clone when `names` is empty).
    pub(crate) async fn walk(&self, base: &Fid, names: &[Bytes]) -> SResult<Fid> {
        self.session.walk(base, names).await.map(|(f, _)| f)
    }

    /// A new fid for `names` under `base` with the qid of the last name (of `base` for a clone).
    pub(crate) async fn walk_qid(
        &self,
        base: &Fid,
        names: &[Bytes],
    ) -> SResult<(Fid, Option<Qid>)> {
        let (fid, qids) = self.session.walk(base, names).await?;
        let qid = qids.last().copied().or_else(|| fid.qid());
        Ok((fid, qid))
    }

    /// A new fid and its stat: one `Twalkgetattr` where available, else walk + `Tgetattr`.
    pub(crate) async fn walk_stat(&self, base: &Fid, names: &[Bytes]) -> SResult<(Fid, Stat)> {
        self.session.walk_getattr(base, names).await
    }

    /// A new fid, with its stat when that costs no extra round trip (gen 1+).
    pub(crate) async fn walk_maybe_stat(
        &self,
        base: &Fid,
        names: &[Bytes],
    ) -> SResult<(Fid, Option<Stat>)> {
        if self.gen1() {
            let (fid, stat) = self.walk_stat(base, names).await?;
            Ok((fid, Some(stat)))
        } else {
            Ok((self.walk(base, names).await?, None))
        }
    }

    /// The stat of `names` under `base` (`Tgetattr` on `base` itself when `names` is empty).
    /// Identical concurrent calls share one round trip sent after each of them started
    /// ([`Coalescer`](crate::coalesce::Coalescer)).
    pub(crate) async fn stat_at(&self, base: &Fid, names: &[Bytes]) -> SResult<Stat> {
        let key = (base.id(), names.to_vec());
        self.stats
            .run(key, || async {
                if names.is_empty() {
                    self.getattr(base).await
                } else {
                    self.walk_stat(base, names).await.map(|(_, s)| s)
                }
            })
            .await
    }

    /// `Tgetattr` of every field.
    pub(crate) async fn getattr(&self, fid: &Fid) -> SResult<Stat> {
        let body = Tgetattr {
            fid: fid.id(),
            request_mask: getattr::ALL,
        };
        let r = self.session.call_typed::<kind::Tgetattr>(body).await?;
        Ok(r.stat)
    }
}

/// Whether the node is a directory, from its stat or else its qid (`None`: unknown).
pub(crate) fn node_is_dir(fid: &Fid, stat: Option<&Stat>) -> Option<bool> {
    use zerofs_9p_proto::consts::mode;
    match stat {
        Some(s) => Some(s.mode & mode::S_IFMT == mode::S_IFDIR),
        None => fid.qid().map(|q| q.ty.is_dir()),
    }
}
