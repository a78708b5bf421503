//! What a request does to the fid table, applied exactly once when its fate is known.
//!
//! The reader task applies an effect the moment the reply arrives, before waking the caller
//! and whether or not the caller is still there, so a fid the server created is recorded (and
//! clunked if its guard is gone) even when the caller's future was dropped mid-flight. An
//! effect whose request will never be answered (withdrawn before it was written, or lost with
//! the connection and not resent) is resolved by [`Effect::abandon`].

use bytes::Bytes;
use zerofs_9p_proto::consts::open;
use zerofs_9p_proto::{Dialect, LockStatus, LockType, Message, MessageType};

use crate::fids::{Binding, FidState, FidTable, HeldLock};

/// Flags replay may reuse to reopen a fid (no truncation, creation or exclusivity).
pub(crate) const fn reopen_flags(flags: u32) -> u32 {
    flags & !(open::TRUNC | open::CREAT | open::EXCL)
}

enum Kind {
    Clunk,
    Other,
}

/// How a fid-creating request binds its new fid.
#[derive(Debug, Clone)]
pub(crate) enum BindHow {
    Attach {
        uname: Bytes,
        aname: Bytes,
        n_uname: u32,
    },
    Walk {
        src: u32,
        names: Vec<Bytes>,
    },
    OpenAt {
        src: u32,
        flags: u32,
    },
    CreateAt {
        src: u32,
        name: Bytes,
        flags: u32,
    },
    Xattr,
}

/// The fid-table effect of one request.
#[derive(Debug, Clone, Default)]
pub(crate) enum Effect {
    /// None (reads, getattr, ...).
    #[default]
    None,
    /// May create `fid` (allocated for this request).
    Bind {
        fid: u32,
        generation: u64,
        how: BindHow,
    },
    /// Opens `fid`.
    Open {
        fid: u32,
        generation: u64,
        flags: u32,
    },
    /// `Tlcreate`: `fid` becomes the new file `name` in its directory, opened.
    Create {
        fid: u32,
        generation: u64,
        name: Bytes,
        flags: u32,
    },
    /// Background clunk of a released fid.
    Clunk { fid: u32, generation: u64 },
    /// `Tremove`: the fid is gone whatever the reply.
    Remove { fid: u32, generation: u64 },
    /// `Tlock`: record or drop a held lock on success.
    Lock {
        fid: u32,
        generation: u64,
        lock: HeldLock,
    },
    /// `Txattrcreate`: on success `fid` becomes an xattr fid, which replay cannot restore.
    XattrCreate { fid: u32, generation: u64 },
    /// A rename: rewrite recorded paths under the old name.
    Rename {
        old: (u32, Option<Bytes>),
        new: (u32, Bytes),
    },
}

impl Effect {
    /// Whether replies to this request must be decoded by the reader.
    pub(crate) fn needs_reply(&self) -> bool {
        !matches!(self, Effect::None)
    }

    /// Whether the request may be resent on a new connection after a loss.
    pub(crate) fn resendable(&self) -> bool {
        !matches!(self, Effect::Clunk { .. } | Effect::Remove { .. })
    }

    /// Applies the effect of a reply (the reply type was already checked).
    pub(crate) fn apply(self, t: &mut FidTable, reply: &Message, dialect: Dialect) {
        let ok = !matches!(reply, Message::Rlerror(_));
        let self_kind = if matches!(self, Effect::Clunk { .. }) {
            Kind::Clunk
        } else {
            Kind::Other
        };
        match self {
            Effect::None => {}
            Effect::Bind {
                fid,
                generation,
                how,
            } => {
                if t.get_gen(fid, generation).is_none() {
                    return;
                }
                apply_bind(t, fid, how, reply, dialect);
            }
            Effect::Open {
                fid,
                generation,
                flags,
            } => {
                if let (true, Some(r), Message::Rlopen(o)) = (ok, t.get_gen(fid, generation), reply)
                {
                    r.opened = Some(reopen_flags(flags));
                    r.qid = Some(o.qid);
                    r.iounit = o.iounit;
                }
            }
            Effect::Create {
                fid,
                generation,
                name,
                flags,
            } => {
                let Message::Rlcreate(c) = reply else { return };
                if t.get_gen(fid, generation).is_none() {
                    return;
                }
                let binding = t.get(fid).and_then(|r| r.binding.clone());
                match binding {
                    Some(Binding::Walked { root, mut path }) => {
                        path.push(name);
                        t.set_binding(fid, Binding::Walked { root, path }, Some(root));
                    }
                    _ => t.set_binding(fid, Binding::Unrestorable, None),
                }
                if let Some(r) = t.get_mut(fid) {
                    r.qid = Some(c.qid);
                    r.iounit = c.iounit;
                    r.opened = Some(reopen_flags(flags));
                }
                t.finalize_all();
            }
            Effect::Clunk { fid, generation } | Effect::Remove { fid, generation } => {
                // 9P says Tremove clunks even on failure, but a server without Tremove (ZeroFS
                // answers ENOSYS) keeps the fid: clunk it then.
                let gone = ok || matches!(self_kind, Kind::Clunk);
                if let Some(r) = t.get_gen(fid, generation) {
                    r.state = match r.state {
                        FidState::Live | FidState::Clunking if !gone => FidState::Live,
                        FidState::Stale => FidState::Stale,
                        _ => FidState::Unbound,
                    };
                    r.released = true;
                    t.finalize(fid);
                }
            }
            Effect::Lock {
                fid,
                generation,
                lock,
            } => {
                let granted = matches!(reply, Message::Rlock(l) if l.status == LockStatus::Success);
                if let (true, Some(r)) = (granted, t.get_gen(fid, generation)) {
                    if lock.ty == LockType::Unlock {
                        let all = lock.start == 0 && lock.length == 0;
                        r.locks.retain(|l| {
                            !(all || (l.start == lock.start && l.length == lock.length))
                        });
                    } else {
                        r.locks
                            .retain(|l| !(l.start == lock.start && l.length == lock.length));
                        r.locks.push(lock);
                    }
                }
            }
            Effect::XattrCreate { fid, generation } => {
                if ok && t.get_gen(fid, generation).is_some() {
                    t.set_binding(fid, Binding::Unrestorable, None);
                }
            }
            Effect::Rename { old, new } => {
                if ok {
                    rewrite_paths(t, old, new);
                }
            }
        }
    }

    /// Resolves an effect whose request will never be answered on a live connection.
    pub(crate) fn abandon(self, t: &mut FidTable) {
        match self {
            Effect::Clunk { fid, generation } | Effect::Remove { fid, generation } => {
                if let Some(r) = t.get_gen(fid, generation) {
                    if r.state == FidState::Clunking {
                        r.state = FidState::Live;
                    }
                    r.released = true;
                    t.finalize(fid);
                }
            }
            // A fid that was never created stays unbound; its guard's release recycles it.
            _ => {}
        }
    }
}

fn apply_bind(t: &mut FidTable, fid: u32, how: BindHow, reply: &Message, dialect: Dialect) {
    match (how, reply) {
        (
            BindHow::Attach {
                uname,
                aname,
                n_uname,
            },
            Message::Rattach(a),
        ) => {
            t.set_binding(
                fid,
                Binding::Attach {
                    uname,
                    aname,
                    n_uname,
                },
                None,
            );
            mark_live(t, fid, Some(a.qid));
        }
        (BindHow::Walk { src, names }, Message::Rwalk(w)) => {
            if w.wqids.len() == names.len() {
                let qid = w
                    .wqids
                    .last()
                    .copied()
                    .or_else(|| t.get(src).and_then(|r| r.qid));
                t.bind_walked(fid, src, &names);
                mark_live(t, fid, qid);
            } else if dialect == Dialect::Plain && fid != src {
                // diod keeps the newfid of a partial walk: clunk it anyway on release.
                t.set_binding(fid, Binding::Unrestorable, None);
                mark_live(t, fid, None);
            }
        }
        (BindHow::Walk { src, names }, Message::Rwalkgetattr(w)) => {
            t.bind_walked(fid, src, &names);
            mark_live(t, fid, Some(w.stat.qid));
        }
        (BindHow::OpenAt { src, flags }, Message::Rlopenat(o)) => {
            t.bind_walked(fid, src, &[]);
            mark_live(t, fid, Some(o.qid));
            if let Some(r) = t.get_mut(fid) {
                r.opened = Some(reopen_flags(flags));
                r.iounit = o.iounit;
            }
        }
        (BindHow::OpenAt { src, flags }, Message::Rlopenatread(o)) => {
            t.bind_walked(fid, src, &[]);
            mark_live(t, fid, Some(o.qid));
            if let Some(r) = t.get_mut(fid) {
                r.opened = Some(reopen_flags(flags));
                r.iounit = o.iounit;
            }
        }
        (BindHow::CreateAt { src, name, flags }, Message::Rlcreateattr(c)) => {
            t.bind_walked(fid, src, std::slice::from_ref(&name));
            mark_live(t, fid, Some(c.stat.qid));
            if let Some(r) = t.get_mut(fid) {
                r.opened = Some(reopen_flags(flags));
                r.iounit = c.iounit;
            }
        }
        (BindHow::Xattr, Message::Rxattrwalk(_)) => {
            t.set_binding(fid, Binding::Unrestorable, None);
            mark_live(t, fid, None);
        }
        _ => {}
    }
}

fn mark_live(t: &mut FidTable, fid: u32, qid: Option<zerofs_9p_proto::Qid>) {
    if let Some(r) = t.get_mut(fid) {
        r.state = FidState::Live;
        if qid.is_some() {
            r.qid = qid;
        }
    }
}

/// The recorded (root, path) of a walked fid.
pub(crate) fn location(t: &FidTable, fid: u32) -> Option<(u32, Vec<Bytes>)> {
    match t.get(fid)?.binding.as_ref()? {
        Binding::Walked { root, path } => Some((*root, path.clone())),
        Binding::Attach { .. } => Some((fid, Vec::new())),
        Binding::Unrestorable => None,
    }
}

/// Where a rename moves things: (attach root, from, to), if both ends have recorded paths
/// under one attach root.
pub(crate) fn rename_ends(
    t: &FidTable,
    old: &(u32, Option<Bytes>),
    new: &(u32, Bytes),
) -> Option<(u32, Vec<Bytes>, Vec<Bytes>)> {
    let (root, mut from) = location(t, old.0)?;
    from.extend(old.1.clone());
    let (new_root, mut to) = location(t, new.0)?;
    to.push(new.1.clone());
    (root == new_root && !from.is_empty()).then_some((root, from, to))
}

/// Moves the recorded paths a rename from `old` to `new` moved.
pub(crate) fn rewrite_paths(t: &mut FidTable, old: (u32, Option<Bytes>), new: (u32, Bytes)) {
    if let Some((root, from, to)) = rename_ends(t, &old, &new) {
        rewrite_under(t, root, &from, &to);
    }
}

/// A rename's ends as [`Effect::Rename`] holds them: (fid, name in it) and (directory, name).
pub(crate) type RenameEnds = ((u32, Option<Bytes>), (u32, Bytes));

/// The ends of a rename request.
pub(crate) fn rename_of(m: &Message) -> Option<RenameEnds> {
    match m {
        Message::Trename(x) => Some(((x.fid, None), (x.dfid, x.name.clone()))),
        Message::Trenameat(x) => Some((
            (x.olddirfid, Some(x.oldname.clone())),
            (x.newdirfid, x.newname.clone()),
        )),
        _ => None,
    }
}

/// What would prove the rename `request` applied: a walk from the directory fid (the
/// destination's) by the names, reaching the qid path. The source's qid is the renamed fid's
/// (`Trename`), or that of the recorded fid nearest beneath the source (`Trenameat`: the
/// source itself, or what lies under it, found at the same place under the destination).
/// `None` if no fid records what the source was.
pub(crate) fn rename_witness(t: &FidTable, request: &Message) -> Option<(u32, Vec<Bytes>, u64)> {
    match request {
        Message::Trename(x) => Some((x.dfid, vec![x.name.clone()], t.get(x.fid)?.qid?.path)),
        Message::Trenameat(x) => {
            let (old, new) = rename_of(request)?;
            let (root, from, _) = rename_ends(t, &old, &new)?;
            t.iter()
                .filter_map(|(_, rec)| match (rec.binding.as_ref()?, rec.qid) {
                    (Binding::Walked { root: r, path }, Some(q))
                        if *r == root
                            && path.starts_with(&from)
                            && path.len() - from.len() < zerofs_9p_proto::consts::MAXWELEM =>
                    {
                        Some((&path[from.len()..], q.path))
                    }
                    _ => None,
                })
                .min_by_key(|(tail, _)| tail.len())
                .map(|(tail, qid)| {
                    let names = std::iter::once(x.newname.clone())
                        .chain(tail.iter().cloned())
                        .collect();
                    (x.newdirfid, names, qid)
                })
        }
        _ => None,
    }
}

/// Moves every recorded path under `from` (from the attach fid `root`) to under `to`.
pub(crate) fn rewrite_under(t: &mut FidTable, root: u32, from: &[Bytes], to: &[Bytes]) {
    for (_, rec) in t.iter_mut() {
        if let Some(Binding::Walked { root: r, path }) = rec.binding.as_mut() {
            if *r == root && path.starts_with(from) {
                let tail = path.split_off(from.len());
                *path = to.iter().cloned().chain(tail).collect();
            }
        }
    }
}

/// The existing fids a request names (new fids excluded).
pub(crate) fn referenced_fids(m: &Message) -> Vec<u32> {
    use Message::*;
    match m {
        Tstatfs(x) => vec![x.fid],
        Tlopen(x) => vec![x.fid],
        Tlcreate(x) => vec![x.fid],
        Tsymlink(x) | Tsymlinkattr(x) => vec![x.dfid],
        Tmknod(x) | Tmknodattr(x) => vec![x.dfid],
        Trename(x) => vec![x.fid, x.dfid],
        Treadlink(x) => vec![x.fid],
        Tgetattr(x) => vec![x.fid],
        Tsetattr(x) | Tsetattrattr(x) => vec![x.fid],
        Txattrwalk(x) => vec![x.fid],
        Txattrcreate(x) => vec![x.fid],
        Treaddir(x) | Treaddirattr(x) => vec![x.fid],
        Tfsync(x) => vec![x.fid],
        Tlock(x) => vec![x.fid],
        Tgetlock(x) => vec![x.fid],
        Tlink(x) | Tlinkattr(x) => vec![x.dfid, x.fid],
        Tmkdir(x) | Tmkdirattr(x) => vec![x.dfid],
        Trenameat(x) => vec![x.olddirfid, x.newdirfid],
        Tunlinkat(x) => vec![x.dirfid],
        Twalk(x) | Twalkgetattr(x) => vec![x.fid],
        Tread(x) => vec![x.fid],
        Twrite(x) => vec![x.fid],
        Tclunk(x) => vec![x.fid],
        Tremove(x) => vec![x.fid],
        Tfallocate(x) => vec![x.fid],
        Tlopenatread(x) => vec![x.fid],
        Tfsyncdur(x) => vec![x.fid],
        Tlopenat(x) => vec![x.fid],
        Tlcreateattr(x) => vec![x.dfid],
        _ => Vec::new(),
    }
}

/// The typed operation to use instead, for messages `Session::call` refuses.
pub(crate) fn typed_only(ty: MessageType) -> Option<&'static str> {
    use MessageType::*;
    Some(match ty {
        Tversion => "connect",
        Tauth | Tattach => "attach",
        Twalk | Twalkgetattr => "walk",
        Tlopenat | Tlopenatread => "lopenat",
        Tlcreateattr => "lcreateattr",
        Txattrwalk => "xattrwalk",
        Tclunk => "clunk (drop the Fid)",
        Tremove => "remove",
        Tflush => "call (futures are cancel-safe; drop them instead)",
        Trebind => "call (replay rebinds fids itself)",
        t if !t.is_request() => "call (with a request)",
        _ => return None,
    })
}

/// The effect of a request sent through `Session::call` (which refuses fid-creating ones).
pub(crate) fn effect_of(m: &Message, generation_of: impl Fn(u32) -> u64) -> Effect {
    match m {
        Message::Tlopen(x) => Effect::Open {
            fid: x.fid,
            generation: generation_of(x.fid),
            flags: x.flags,
        },
        Message::Tlcreate(x) => Effect::Create {
            fid: x.fid,
            generation: generation_of(x.fid),
            name: x.name.clone(),
            flags: x.flags,
        },
        Message::Txattrcreate(x) => Effect::XattrCreate {
            fid: x.fid,
            generation: generation_of(x.fid),
        },
        Message::Tlock(x) => Effect::Lock {
            fid: x.fid,
            generation: generation_of(x.fid),
            lock: HeldLock {
                ty: x.ty,
                start: x.start,
                length: x.length,
                proc_id: x.proc_id,
                client_id: x.client_id.clone(),
            },
        },
        Message::Trename(x) => Effect::Rename {
            old: (x.fid, None),
            new: (x.dfid, x.name.clone()),
        },
        Message::Trenameat(x) => Effect::Rename {
            old: (x.olddirfid, Some(x.oldname.clone())),
            new: (x.newdirfid, x.newname.clone()),
        },
        _ => Effect::None,
    }
}
