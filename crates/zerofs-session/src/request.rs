//! A request's life across connections: its ticket, and the send/wait/resend loop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures::FutureExt;
use tokio::sync::OwnedSemaphorePermit;
use zerofs_9p_proto::consts::envelope::RETRY;
use zerofs_9p_proto::consts::errno::{ENOTCONN, ESHUTDOWN, ESTALE};
use zerofs_9p_proto::{Dialect, Envelope, Frame, Message, MessageType};

use crate::conn::{Conn, Delivery, Reply, SendError, clock, decode_reply};
use crate::core::Core;
use crate::effects::{Effect, rename_ends};
use crate::error::SessionError;
use crate::followups::{Carry, finish, verify};
use crate::lower::{Then, lower};
use crate::resend::{Attempts, BUSY_PAUSE, Deadline, Resend};
use crate::stats::Counters;
use crate::verify::check;

/// Everything a request holds across attempts: its fid effect, references on the fids it
/// names (so none is clunked or recycled under it), its backpressure permits, and its `.Z`
/// envelope. Exactly one owner holds it at a time (the caller, or the connection's slot);
/// dropping it resolves whatever is left: an unapplied effect is abandoned, references are
/// dropped, permits are returned.
#[derive(Debug)]
pub(crate) struct Ticket {
    core: Arc<Core>,
    effect: Effect,
    refs: Vec<(u32, u64)>,
    _permits: Vec<OwnedSemaphorePermit>,
    /// Whether an earlier attempt may have reached a server.
    pub(crate) sent_before: bool,
    /// Whether an earlier attempt may have reached a server without a de-duplicating
    /// envelope (outside `.Z`): kept when a later attempt is de-duplicated (after an upgrade
    /// to `.Z`), whose error may then still hide that attempt's success.
    pub(crate) undeduplicated: bool,
    /// The `.Z` envelope (op-id and epoch); `Envelope::NONE` = no de-duplication.
    pub(crate) envelope: Envelope,
    /// How long resends of an unknown outcome and re-routes away from non-leaders go on.
    pub(crate) horizon: Duration,
    /// Where the reader puts a large `Rread` payload straight from the socket (no copy):
    /// empty until then, non-empty once filled (only payloads of 64 KiB and more go there).
    pub(crate) sink: Option<BytesMut>,
    /// A rename's entry among the renames in flight (replay may prove it applied).
    rename: Option<u64>,
    /// How often an attempt went unanswered past its deadline and was recovered (see
    /// `overdue.rs`): each recovery doubles the next attempt's request timeout.
    pub(crate) recoveries: u32,
}

impl Ticket {
    /// A ticket referencing `fids` (each must be held by the session and not stale).
    pub(crate) fn new(
        core: Arc<Core>,
        effect: Effect,
        fids: &[u32],
        permits: Vec<OwnedSemaphorePermit>,
    ) -> Result<Ticket, SessionError> {
        let mut refs = Vec::with_capacity(fids.len());
        let rename;
        {
            let mut t = core.fids();
            for &fid in fids {
                let Some(rec) = t.get(fid) else {
                    return Err(unref_all(&mut t, &refs, SessionError::UnknownFid(fid)));
                };
                if rec.is_stale() {
                    return Err(unref_all(&mut t, &refs, SessionError::Stale { fid }));
                }
                let generation = rec.generation;
                if let Some(r) = t.get_mut(fid) {
                    r.refs += 1;
                }
                refs.push((fid, generation));
            }
            rename = match &effect {
                Effect::Rename { old, new } => rename_ends(&t, old, new)
                    .and_then(|(root, from, to)| t.renames.begin(root, from, to)),
                _ => None,
            };
        }
        Ok(Ticket {
            core,
            effect,
            refs,
            _permits: permits,
            sent_before: false,
            undeduplicated: false,
            envelope: Envelope::NONE,
            horizon: crate::options::RETRY_HORIZON,
            sink: None,
            rename,
            recoveries: 0,
        })
    }

    /// A ticket with no references or permits (background clunks, negotiation).
    pub(crate) fn background(core: Arc<Core>, effect: Effect) -> Ticket {
        Ticket {
            core,
            effect,
            refs: Vec::new(),
            _permits: Vec::new(),
            sent_before: false,
            undeduplicated: false,
            envelope: Envelope::NONE,
            horizon: crate::options::RETRY_HORIZON,
            sink: None,
            rename: None,
            recoveries: 0,
        }
    }

    /// For a rename that may have been applied without its reply: the success reply, if
    /// replay proved it applied (it must then not be sent again).
    fn proven_rename(&self, request: MessageType) -> Option<Message> {
        let id = self.rename?;
        if !self.sent_before || !self.core.fids().renames.applied(id) {
            return None;
        }
        match request {
            MessageType::Trename => Some(Message::Rrename),
            MessageType::Trenameat => Some(Message::Rrenameat),
            _ => None,
        }
    }

    /// Whether `reply` (to the attempt this ticket last sent) asks for a resend. Only in
    /// `.Z`, and only for requests that may be resent; the effect is then left unapplied.
    pub(crate) fn resend_reason(&self, reply: &Message, dialect: Dialect) -> Option<Resend> {
        let Message::Rlerror(e) = reply else {
            return None;
        };
        if dialect != Dialect::Z || !self.effect.resendable() {
            return None;
        }
        match e.ecode {
            ENOTCONN => Some(Resend::NotLeader),
            ESHUTDOWN => Some(Resend::Shutdown),
            ESTALE if self.envelope().is_retry() => Some(Resend::UnseenRetry),
            _ => None,
        }
    }

    /// The envelope for the next attempt: RETRY once an attempt may have been seen.
    pub(crate) fn envelope(&self) -> Envelope {
        let mut e = self.envelope;
        if self.sent_before && e.deduplicates() {
            e.flags |= RETRY;
        }
        e
    }

    /// Records that an attempt sent on a connection of `dialect` may have reached the server.
    fn seen(&mut self, dialect: Dialect) {
        self.sent_before = true;
        self.undeduplicated |= !(dialect == Dialect::Z && self.envelope.deduplicates());
    }

    /// Whether an error to the attempt just answered on a connection of `dialect` may hide
    /// an earlier attempt's success (nothing de-duplicated it).
    fn ambiguous(&self, dialect: Dialect) -> bool {
        self.undeduplicated
            || (self.sent_before && !(dialect == Dialect::Z && self.envelope.deduplicates()))
    }

    /// Rewrites `message` (built for another dialect) for a connection of `dialect` (see
    /// `lower.rs`); the effect follows. `Err(errno)`: it has no form there.
    ///
    /// The rewritten request is another message: a `.Z` server must never answer it from
    /// its ledger with the reply recorded for the original, so it gets a fresh op-id, and an
    /// attempt of the original that may have applied stays an ambiguity to verify (nothing
    /// will de-duplicate it now).
    fn lower(&mut self, message: &mut Message, dialect: Dialect) -> Result<Option<Then>, u32> {
        let then = lower(message, &mut self.effect, dialect)?;
        if then.is_some() && self.envelope.deduplicates() {
            self.envelope.op_id = self.core.op_ids.next();
            self.undeduplicated |= self.sent_before;
            self.sent_before = false;
        }
        Ok(then)
    }

    /// What follow-ups of this request inherit.
    fn carry(&self, dialect: Dialect) -> Carry {
        Carry {
            seen: self.ambiguous(dialect),
            horizon: self.horizon,
        }
    }

    /// Whether the reader must decode the reply to apply the effect.
    pub(crate) fn needs_reply(&self) -> bool {
        self.effect.needs_reply()
    }

    /// Whether the request may be resent after a connection loss.
    pub(crate) fn resendable(&self) -> bool {
        self.effect.resendable()
    }

    /// Applies the effect of a reply received on `conn` (once). False, with the effect left
    /// in place, if `conn` is already dead: the check runs under the fid lock, and `kill` marks
    /// the connection dead before it takes that lock to mark every fid not live, so an effect
    /// is either applied before the loss is recorded or not at all.
    pub(crate) fn apply(&mut self, reply: &Message, dialect: Dialect, conn: &Conn) -> bool {
        if !self.effect.needs_reply() {
            return true;
        }
        let mut t = self.core.fids();
        if conn.is_dead() {
            return false;
        }
        let effect = std::mem::take(&mut self.effect);
        effect.apply(&mut t, reply, dialect);
        true
    }

    /// Fails if a referenced fid became stale or was recycled since the ticket was made.
    pub(crate) fn check_fids(&self) -> Result<(), SessionError> {
        let mut t = self.core.fids();
        for &(fid, generation) in &self.refs {
            match t.get_gen(fid, generation) {
                None => return Err(SessionError::UnknownFid(fid)),
                Some(r) if r.is_stale() => return Err(SessionError::Stale { fid }),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

fn unref_all(t: &mut crate::fids::FidTable, refs: &[(u32, u64)], e: SessionError) -> SessionError {
    for &(fid, generation) in refs {
        t.unref(fid, generation);
    }
    e
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let effect = std::mem::take(&mut self.effect);
        if !effect.needs_reply() && self.refs.is_empty() && self.rename.is_none() {
            return;
        }
        let mut t = self.core.fids();
        if let Some(id) = self.rename {
            t.renames.end(id);
        }
        effect.abandon(&mut t);
        for &(fid, generation) in &self.refs {
            t.unref(fid, generation);
        }
    }
}

/// Sends `frame` and waits for its reply, waiting out disconnections and resending after
/// replay. `Rlerror` becomes `SessionError::Server`.
///
/// `.Z` rules: a de-duplicated mutation (non-zero op-id) whose attempt may have been seen is
/// resent with RETRY and the same envelope until the ticket's horizon, counted from the first
/// unanswered attempt, runs out ([`SessionError::OutcomeUnknown`]); `ENOTCONN` (not the
/// leader) kills the connection so the supervisor finds the leader, then resends unchanged;
/// `ESHUTDOWN` does the same with RETRY; `ESTALE` to a RETRY resends as a first attempt.
pub(crate) fn exchange(
    core: &Arc<Core>,
    frame: Frame,
    ticket: Ticket,
) -> impl Future<Output = Result<Message, SessionError>> + Send + '_ {
    exchange_into(core, frame, ticket).map(|r| r.map(|(m, _)| m))
}

/// [`exchange`], also returning the ticket's sink: filled with the reply's payload when the
/// reader received it there (the `Rread` then has empty data), else still empty.
///
/// A plain function returning an `async move` block (not an `async fn`): the block uses
/// `frame` and `ticket` where they were captured, where an `async fn` would keep a second
/// copy of each in its state, which every request's future carries.
#[allow(clippy::manual_async_fn)] // deliberate: see above
pub(crate) fn exchange_into(
    core: &Arc<Core>,
    mut frame: Frame,
    mut ticket: Ticket,
) -> impl Future<Output = Result<(Message, Option<BytesMut>), SessionError>> + Send + '_ {
    async move {
        let mut request = frame.message.msg_type();
        // A request built for a richer dialect than the connection's: how to rebuild its
        // reply from the plain request sent instead (see `lower.rs`).
        let mut then: Option<Box<Then>> = None;
        // The resend policy's state (pure: `resend.rs`).
        let mut attempts = Attempts::default();
        loop {
            if attempts.take_busy() {
                tokio::time::sleep(BUSY_PAUSE).await;
            }
            // The common case, a live connection and nothing to wait out, costs no await; the
            // rare waits live in their own (boxed) future so they do not grow this one, which
            // every request carries.
            let conn = match core.current_conn() {
                Some(c) if attempts.unhindered() => c,
                _ => {
                    let deadline =
                        attempts.deadline(ticket.horizon, ticket.envelope.deduplicates());
                    let wait = Box::pin(wait_for_conn(core, ticket.horizon, deadline));
                    wait.await?
                }
            };
            if !conn.dialect().allows(request) {
                match ticket.lower(&mut frame.message, conn.dialect()) {
                    Ok(Some(t)) => {
                        tracing::debug!(%request, dialect = %conn.dialect(), "request rebuilt for the connection's dialect");
                        request = frame.message.msg_type();
                        then = Some(Box::new(t));
                    }
                    Ok(None) => {}
                    Err(errno) => {
                        tracing::debug!(%request, dialect = %conn.dialect(), "request has no form in the connection's dialect");
                        return Err(SessionError::Server(errno));
                    }
                }
            }
            if ticket.sent_before {
                if let Some(done) = ticket.proven_rename(request) {
                    tracing::debug!(%request, "replay proved the lost rename applied; not resending");
                    drop(ticket);
                    return Ok((done, None));
                }
            }
            ticket.check_fids()?;
            // A request cut for a larger msize and resent after a reconnect that shrank it must
            // not ask for a reply the new connection cannot carry (diod refuses such counts, and
            // an oversized reply would be a protocol violation): ask for less; a short read is
            // legal and the bulk primitives read the rest.
            clamp_reply_count(&mut frame.message, conn.msize());
            let mut inflight = match conn.send(&mut frame, ticket, None) {
                Ok(f) => {
                    if attempts.sent() {
                        Counters::add(&core.counters.resends, 1);
                    }
                    f
                }
                Err((t, SendError::Dead)) => {
                    ticket = t;
                    continue;
                }
                Err((t, SendError::Busy)) => {
                    ticket = t;
                    attempts.busy();
                    continue;
                }
                Err((t, SendError::Fatal(e))) => {
                    drop(t);
                    return Err(e);
                }
            };
            let Some(delivery) = inflight.wait().await else {
                return Err(SessionError::Protocol(
                    "request dropped by its connection".into(),
                ));
            };
            match delivery {
                Delivery::Reply { reply, ticket: t } => {
                    let dialect = inflight.conn().dialect();
                    let msg = match reply {
                        Reply::Decoded(m) => m,
                        Reply::Raw(bytes) => match decode_reply(bytes, dialect, request) {
                            Ok(m) => m,
                            Err(why) => {
                                inflight.conn().violation(why);
                                ticket = t;
                                ticket.seen(dialect);
                                attempts.violation(clock);
                                continue;
                            }
                        },
                    };
                    if let Some(why) = t.resend_reason(&msg, dialect) {
                        ticket = t;
                        tracing::debug!(
                            conn = inflight.conn().id,
                            ?why,
                            "server asks for a resend"
                        );
                        let next = attempts.resend(why, clock);
                        if let Some(sent_before) = next.sent_before {
                            ticket.sent_before = sent_before;
                        }
                        if let Some(why) = next.kill {
                            inflight.conn().kill(why.into());
                        }
                        continue;
                    }
                    let mut t = t;
                    let sink = t.sink.take();
                    // Resent without de-duplication: an error may hide the first attempt's
                    // success; verify where the server's state can prove it.
                    let ambiguous = t.ambiguous(dialect);
                    let carry = t.carry(dialect);
                    drop(t);
                    let done = match msg {
                        Message::Rlerror(e)
                            if ambiguous && check(&frame.message, e.ecode).is_some() =>
                        {
                            match verify(core, &frame.message, e.ecode).await {
                                Some(m) => {
                                    tracing::debug!(%request, errno = e.ecode, "resent request's error disproved: an earlier attempt applied");
                                    m
                                }
                                None => return Err(SessionError::Server(e.ecode)),
                            }
                        }
                        Message::Rlerror(e) => {
                            inflight.conn().answered_error(request, e.ecode);
                            return Err(SessionError::Server(e.ecode));
                        }
                        m => m,
                    };
                    return match then {
                        None => Ok((done, sink)),
                        Some(then) => finish(core, *then, done, carry).await.map(|m| (m, None)),
                    };
                }
                Delivery::Lost(mut t) => {
                    let sent = inflight.was_sent();
                    if sent {
                        t.seen(inflight.conn().dialect());
                    }
                    attempts.lost(sent, t.resendable(), clock)?;
                    ticket = t;
                }
            }
        }
    }
}

/// Waits for a live connection for [`exchange_into`], until `deadline` if there is one
/// (see `resend.rs`).
async fn wait_for_conn(
    core: &Arc<Core>,
    horizon: Duration,
    deadline: Option<Deadline>,
) -> Result<Arc<Conn>, SessionError> {
    let Some(d) = deadline else {
        return Ok(core.wait_up().await);
    };
    if d.at <= clock() {
        return Err(d.error(horizon));
    }
    tokio::time::timeout_at(d.at.into(), core.wait_up())
        .await
        .map_err(|_| d.error(horizon))
}

/// Lowers the count of a read-like request so that its reply fits in `msize`.
pub(crate) fn clamp_reply_count(m: &mut Message, msize: u32) {
    use zerofs_9p_proto::consts::LINUX_IOHDRSZ;
    let (count, overhead) = match m {
        Message::Tread(r) => (&mut r.count, LINUX_IOHDRSZ),
        Message::Treaddir(r) | Message::Treaddirattr(r) => (&mut r.count, LINUX_IOHDRSZ),
        Message::Tlopenatread(r) => {
            r.count = r.count.min(lopenatread_limit(msize));
            return;
        }
        _ => return,
    };
    *count = (*count).min(msize.saturating_sub(overhead));
}

/// The largest prefetch a `Tlopenatread` may ask for in `msize`.
pub(crate) fn lopenatread_limit(msize: u32) -> u32 {
    use zerofs_9p_proto::consts::{LINUX_IOHDRSZ, LOPENATREAD_OVERHEAD};
    msize.saturating_sub(LOPENATREAD_OVERHEAD.max(LINUX_IOHDRSZ))
}

/// One attempt on one connection, without resending (negotiation and replay). `Rlerror` is
/// returned as a message. `None` if the connection died.
pub(crate) async fn once(
    conn: &Arc<Conn>,
    message: Message,
    ticket: Ticket,
    tag: Option<u16>,
) -> Option<Message> {
    let request = message.msg_type();
    let mut frame = Frame::new(0, message);
    let mut inflight = match conn.send(&mut frame, ticket, tag) {
        Ok(f) => f,
        Err((t, e)) => {
            drop(t);
            if let SendError::Fatal(e) = e {
                tracing::warn!(error = %e, "replay request could not be encoded");
            }
            return None;
        }
    };
    match inflight.wait().await? {
        Delivery::Reply {
            reply: Reply::Decoded(m),
            ..
        } => Some(m),
        Delivery::Reply {
            reply: Reply::Raw(b),
            ..
        } => match decode_reply(b, conn.dialect(), request) {
            Ok(m) => Some(m),
            Err(why) => {
                conn.violation(why);
                None
            }
        },
        Delivery::Lost(_) => None,
    }
}
