//! Ambiguous outcomes of resent mutations, verified instead of guessed.
//!
//! Outside `.Z` nothing de-duplicates a resend: a mutation whose connection died after it was
//! written is resent, and if the first attempt had applied, the resend fails (`EEXIST`,
//! `ENOENT`) although the caller's operation succeeded. For the mutations whose outcome the
//! server's state can prove, the session checks that state and reports the success:
//!
//! - `Tunlinkat` answering `ENOENT`: the name is gone, which is the outcome asked for.
//! - `Tmkdir` / `Tmkdirattr` answering `EEXIST`: a directory now stands at the name with the
//!   requested permission bits and group: the first attempt made it; its qid (and stat) are
//!   the reply.
//!
//! Renames are proven by replay itself (`renames.rs`). Other mutations keep the server's
//! answer (the double-apply window that cannot be proven).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use zerofs_9p_proto::consts::errno::{EEXIST, ENOENT};
use zerofs_9p_proto::consts::{getattr, mode};
use zerofs_9p_proto::{AttrReply, Frame, Message, MessageType, Rmkdir, Stat, Tgetattr, Twalk};

use crate::core::Core;
use crate::effects::{BindHow, Effect};
use crate::error::SessionError;
use crate::fids::Fid;
use crate::request::{Ticket, exchange};

/// A boxed verification (kept off the state of every request's future).
pub(crate) type Verifying<'a> = Pin<Box<dyn Future<Output = Option<Message>> + Send + 'a>>;

/// Whether `ecode` to `request` may hide a success of an earlier attempt worth verifying.
pub(crate) fn worth_verifying(request: &Message, ecode: u32) -> bool {
    matches!(
        (request, ecode),
        (Message::Tunlinkat(_), ENOENT) | (Message::Tmkdir(_) | Message::Tmkdirattr(_), EEXIST)
    )
}

/// The reply the caller's operation would have had, if the server's state proves that an
/// earlier attempt of `request` applied; `None` to keep the error.
pub(crate) fn verify<'a>(core: &'a Arc<Core>, request: &'a Message) -> Verifying<'a> {
    Box::pin(async move {
        match request {
            Message::Tunlinkat(_) => Some(Message::Runlinkat),
            Message::Tmkdir(m) | Message::Tmkdirattr(m) => {
                let stat = stat_child(core, m.dfid, m.name.clone()).await?;
                let made = stat.mode & mode::S_IFMT == mode::S_IFDIR
                    && stat.mode & 0o7777 == m.mode & 0o7777
                    && stat.gid == m.gid;
                if !made {
                    return None;
                }
                Some(match request.msg_type() {
                    MessageType::Tmkdirattr => Message::Rmkdirattr(AttrReply { stat }),
                    _ => Message::Rmkdir(Rmkdir { qid: stat.qid }),
                })
            }
            _ => None,
        }
    })
}

/// The stat of `name` in the directory `dfid` (a walk into a fresh fid, then `Tgetattr`; the
/// fid is clunked when dropped). `None` if either fails.
async fn stat_child(core: &Arc<Core>, dfid: u32, name: Bytes) -> Option<Stat> {
    let (id, generation) = core.fids().alloc();
    let fid = Fid::new(core.clone(), id, generation);
    let effect = Effect::Bind {
        fid: id,
        generation,
        how: BindHow::Walk {
            src: dfid,
            names: vec![name.clone()],
        },
    };
    let walk = Message::Twalk(Twalk {
        fid: dfid,
        newfid: id,
        wnames: vec![name],
    });
    let ticket = Ticket::new(core.clone(), effect, &[dfid, id], Vec::new()).ok()?;
    match send(core, walk, ticket).await {
        Ok(Message::Rwalk(w)) if w.wqids.len() == 1 => {}
        _ => return None,
    }
    let ticket = Ticket::new(core.clone(), Effect::None, &[id], Vec::new()).ok()?;
    let getattr = Message::Tgetattr(Tgetattr {
        fid: id,
        request_mask: getattr::BASIC,
    });
    let stat = match send(core, getattr, ticket).await {
        Ok(Message::Rgetattr(r)) => Some(r.stat),
        _ => None,
    };
    drop(fid);
    stat
}

/// One request through the full exchange (boxed: the exchange may be verifying already).
fn send<'a>(
    core: &'a Arc<Core>,
    msg: Message,
    ticket: Ticket,
) -> Pin<Box<dyn Future<Output = Result<Message, SessionError>> + Send + 'a>> {
    Box::pin(exchange(core, Frame::new(0, msg), ticket))
}
