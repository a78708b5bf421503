//! Operations on a directory fid and a child name, or on one fid, in the dialect's best
//! messages, with the fallbacks some servers need (remembered per connection).

use bytes::Bytes;
use zerofs_9p_proto::consts::{errno, fallocate, fsyncdur, unlinkat};
use zerofs_9p_proto::{
    Dialect, Rstatfs, Stat, Tfallocate, Tfsync, Tfsyncdur, Tlink, Tmkdir, Tmknod, Treadlink,
    Trename, Trenameat, Tsetattr, Tstatfs, Tsymlink, Tunlinkat, kind,
};
use zerofs_session::{Fid, SessionError};

use crate::ctx::{Ctx, Quirk, SResult, unsupported};

impl Ctx {
    /// Sets attributes and returns the stat after the change: `Tsetattrattr` (gen 2), else
    /// `Tsetattr` + `Tgetattr`.
    pub(crate) async fn setattr(&self, fid: &Fid, t: Tsetattr) -> SResult<Stat> {
        if self.gen2() {
            let r = self.session.call_typed::<kind::Tsetattrattr>(t).await?;
            return Ok(r.stat);
        }
        self.setattr_only(t).await?;
        self.getattr(fid).await
    }

    /// `Tsetattr` without reading the result back.
    pub(crate) async fn setattr_only(&self, t: Tsetattr) -> SResult<()> {
        self.session.call_typed::<kind::Tsetattr>(t).await
    }

    /// Truncates or extends the file `fid` names to `size` (one `Tsetattr`).
    pub(crate) async fn set_size(&self, fid: &Fid, size: u64) -> SResult<()> {
        use zerofs_9p_proto::consts::setattr;
        let t = Tsetattr {
            fid: fid.id(),
            valid: setattr::SIZE,
            size,
            ..Tsetattr::default()
        };
        self.setattr_only(t).await
    }

    /// The stat of `name` just created under `dfid` (for dialects without the `*attr` forms).
    async fn child_stat(&self, dfid: &Fid, name: &Bytes) -> SResult<Stat> {
        self.stat_at(dfid, std::slice::from_ref(name)).await
    }

    /// Creates a directory: `Tmkdirattr` (gen 2), else `Tmkdir` + a stat of the child.
    pub(crate) async fn mkdir(&self, dfid: &Fid, name: Bytes, mode: u32) -> SResult<Stat> {
        let body = Tmkdir {
            dfid: dfid.id(),
            name: name.clone(),
            mode: mode & 0o7777,
            gid: self.gid,
        };
        if self.gen2() {
            let r = self.session.call_typed::<kind::Tmkdirattr>(body).await?;
            return Ok(r.stat);
        }
        self.mkdir_only(body).await?;
        self.child_stat(dfid, &name).await
    }

    /// `Tmkdir` alone (no stat).
    pub(crate) async fn mkdir_only(&self, body: Tmkdir) -> SResult<()> {
        self.session.call_typed::<kind::Tmkdir>(body).await?;
        Ok(())
    }

    /// Creates a symlink whose target is stored verbatim.
    pub(crate) async fn symlink(&self, dfid: &Fid, name: Bytes, target: Bytes) -> SResult<Stat> {
        let body = Tsymlink {
            dfid: dfid.id(),
            name: name.clone(),
            symtgt: target,
            gid: self.gid,
        };
        if self.gen2() {
            let r = self.session.call_typed::<kind::Tsymlinkattr>(body).await?;
            return Ok(r.stat);
        }
        self.session.call_typed::<kind::Tsymlink>(body).await?;
        self.child_stat(dfid, &name).await
    }

    /// Creates a device node, fifo or socket (`mode` carries the type bits).
    pub(crate) async fn mknod(
        &self,
        dfid: &Fid,
        name: Bytes,
        (mode, major, minor): (u32, u32, u32),
    ) -> SResult<Stat> {
        let body = Tmknod {
            dfid: dfid.id(),
            name: name.clone(),
            mode,
            major,
            minor,
            gid: self.gid,
        };
        if self.gen2() {
            let r = self.session.call_typed::<kind::Tmknodattr>(body).await?;
            return Ok(r.stat);
        }
        self.session.call_typed::<kind::Tmknod>(body).await?;
        self.child_stat(dfid, &name).await
    }

    /// Links the file `fid` as `name` in `dfid`; returns the file's stat after the link.
    pub(crate) async fn link(&self, dfid: &Fid, fid: &Fid, name: Bytes) -> SResult<Stat> {
        let body = Tlink {
            dfid: dfid.id(),
            fid: fid.id(),
            name,
        };
        if self.gen2() {
            let r = self.session.call_typed::<kind::Tlinkattr>(body).await?;
            return Ok(r.stat);
        }
        self.session.call_typed::<kind::Tlink>(body).await?;
        self.getattr(fid).await
    }

    /// Removes `name` from `dfid` (`dir`: only a directory, else only a non-directory).
    /// Servers without `Tunlinkat` (diod) get a walk + `Tremove`, checked against the qid type
    /// (the session remembers the refusal per connection and answers it without a round trip).
    pub(crate) async fn unlink(&self, dfid: &Fid, name: Bytes, dir: bool) -> SResult<()> {
        let flags = if dir { unlinkat::REMOVEDIR } else { 0 };
        let body = Tunlinkat {
            dirfid: dfid.id(),
            name: name.clone(),
            flags,
        };
        match self.session.call_typed::<kind::Tunlinkat>(body).await {
            Ok(()) => return Ok(()),
            Err(e) if unsupported(&e) => {}
            Err(e) => return Err(e),
        }
        let (fid, qid) = self.walk_qid(dfid, std::slice::from_ref(&name)).await?;
        match qid.map(|q| q.ty.is_dir()) {
            Some(true) if !dir => return Err(SessionError::Server(errno::EISDIR)),
            Some(false) if dir => return Err(SessionError::Server(errno::ENOTDIR)),
            _ => {}
        }
        self.session.remove(fid).await
    }

    /// Renames `old` in `olddir` to `new` in `newdir` (replacing it). Servers without
    /// `Trenameat` (diod) get a walk + `Trename` (the refusal is remembered by the session).
    pub(crate) async fn rename(
        &self,
        olddir: &Fid,
        old: Bytes,
        newdir: &Fid,
        new: Bytes,
    ) -> SResult<()> {
        let body = Trenameat {
            olddirfid: olddir.id(),
            oldname: old.clone(),
            newdirfid: newdir.id(),
            newname: new.clone(),
        };
        match self.session.call_typed::<kind::Trenameat>(body).await {
            Ok(()) => return Ok(()),
            Err(e) if unsupported(&e) => {}
            Err(e) => return Err(e),
        }
        let fid = self.walk(olddir, std::slice::from_ref(&old)).await?;
        let body = Trename {
            fid: fid.id(),
            dfid: newdir.id(),
            name: new,
        };
        self.session.call_typed::<kind::Trename>(body).await
    }

    /// The target of the symlink `fid`, verbatim.
    pub(crate) async fn readlink(&self, fid: &Fid) -> SResult<Bytes> {
        let body = Treadlink { fid: fid.id() };
        let r = self.session.call_typed::<kind::Treadlink>(body).await?;
        Ok(r.target)
    }

    /// Flushes `fid`: at `.Z` a verified `Tfsyncdur` barrier limited to the fid's inode,
    /// elsewhere `Tfsync`.
    pub(crate) async fn fsync(&self, fid: &Fid, datasync: bool) -> SResult<()> {
        if self.dialect() == Dialect::Z {
            let bits = fsyncdur::INODE | if datasync { fsyncdur::DATASYNC } else { 0 };
            return self.fsyncdur(fid, bits).await;
        }
        let body = Tfsync {
            fid: fid.id(),
            datasync: u32::from(datasync),
        };
        self.session.call_typed::<kind::Tfsync>(body).await
    }

    /// `Tfsyncdur` with the session's durability token. `ESTALE` (the server's lineage is
    /// not the one earlier writes were made under) is returned after adopting the new
    /// lineage, so the caller is told once.
    pub(crate) async fn fsyncdur(&self, fid: &Fid, bits: u32) -> SResult<()> {
        let body = Tfsyncdur {
            fid: fid.id(),
            datasync: bits,
            token: self.session.durability_token(),
        };
        match self.session.call_typed::<kind::Tfsyncdur>(body).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if crate::ctx::is_errno(&e, errno::ESTALE) {
                    tracing::warn!("durability lineage changed: earlier writes may not be durable");
                    if let Err(why) = self.session.refresh_lineage().await {
                        tracing::warn!(error = %why, "could not adopt the new lineage");
                    }
                }
                Err(e)
            }
        }
    }

    /// `Tfallocate` (`.Z` only; elsewhere `EOPNOTSUPP` without a round trip).
    pub(crate) async fn fallocate(
        &self,
        fid: &Fid,
        offset: u64,
        length: u64,
        mode: u32,
    ) -> SResult<()> {
        if self.dialect() != Dialect::Z {
            return Err(SessionError::Server(errno::EOPNOTSUPP));
        }
        let body = Tfallocate {
            fid: fid.id(),
            offset,
            length,
            mode,
        };
        self.session.call_typed::<kind::Tfallocate>(body).await
    }

    /// `Tstatfs` on the attach root.
    pub(crate) async fn statfs(&self) -> SResult<Rstatfs> {
        let body = Tstatfs {
            fid: self.session.root().id(),
        };
        self.session.call_typed::<kind::Tstatfs>(body).await
    }

    /// A file-system-wide flush: at `.Z` a verified `Tfsyncdur` barrier without the INODE bit;
    /// elsewhere `Tfsync` on the attach root; servers that need an opened fid
    /// (diod) get the root opened as a directory first.
    pub(crate) async fn sync_all(&self) -> SResult<()> {
        let root = self.session.root();
        if self.dialect() == Dialect::Z {
            // No INODE bit: a barrier over the whole filesystem.
            return self.fsyncdur(root, 0).await;
        }
        if !self.has(Quirk::FsyncNeedsOpen) {
            match self.fsync(root, false).await {
                Err(e) if crate::ctx::is_errno(&e, errno::EBADF) => {
                    self.learn(Quirk::FsyncNeedsOpen)
                }
                other => return other,
            }
        }
        let opened = self.open_listing(root).await?;
        self.fsync(&opened, false).await
    }
}

/// `Tfallocate` modes (PROTOCOL.md §3.5).
pub(crate) mod falloc {
    use super::fallocate;
    /// Allocate the range (extends the size).
    pub(crate) const ALLOCATE: u32 = 0;
    /// Deallocate the range, keeping the size.
    pub(crate) const PUNCH_HOLE: u32 = fallocate::PUNCH_HOLE | fallocate::KEEP_SIZE;
    /// Zero the range (extends the size unless `KEEP_SIZE`).
    pub(crate) const ZERO_RANGE: u32 = fallocate::ZERO_RANGE;
    /// Zero the range, keeping the size.
    pub(crate) const ZERO_RANGE_KEEP_SIZE: u32 = fallocate::ZERO_RANGE | fallocate::KEEP_SIZE;
}
