//! Requests the session sends on its own to finish a caller's request: the lookups that
//! verify an ambiguous outcome (`verify.rs` decides what proves it) and the follow-ups of a
//! request lowered to a plainer dialect (`lower.rs` decides them). Each is an ordinary
//! exchange (it waits out reconnects like any request); the futures are boxed, off the
//! state of every request's future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use zerofs_9p_proto::consts::errno::ENOENT;
use zerofs_9p_proto::consts::{NONUNAME, getattr};
use zerofs_9p_proto::{
    AttrReply, Frame, Message, MessageType, Qid, Request, Rlcreate, Rlcreateattr, Rlopen,
    Rlopenatread, Rwalkgetattr, Stat, Tgetattr, Tlopen, Treadlink, Twalk, kind,
};

use crate::core::Core;
use crate::effects::{
    BindHow, Effect, location, rename_of, rename_witness, reopen_flags, rewrite_paths,
};
use crate::error::SessionError;
use crate::error::reply;
use crate::fid_guard::Fid;
use crate::fids::Binding;
use crate::lower::Then;
use crate::request::{Ticket, exchange};
use crate::verify::{Check, Evidence, check, proven};

/// What follow-ups inherit from the request they finish.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Carry {
    /// An earlier attempt of the request may have applied with nothing to de-duplicate a
    /// resend: an error to a follow-up that repeats its work may hide that success.
    pub(crate) seen: bool,
    /// The request's retry horizon.
    pub(crate) horizon: Duration,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One follow-up exchange of `message` with `effect`, naming `fids`.
async fn send(
    core: &Arc<Core>,
    message: Message,
    effect: Effect,
    fids: &[u32],
    carry: Carry,
) -> Result<Message, SessionError> {
    let mut ticket = Ticket::new(core.clone(), effect, fids, Vec::new())?;
    ticket.horizon = carry.horizon;
    if carry.seen {
        ticket.sent_before = true;
        ticket.undeduplicated = true;
    }
    Box::pin(exchange(core, Frame::new(0, message), ticket)).await
}

/// [`send`] of the request `R`, returning its typed reply.
async fn send_typed<R: Request>(
    core: &Arc<Core>,
    body: R::Body,
    effect: Effect,
    fids: &[u32],
    carry: Carry,
) -> Result<R::Reply, SessionError> {
    let answer = send(core, R::message(body), effect, fids, carry).await?;
    reply::<R>(answer)
}

/// Looks at what proves an earlier attempt of the resent `request` (answered `ecode`)
/// applied, and returns the reply it would have had. A proven create is also opened on the
/// request's fid, as the create would have left it.
pub(crate) fn verify<'a>(
    core: &'a Arc<Core>,
    request: &'a Message,
    ecode: u32,
) -> Boxed<'a, Option<Message>> {
    Box::pin(async move {
        let mut seen = Evidence::default();
        match check(request, ecode)? {
            Check::None => {}
            Check::Renamed => {
                let (dfid, names, want) = rename_witness(&core.fids(), request)?;
                let (walked, qids) = walk_child(core, dfid, names).await.ok()?;
                drop(walked);
                if qids.last()?.path != want {
                    return None;
                }
                let (old, new) = rename_of(request)?;
                rewrite_paths(&mut core.fids(), old, new);
            }
            Check::StatChild {
                dfid,
                name,
                readlink,
            } => {
                let (child, _) = walk_child(core, dfid, vec![name]).await.ok()?;
                let stat = getattr_of(core, child.id(), getattr::BASIC, FRESH)
                    .await
                    .ok()?;
                if readlink {
                    seen.target = Some(readlink_of(core, child.id()).await.ok()?);
                }
                drop(child);
                seen.stat = Some(stat);
                seen.owner = owner_of(core, dfid);
                if let Message::Tlink(m) | Message::Tlinkattr(m) = request {
                    seen.linked = core.fids().get(m.fid).and_then(|r| r.qid).map(|q| q.path);
                }
            }
        }
        let reply = proven(request, &seen)?;
        let carry = FRESH;
        match (request, seen.stat) {
            (Message::Tlcreate(m), Some(stat)) => {
                let o = adopt(core, m.fid, m.fid, &m.name, m.flags, &stat, carry).await?;
                Some(Message::Rlcreate(Rlcreate {
                    qid: o.qid,
                    iounit: o.iounit,
                }))
            }
            (Message::Tlcreateattr(m), Some(stat)) => {
                let o = adopt(core, m.dfid, m.newfid, &m.name, m.flags, &stat, carry).await?;
                Some(Message::Rlcreateattr(Rlcreateattr {
                    iounit: o.iounit,
                    stat,
                }))
            }
            _ => Some(reply),
        }
    })
}

/// The uid of the attach identity `fid` was walked from, if known.
fn owner_of(core: &Core, fid: u32) -> Option<u32> {
    let t = core.fids();
    let (root, _) = location(&t, fid)?;
    match t.get(root)?.binding.as_ref()? {
        Binding::Attach { n_uname, .. } if *n_uname != NONUNAME => Some(*n_uname),
        _ => None,
    }
}

/// Opens the file `name` in `dfid` (found to be the one a lost create made, `want`) on
/// `fid` with the create's `flags` (minus creation and truncation): a walk into `fid` (in
/// place when it is `dfid`, as `Tlcreate` turns its fid into the file) and a `Tlopen`, both
/// checked to reach `want`'s inode. `None` if either fails (an in-place walk that succeeded
/// leaves `fid` on the file, unopened).
async fn adopt(
    core: &Arc<Core>,
    dfid: u32,
    fid: u32,
    name: &Bytes,
    flags: u32,
    want: &Stat,
    carry: Carry,
) -> Option<Rlopen> {
    let generation = core.fids().get(fid)?.generation;
    let walk = Twalk {
        fid: dfid,
        newfid: fid,
        wnames: vec![name.clone()],
    };
    let effect = Effect::Bind {
        fid,
        generation,
        how: BindHow::Walk {
            src: dfid,
            names: vec![name.clone()],
        },
    };
    let fids = if dfid == fid {
        vec![fid]
    } else {
        vec![dfid, fid]
    };
    match send_typed::<kind::Twalk>(core, walk, effect, &fids, carry).await {
        Ok(w) if w.wqids.len() == 1 && w.wqids[0].path == want.qid.path => {}
        _ => return None,
    }
    let flags = reopen_flags(flags);
    let open = Tlopen { fid, flags };
    let effect = Effect::Open {
        fid,
        generation,
        flags,
    };
    match send_typed::<kind::Tlopen>(core, open, effect, &[fid], carry).await {
        Ok(o) if o.qid.path == want.qid.path => Some(o),
        _ => None,
    }
}

/// A complete walk from `dfid` by `names` (at most `MAXWELEM`) into a fresh fid, clunked
/// when dropped: the fid and the qids.
async fn walk_child(
    core: &Arc<Core>,
    dfid: u32,
    names: Vec<Bytes>,
) -> Result<(Fid, Vec<Qid>), SessionError> {
    let (id, generation) = core.fids().alloc();
    let fid = Fid::new(core.clone(), id, generation);
    let effect = Effect::Bind {
        fid: id,
        generation,
        how: BindHow::Walk {
            src: dfid,
            names: names.clone(),
        },
    };
    let n = names.len();
    let walk = Twalk {
        fid: dfid,
        newfid: id,
        wnames: names,
    };
    let w = send_typed::<kind::Twalk>(core, walk, effect, &[dfid, id], FRESH).await?;
    if w.wqids.len() != n {
        return Err(SessionError::Server(ENOENT));
    }
    Ok((fid, w.wqids))
}

/// Follow-ups that repeat nothing of an earlier attempt.
const FRESH: Carry = Carry {
    seen: false,
    horizon: crate::options::RETRY_HORIZON,
};

/// The stat (`mask`) of `name` in the directory `dfid`: a walk into a fresh fid, clunked
/// when dropped, then `Tgetattr`.
async fn stat_child(
    core: &Arc<Core>,
    dfid: u32,
    name: Bytes,
    mask: u64,
) -> Result<Stat, SessionError> {
    let (fid, _) = walk_child(core, dfid, vec![name]).await?;
    let stat = getattr_of(core, fid.id(), mask, FRESH).await;
    drop(fid);
    stat
}

/// `Treadlink` of `fid`.
async fn readlink_of(core: &Arc<Core>, fid: u32) -> Result<Bytes, SessionError> {
    send_typed::<kind::Treadlink>(core, Treadlink { fid }, Effect::None, &[fid], FRESH)
        .await
        .map(|r| r.target)
}

/// `Tgetattr` of `fid`.
async fn getattr_of(
    core: &Arc<Core>,
    fid: u32,
    mask: u64,
    carry: Carry,
) -> Result<Stat, SessionError> {
    let body = Tgetattr {
        fid,
        request_mask: mask,
    };
    send_typed::<kind::Tgetattr>(core, body, Effect::None, &[fid], carry)
        .await
        .map(|r| r.stat)
}

/// Rebuilds the reply of a request lowered for a plainer dialect from the `answer` to what
/// was sent (a success), with the follow-ups `then` says: the reply of the request the
/// caller made (what its typed call extracts), except for `Treaddirattr` (`Then::Nothing`:
/// answered `Rreaddir`, see `typed.rs`).
pub(crate) fn finish(
    core: &Arc<Core>,
    then: Then,
    answer: Message,
    carry: Carry,
) -> Boxed<'_, Result<Message, SessionError>> {
    Box::pin(async move {
        match then {
            Then::Nothing => Ok(answer),
            Then::WalkGetattr { newfid, names } => {
                let w = reply::<kind::Twalk>(answer)?;
                // `Twalkgetattr` is all or nothing: a partial walk is the missing name.
                if w.wqids.len() != names {
                    return Err(SessionError::Server(ENOENT));
                }
                let stat = getattr_of(core, newfid, getattr::ALL, carry).await?;
                Ok(Message::Rwalkgetattr(Rwalkgetattr {
                    wqids: w.wqids,
                    stat,
                }))
            }
            Then::OpenAt {
                newfid,
                generation,
                flags,
                prefetch,
            } => {
                reply::<kind::Twalk>(answer)?;
                let open = Tlopen { fid: newfid, flags };
                let effect = Effect::Open {
                    fid: newfid,
                    generation,
                    flags,
                };
                let o = send_typed::<kind::Tlopen>(core, open, effect, &[newfid], carry).await?;
                Ok(if prefetch {
                    Message::Rlopenatread(Rlopenatread {
                        qid: o.qid,
                        iounit: o.iounit,
                        eof: false,
                        data: Bytes::new(),
                    })
                } else {
                    Message::Rlopenat(o)
                })
            }
            Then::CreateAt { generation, create } => {
                reply::<kind::Twalk>(answer)?;
                let fid = create.fid;
                let effect = Effect::Create {
                    fid,
                    generation,
                    name: create.name.clone(),
                    flags: create.flags,
                };
                let c = send_typed::<kind::Tlcreate>(core, create, effect, &[fid], carry).await?;
                let stat = getattr_of(core, fid, getattr::ALL, carry).await?;
                Ok(Message::Rlcreateattr(Rlcreateattr {
                    iounit: c.iounit,
                    stat,
                }))
            }
            Then::StatChild { dfid, name, reply } => {
                let stat = stat_child(core, dfid, name, getattr::ALL).await?;
                Ok(attr_reply(reply, stat))
            }
            Then::StatFid { fid, reply } => {
                let stat = getattr_of(core, fid, getattr::ALL, carry).await?;
                Ok(attr_reply(reply, stat))
            }
        }
    })
}

/// The `*attr` reply of type `ty` carrying `stat`.
fn attr_reply(ty: MessageType, stat: Stat) -> Message {
    let a = AttrReply { stat };
    match ty {
        MessageType::Rmkdirattr => Message::Rmkdirattr(a),
        MessageType::Rsymlinkattr => Message::Rsymlinkattr(a),
        MessageType::Rmknodattr => Message::Rmknodattr(a),
        MessageType::Rlinkattr => Message::Rlinkattr(a),
        _ => Message::Rsetattrattr(a),
    }
}
