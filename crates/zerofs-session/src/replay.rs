//! Replay: restore every recorded fid on a fresh connection before callers resume.
//!
//! Order: attach fids first (same fid number, same identity; a refused attach makes it and
//! everything under it stale, never a wider attach); then every other fid, concurrently:
//! `Trebind` by inode id where the dialect has it (gen 1/2 layout, or the `.Z` layout with
//! `root_inode` and REPLAY/OPENED flags), otherwise a re-walk of the recorded path from the
//! attach fid checked against the recorded qid path; then a reopen with the recorded flags
//! (never TRUNC/CREAT/EXCL); then the held locks, non-blocking. A fid that fails any step is
//! clunked if the server holds it and becomes stale; transport failures abort the attempt.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, stream};
use zerofs_9p_proto::consts::{MAXWELEM, NOFID, rebind};
use zerofs_9p_proto::{
    Dialect, LockStatus, Message, Qid, Tattach, Tclunk, Tlock, Tlopen, Trebind, TrebindZ, Twalk,
};

use crate::conn::Conn;
use crate::core::Core;
use crate::effects::{Effect, rewrite_under};
use crate::fids::{Binding, FidState, HeldLock};
use crate::request::{Ticket, once};
use crate::stats::Counters;

/// Fids replayed concurrently.
const REPLAY_WINDOW: usize = 64;

#[derive(Debug, Clone)]
struct Plan {
    fid: u32,
    generation: u64,
    binding: Binding,
    qid: Option<Qid>,
    opened: Option<u32>,
    locks: Vec<HeldLock>,
    /// Plain re-walks: where a rename in flight would have moved the path (its id, the path).
    moved: Option<(u64, Vec<Bytes>)>,
}

#[derive(Debug, Clone)]
struct Root {
    fid: u32,
    qid: Option<Qid>,
    uname: Bytes,
    n_uname: u32,
}

/// References held on the fids being replayed, so none is recycled mid-replay.
struct Held<'a> {
    core: &'a Core,
    fids: Vec<(u32, u64)>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut t = self.core.fids();
        for &(fid, generation) in &self.fids {
            t.unref(fid, generation);
        }
    }
}

/// What happened to one fid. `Err(())` = the connection was lost.
type Outcome = Result<bool, ()>;

/// What happened to one walked fid, and the rename in flight its restore proved applied.
type Restored = Result<(bool, Option<u64>), ()>;

async fn ask(conn: &Arc<Conn>, msg: Message) -> Result<Message, ()> {
    let ticket = Ticket::background(conn.core().clone(), Effect::None);
    once(conn, msg, ticket, None).await.ok_or(())
}

/// Clunks a fid the server holds but that could not be restored; then it is stale.
async fn give_up(conn: &Arc<Conn>, fid: u32) -> Outcome {
    ask(conn, Message::Tclunk(Tclunk { fid }))
        .await
        .map(|_| false)
}

/// Replays every recorded fid on `conn`. Returns (restored, stale) counts.
pub(crate) async fn replay(conn: &Arc<Conn>, core: &Arc<Core>) -> Result<(usize, usize), String> {
    let mut plans = Vec::new();
    let mut stale = 0usize;
    let mut held = Held {
        core,
        fids: Vec::new(),
    };
    {
        let mut t = core.fids();
        let renames = t.renames.clone();
        for (&fid, rec) in t.iter_mut() {
            let Some(binding) = rec.binding.clone() else {
                continue;
            };
            if rec.is_stale() {
                continue;
            }
            if matches!(binding, Binding::Unrestorable) {
                rec.state = FidState::Stale;
                stale += 1;
                continue;
            }
            rec.refs += 1;
            held.fids.push((fid, rec.generation));
            let moved = match (&binding, rec.qid) {
                (Binding::Walked { root, path }, Some(_)) => renames.alternative(*root, path),
                _ => None,
            };
            plans.push(Plan {
                fid,
                generation: rec.generation,
                binding,
                qid: rec.qid,
                opened: rec.opened,
                locks: rec.locks.clone(),
                moved,
            });
        }
    }
    let dialect = conn.dialect();
    let (attaches, others): (Vec<Plan>, Vec<Plan>) = plans
        .into_iter()
        .partition(|p| matches!(p.binding, Binding::Attach { .. }));

    let mut roots = Vec::new();
    let mut results: Vec<(u32, u64, bool)> = Vec::new();
    let attach_outcomes =
        futures::future::join_all(attaches.iter().map(|p| restore_attach(conn, p))).await;
    for (p, outcome) in attaches.iter().zip(attach_outcomes) {
        let ok = outcome.map_err(|()| "connection lost while re-attaching".to_string())?;
        results.push((p.fid, p.generation, ok));
        if let (true, Binding::Attach { uname, n_uname, .. }) = (ok, &p.binding) {
            roots.push(Root {
                fid: p.fid,
                qid: p.qid,
                uname: uname.clone(),
                n_uname: *n_uname,
            });
        }
    }
    let outcomes: Vec<(u32, u64, Restored)> = stream::iter(others)
        .map(|p| {
            let root = match &p.binding {
                Binding::Walked { root, .. } => roots.iter().find(|r| r.fid == *root).cloned(),
                _ => None,
            };
            async move {
                let outcome = match root {
                    Some(root) => restore_walked(conn, dialect, &p, &root).await,
                    None => Ok((false, None)),
                };
                (p.fid, p.generation, outcome)
            }
        })
        .buffer_unordered(REPLAY_WINDOW)
        .collect()
        .await;
    let mut proven = Vec::new();
    for (fid, generation, outcome) in outcomes {
        let (ok, moved) = outcome.map_err(|()| "connection lost while rebinding".to_string())?;
        results.push((fid, generation, ok));
        proven.extend(moved);
    }
    // An attach fid may itself have been opened (a listing of the export root) or locked.
    // Reopen it only now: servers refuse to walk from an open fid, and the re-walks above
    // start from it.
    for (p, result) in attaches.iter().zip(results.iter_mut()) {
        if result.2 && (p.opened.is_some() || !p.locks.is_empty()) {
            result.2 = reopen_and_relock(conn, p)
                .await
                .map_err(|()| "connection lost while reopening".to_string())?;
        }
    }
    let mut restored = 0;
    {
        let mut t = core.fids();
        for id in proven {
            if let Some((root, from, to)) = t.renames.mark_applied(id) {
                tracing::info!(
                    from = ?from,
                    to = ?to,
                    "a rename whose reply was lost is proven applied (qid found at its destination)"
                );
                rewrite_under(&mut t, root, &from, &to);
            }
        }
        for (fid, generation, ok) in results {
            if let Some(r) = t.get_gen(fid, generation) {
                r.state = if ok { FidState::Live } else { FidState::Stale };
                if ok {
                    restored += 1;
                } else {
                    stale += 1;
                }
            }
        }
    }
    Counters::add(&core.counters.fids_replayed, restored as u64);
    Counters::add(&core.counters.fids_stale, stale as u64);
    drop(held);
    Ok((restored, stale))
}

async fn restore_attach(conn: &Arc<Conn>, p: &Plan) -> Outcome {
    let Binding::Attach {
        uname,
        aname,
        n_uname,
    } = &p.binding
    else {
        return Ok(false);
    };
    let msg = Message::Tattach(Tattach {
        fid: p.fid,
        afid: NOFID,
        uname: uname.clone(),
        aname: aname.clone(),
        n_uname: *n_uname,
    });
    match ask(conn, msg).await? {
        Message::Rattach(r) if p.qid.is_none_or(|q| q.path == r.qid.path) => Ok(true),
        Message::Rattach(_) => give_up(conn, p.fid).await,
        _ => {
            tracing::warn!(fid = p.fid, aname = %String::from_utf8_lossy(aname), "re-attach refused; fid is stale");
            Ok(false)
        }
    }
}

async fn restore_walked(conn: &Arc<Conn>, dialect: Dialect, p: &Plan, root: &Root) -> Restored {
    let Binding::Walked { path, .. } = &p.binding else {
        return Ok((false, None));
    };
    let mut proven = None;
    let bound = match dialect {
        // The recorded path; failing that, the path a rename in flight would have moved it
        // to, accepted only if it reaches the recorded qid (proof the rename applied).
        Dialect::Plain => match (rewalk(conn, p, root, path).await?, &p.moved) {
            (true, _) => true,
            (false, Some((id, moved))) => {
                let ok = rewalk(conn, p, root, moved).await?;
                proven = ok.then_some(*id);
                ok
            }
            (false, None) => false,
        },
        Dialect::Zerofs | Dialect::Zerofs2 => {
            let Some(qid) = p.qid else {
                return Ok((false, None));
            };
            let msg = Message::Trebind(Trebind {
                fid: p.fid,
                inode_id: qid.path,
                n_uname: root.n_uname,
            });
            matches!(ask(conn, msg).await?, Message::Rrebind(_))
        }
        Dialect::Z => {
            let (Some(qid), Some(root_qid)) = (p.qid, root.qid) else {
                return Ok((false, None));
            };
            let flags = rebind::REPLAY
                | if p.opened.is_some() {
                    rebind::OPENED
                } else {
                    0
                };
            let msg = Message::TrebindZ(TrebindZ {
                fid: p.fid,
                inode_id: qid.path,
                root_inode: root_qid.path,
                flags,
                uname: root.uname.clone(),
                n_uname: root.n_uname,
            });
            matches!(ask(conn, msg).await?, Message::Rrebind(_))
        }
        // Plain, and any dialect this code does not know: walk the path again.
        _ => rewalk(conn, p, root, path).await?,
    };
    if !bound {
        return Ok((false, None));
    }
    Ok((reopen_and_relock(conn, p).await?, proven))
}

/// Reopens a rebound fid with its recorded flags and re-takes its locks (non-blocking); on
/// any refusal the fid is clunked and becomes stale.
async fn reopen_and_relock(conn: &Arc<Conn>, p: &Plan) -> Outcome {
    if let Some(flags) = p.opened {
        if !matches!(
            ask(conn, Message::Tlopen(Tlopen { fid: p.fid, flags })).await?,
            Message::Rlopen(_)
        ) {
            return give_up(conn, p.fid).await;
        }
    }
    for l in &p.locks {
        let msg = Message::Tlock(Tlock {
            fid: p.fid,
            ty: l.ty,
            flags: 0,
            start: l.start,
            length: l.length,
            proc_id: l.proc_id,
            client_id: l.client_id.clone(),
        });
        if !matches!(ask(conn, msg).await?, Message::Rlock(r) if r.status == LockStatus::Success) {
            return give_up(conn, p.fid).await;
        }
    }
    Ok(true)
}

/// Re-walks `path` from the attach fid into `p.fid` and checks it reached the same inode.
async fn rewalk(conn: &Arc<Conn>, p: &Plan, root: &Root, path: &[Bytes]) -> Result<bool, ()> {
    let mut chunks: Vec<&[Bytes]> = path.chunks(MAXWELEM).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let mut last = root.qid;
    for (i, names) in chunks.iter().enumerate() {
        let src = if i == 0 { root.fid } else { p.fid };
        let msg = Message::Twalk(Twalk {
            fid: src,
            newfid: p.fid,
            wnames: names.to_vec(),
        });
        match ask(conn, msg).await? {
            Message::Rwalk(w) if w.wqids.len() == names.len() => {
                if let Some(q) = w.wqids.last() {
                    last = Some(*q);
                }
            }
            Message::Rwalk(_) => {
                // A partial walk: diod keeps the newfid (and a later chunk leaves it bound).
                give_up(conn, p.fid).await?;
                return Ok(false);
            }
            _ if i == 0 => return Ok(false),
            _ => {
                give_up(conn, p.fid).await?;
                return Ok(false);
            }
        }
    }
    let same = match (p.qid, last) {
        (Some(want), Some(got)) => want.path == got.path,
        _ => true,
    };
    if !same {
        tracing::warn!(
            fid = p.fid,
            "re-walked path now names another inode; fid is stale"
        );
        give_up(conn, p.fid).await?;
    }
    Ok(same)
}
