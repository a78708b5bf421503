//! Typed fid-creating and fid-releasing operations, which keep the fid records right.

use bytes::Bytes;
use zerofs_9p_proto::consts::{MAXWELEM, getattr};
use zerofs_9p_proto::{
    Message, Qid, Request, Rlcreateattr, Rlopen, Rlopenatread, Stat, Tclunk, Tgetattr,
    Tlcreateattr, Tlopenat, Tlopenatread, Tremove, Twalk, Txattrcreate, Txattrwalk, kind,
};

use crate::effects::{BindHow, Effect};
use crate::error::SessionError;
use crate::fid_guard::Fid;
use crate::session::Session;

/// The effect of a reply that binds `new` as `how` says.
fn bind(new: &Fid, how: BindHow) -> Effect {
    Effect::Bind {
        fid: new.id(),
        generation: new.generation(),
        how,
    }
}

impl Session {
    /// Sends the request `R`, which uses `src` and creates `new` (bound as `how` says on
    /// success).
    async fn request_new_fid<R: Request>(
        &self,
        body: R::Body,
        src: &Fid,
        new: &Fid,
        how: BindHow,
    ) -> Result<R::Reply, SessionError> {
        self.request_typed::<R>(body, bind(new, how), &[src.id(), new.id()])
            .await
    }

    /// One walk request `R` (`Twalk` or `Twalkgetattr`) from `src` into `dst` (which may equal
    /// `src` for an in-place walk).
    async fn walk_once<R: Request<Body = Twalk>>(
        &self,
        src: u32,
        dst: &Fid,
        names: &[Bytes],
    ) -> Result<R::Reply, SessionError> {
        let effect = bind(
            dst,
            BindHow::Walk {
                src,
                names: names.to_vec(),
            },
        );
        let body = Twalk {
            fid: src,
            newfid: dst.id(),
            wnames: names.to_vec(),
        };
        let fids = if src == dst.id() {
            vec![src]
        } else {
            vec![src, dst.id()]
        };
        self.request_typed::<R>(body, effect, &fids).await
    }

    /// Walks `names` from `fid` into a new fid, in messages of at most 16 names (the first
    /// walks into the new fid, later ones walk it in place). Returns the new fid and the qid of
    /// every name. A walk that stops early fails with [`SessionError::PartialWalk`] (a first
    /// name that does not exist gives the server's error) and leaves no fid behind.
    pub async fn walk(&self, fid: &Fid, names: &[Bytes]) -> Result<(Fid, Vec<Qid>), SessionError> {
        let new = self.alloc_fid();
        let mut qids = Vec::with_capacity(names.len());
        let mut chunks: Vec<&[Bytes]> = names.chunks(MAXWELEM).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for (i, chunk) in chunks.iter().enumerate() {
            let src = if i == 0 { fid.id() } else { new.id() };
            let w = self.walk_once::<kind::Twalk>(src, &new, chunk).await?;
            let full = w.wqids.len() == chunk.len();
            qids.extend(w.wqids);
            if !full {
                return Err(SessionError::PartialWalk {
                    walked: qids.len(),
                    requested: names.len(),
                });
            }
        }
        Ok((new, qids))
    }

    /// Clones a fid (a walk of no names).
    pub async fn clone_fid(&self, fid: &Fid) -> Result<Fid, SessionError> {
        self.walk(fid, &[]).await.map(|(f, _)| f)
    }

    /// Walks `names` and returns the new fid with the stat of the last element: one
    /// `Twalkgetattr` for the last ≤16 names where the dialect has it, else walk + `Tgetattr`.
    pub async fn walk_getattr(
        &self,
        fid: &Fid,
        names: &[Bytes],
    ) -> Result<(Fid, Stat), SessionError> {
        if !self.dialect().has_gen1() {
            let (new, _) = self.walk(fid, names).await?;
            let body = Tgetattr {
                fid: new.id(),
                request_mask: getattr::ALL,
            };
            let ids = [new.id()];
            let r = self
                .request_typed::<kind::Tgetattr>(body, Effect::None, &ids)
                .await?;
            return Ok((new, r.stat));
        }
        let new = self.alloc_fid();
        let split = names.len().saturating_sub(MAXWELEM);
        let (head, tail) = names.split_at(split);
        let mut src = fid.id();
        for chunk in head.chunks(MAXWELEM) {
            let w = self.walk_once::<kind::Twalk>(src, &new, chunk).await?;
            if w.wqids.len() != chunk.len() {
                return Err(SessionError::PartialWalk {
                    walked: w.wqids.len(),
                    requested: names.len(),
                });
            }
            src = new.id();
        }
        let r = self
            .walk_once::<kind::Twalkgetattr>(src, &new, tail)
            .await?;
        Ok((new, r.stat))
    }

    /// Opens `fid` (`Tlopen`); replay reopens it with the same flags minus TRUNC/CREAT/EXCL.
    pub async fn lopen(&self, fid: &Fid, flags: u32) -> Result<Rlopen, SessionError> {
        let body = zerofs_9p_proto::Tlopen {
            fid: fid.id(),
            flags,
        };
        self.call_typed::<kind::Tlopen>(body).await
    }

    /// Creates and opens `name` in the directory `fid` (`Tlcreate`): `fid` becomes the file.
    pub async fn lcreate(
        &self,
        fid: &Fid,
        name: Bytes,
        flags: u32,
        mode: u32,
        gid: u32,
    ) -> Result<Rlopen, SessionError> {
        let body = zerofs_9p_proto::Tlcreate {
            fid: fid.id(),
            name,
            flags,
            mode,
            gid,
        };
        let r = self.call_typed::<kind::Tlcreate>(body).await?;
        Ok(Rlopen {
            qid: r.qid,
            iounit: r.iounit,
        })
    }

    /// Clones and opens `fid` in one round trip (gen 2 `Tlopenat`).
    pub async fn lopenat(&self, fid: &Fid, flags: u32) -> Result<(Fid, Rlopen), SessionError> {
        let new = self.alloc_fid();
        let how = BindHow::OpenAt {
            src: fid.id(),
            flags,
        };
        let body = Tlopenat {
            fid: fid.id(),
            newfid: new.id(),
            flags,
        };
        let r = self
            .request_new_fid::<kind::Tlopenat>(body, fid, &new, how)
            .await?;
        Ok((new, r))
    }

    /// Clones and opens `fid` and reads up to `count` bytes from offset 0 in one round trip
    /// (`.Z` `Tlopenatread`). The new fid is open whatever the prefetch gave; `eof` in the
    /// reply means `data` is the whole file (a zero-copy slice of the receive buffer);
    /// otherwise discard `data` and read normally. `count` is lowered to fit the msize.
    pub async fn lopenatread(
        &self,
        fid: &Fid,
        flags: u32,
        count: u32,
    ) -> Result<(Fid, Rlopenatread), SessionError> {
        let new = self.alloc_fid();
        let how = BindHow::OpenAt {
            src: fid.id(),
            flags,
        };
        let body = Tlopenatread {
            fid: fid.id(),
            newfid: new.id(),
            flags,
            count: count.min(crate::request::lopenatread_limit(self.msize())),
        };
        let r = self
            .request_new_fid::<kind::Tlopenatread>(body, fid, &new, how)
            .await?;
        Ok((new, r))
    }

    /// Creates and opens `name` under the directory `dfid` on a new fid, returning its stat
    /// (gen 2 `Tlcreateattr`; `dfid` is left unchanged).
    pub async fn lcreateattr(
        &self,
        dfid: &Fid,
        name: Bytes,
        flags: u32,
        mode: u32,
        gid: u32,
    ) -> Result<(Fid, Rlcreateattr), SessionError> {
        let new = self.alloc_fid();
        let how = BindHow::CreateAt {
            src: dfid.id(),
            name: name.clone(),
            flags,
        };
        let body = Tlcreateattr {
            dfid: dfid.id(),
            newfid: new.id(),
            name,
            flags,
            mode,
            gid,
        };
        let r = self
            .request_new_fid::<kind::Tlcreateattr>(body, dfid, &new, how)
            .await?;
        Ok((new, r))
    }

    /// Opens an extended attribute (`name` empty = the list) on a new fid; returns its size.
    /// Xattr fids are not restored by replay (they become stale).
    pub async fn xattrwalk(&self, fid: &Fid, name: Bytes) -> Result<(Fid, u64), SessionError> {
        let new = self.alloc_fid();
        let body = Txattrwalk {
            fid: fid.id(),
            newfid: new.id(),
            name,
        };
        let r = self
            .request_new_fid::<kind::Txattrwalk>(body, fid, &new, BindHow::Xattr)
            .await?;
        Ok((new, r.size))
    }

    /// Turns `fid` into an extended attribute being written (`Txattrcreate`): write exactly
    /// `size` bytes to it from offset 0, then [`clunk_checked`](Self::clunk_checked) it to
    /// apply (`size` 0 with `XATTR_REPLACE` removes the attribute). `flags` are `setxattr(2)`'s.
    /// The fid is then not restored by replay (it becomes stale).
    pub async fn xattrcreate(
        &self,
        fid: &Fid,
        name: Bytes,
        size: u64,
        flags: u32,
    ) -> Result<(), SessionError> {
        let body = Txattrcreate {
            fid: fid.id(),
            name,
            attr_size: size,
            flags,
        };
        self.call_typed::<kind::Txattrcreate>(body).await
    }

    /// Releases `fid` with a `Tclunk` and waits for the answer (servers apply a written
    /// extended attribute at the clunk and report its failure there). The fid is released
    /// whatever the outcome; a connection loss after the request was written is
    /// [`SessionError::Ambiguous`].
    pub async fn clunk_checked(&self, fid: Fid) -> Result<(), SessionError> {
        let (id, generation) = (fid.id(), fid.generation());
        self.release_with(
            fid,
            Effect::Clunk {
                fid: id,
                generation,
            },
            Message::Tclunk(Tclunk { fid: id }),
        )
        .await
    }

    /// Removes the file `fid` names (`Tremove`); the fid is released whatever the outcome.
    /// If the connection drops after the request was written, the outcome is unknown and the
    /// result is [`SessionError::Ambiguous`].
    pub async fn remove(&self, fid: Fid) -> Result<(), SessionError> {
        let (id, generation) = (fid.id(), fid.generation());
        self.release_with(
            fid,
            Effect::Remove {
                fid: id,
                generation,
            },
            Message::Tremove(Tremove { fid: id }),
        )
        .await
    }

    /// Sends `msg`, which releases `fid` with `effect` whatever its answer, and waits for it.
    async fn release_with(
        &self,
        fid: Fid,
        effect: Effect,
        msg: Message,
    ) -> Result<(), SessionError> {
        let id = fid.id();
        let permits = self.permits(64).await?;
        let ticket = crate::request::Ticket::new(self.core().clone(), effect, &[id], permits)?;
        // The ticket now owns the release: it holds a reference until it is resolved.
        let _ = fid.disarm();
        let frame = zerofs_9p_proto::Frame::new(0, msg);
        crate::request::exchange(self.core(), frame, ticket)
            .await
            .map(|_| ())
    }

    /// Releases a fid: `Tclunk` in the background, the number recycled after the reply.
    pub fn clunk(&self, fid: Fid) {
        drop(fid);
    }
}
