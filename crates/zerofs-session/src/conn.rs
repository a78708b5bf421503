//! One connection: the pending-request table, the writer and reader tasks, and teardown.
//!
//! Callers register a request (tag + slot) and queue its encoded head and payload for the
//! writer, which batches queued frames into vectored writes. The reader splits incoming bytes
//! into frames without copying, finds the slot by tag, applies the request's fid effect, and
//! hands the frame to the caller, who decodes it. Any fault (EOF, I/O error, unknown tag,
//! oversized or undecodable frame, wrong reply type) kills the connection: every pending
//! request is handed back to its caller as lost, and the supervisor is told.

mod reader;
pub(crate) mod state;
mod watchdog;
mod writer;

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use zerofs_9p_proto::consts::{NOFID, NOTAG, getattr};
use zerofs_9p_proto::{Dialect, Frame, Header, Message, MessageType, Tclunk, Tgetattr};

use crate::core::{Core, Death, Link};
use crate::effects::Effect;
use crate::error::SessionError;
use crate::request::Ticket;
use crate::stats::Counters;
use crate::transport::{BoxRead, BoxWrite};
use state::{Caller, ClunkTag, ConnState, Refused, Slot};

/// `Rread` payloads at least this large may be received straight into the caller's buffer.
pub(crate) const DIRECT_MIN: usize = 64 * 1024;

/// Send state of a queued frame: the writer and a withdrawing caller race on it.
const QUEUED: u8 = 0;
const SENT: u8 = 1;
const CANCELLED: u8 = 2;

/// A frame queued for the writer.
#[derive(Debug)]
pub(crate) struct Outgoing {
    head: Bytes,
    payload: Option<Bytes>,
    state: Arc<AtomicU8>,
}

/// What comes back to a caller.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// The reply, raw (the caller decodes) or already decoded by the reader.
    Reply { reply: Reply, ticket: Ticket },
    /// The connection died before a reply arrived.
    Lost(Ticket),
}

/// A reply frame.
#[derive(Debug)]
pub(crate) enum Reply {
    Raw(Bytes),
    Decoded(Message),
}

/// What a request's slot keeps for its caller.
#[derive(Debug)]
struct Waiter {
    ticket: Ticket,
    /// `None` for a background request (a clunk, a probe, a flush) nobody waits for.
    tx: Option<oneshot::Sender<Delivery>>,
    /// The frame's send state, raced between the writer and a withdrawing caller.
    state: Arc<AtomicU8>,
}

impl Caller for Waiter {
    fn written(&self) -> bool {
        self.state.load(Ordering::Acquire) == SENT
    }

    fn changes_fids(&self) -> bool {
        self.ticket.needs_reply()
    }

    fn recovered(&mut self) {
        self.ticket.recoveries = self.ticket.recoveries.saturating_add(1);
    }
}

type Inner = ConnState<Waiter>;

/// Why a request could not be queued.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The connection is dead: wait for the next one.
    Dead,
    /// All tags are pending: retry shortly.
    Busy,
    /// The request itself is bad.
    Fatal(SessionError),
}

/// One connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) id: u64,
    core: Arc<Core>,
    dialect: AtomicU8,
    msize: AtomicU32,
    dead: AtomicBool,
    inner: Mutex<Inner>,
    write: writer::WriteSide,
    tasks: Mutex<Vec<AbortHandle>>,
    /// Origin of `last_rx`.
    born: Instant,
    /// When the reader last received bytes: nanoseconds after `born`, plus one (0: never).
    last_rx: AtomicU64,
    /// Whether version negotiation finished (before that nothing but `Tversion` may be sent).
    negotiated: AtomicBool,
}

/// The index of `d` in [`Dialect::ALL`] (what `dialect()` reads back).
fn dialect_code(d: Dialect) -> u8 {
    Dialect::ALL.iter().position(|&x| x == d).unwrap_or(0) as u8
}

impl Conn {
    /// Starts the reader and writer tasks over a fresh transport. Until negotiation sets them,
    /// the dialect is plain and frames up to `msize` are accepted.
    pub(crate) fn start(
        core: Arc<Core>,
        id: u64,
        rd: BoxRead,
        wr: BoxWrite,
        msize: u32,
    ) -> Arc<Conn> {
        let state = ConnState::new(core.liveness);
        let conn = Arc::new(Conn {
            id,
            core,
            dialect: AtomicU8::new(0),
            msize: AtomicU32::new(msize),
            dead: AtomicBool::new(false),
            inner: Mutex::new(state),
            write: writer::WriteSide::new(wr),
            tasks: Mutex::new(Vec::new()),
            born: clock(),
            last_rx: AtomicU64::new(0),
            negotiated: AtomicBool::new(false),
        });
        let w = tokio::spawn(writer::writer(conn.clone())).abort_handle();
        let r = tokio::spawn(reader::reader(conn.clone(), rd)).abort_handle();
        let mut tasks = conn.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.extend([w, r]);
        if conn.core.liveness.stall.is_some() || conn.core.liveness.request.is_some() {
            tasks.push(tokio::spawn(watchdog::watchdog(conn.clone())).abort_handle());
        }
        drop(tasks);
        conn
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The negotiated dialect.
    pub(crate) fn dialect(&self) -> Dialect {
        Dialect::ALL[usize::from(self.dialect.load(Ordering::Acquire))]
    }

    /// The negotiated msize.
    pub(crate) fn msize(&self) -> u32 {
        self.msize.load(Ordering::Acquire)
    }

    /// Records the negotiation result.
    pub(crate) fn set_params(&self, dialect: Dialect, msize: u32) {
        self.dialect.store(dialect_code(dialect), Ordering::Release);
        self.msize.store(msize, Ordering::Release);
        self.negotiated.store(true, Ordering::Release);
    }

    /// The reader received bytes just now.
    fn note_rx(&self) {
        let since = clock().saturating_duration_since(self.born);
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX - 1);
        self.last_rx.store(nanos + 1, Ordering::Relaxed);
    }

    /// When the reader last received bytes, if ever.
    fn last_rx(&self) -> Option<Instant> {
        match self.last_rx.load(Ordering::Relaxed) {
            0 => None,
            n => Some(self.born + std::time::Duration::from_nanos(n - 1)),
        }
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Registers `frame` (its tag is chosen here; `fixed_tag` forces one, e.g. `NOTAG`) and
    /// queues it. On failure the ticket comes back untouched (by value: boxing it would cost
    /// an allocation per request on the hot path).
    #[allow(clippy::result_large_err)]
    pub(crate) fn send(
        self: &Arc<Self>,
        frame: &mut Frame,
        ticket: Ticket,
        fixed_tag: Option<u16>,
    ) -> Result<InFlight, (Ticket, SendError)> {
        let dialect = self.dialect();
        let ty = frame.message.msg_type();
        frame.envelope = if dialect.has_envelope(ty) {
            Some(ticket.envelope())
        } else {
            None
        };
        frame.tag = 0;
        let len = frame.encoded_len(dialect);
        let msize = self.msize();
        if len > msize as usize && ty != MessageType::Tversion {
            return Err((
                ticket,
                SendError::Fatal(SessionError::TooLarge { len, msize }),
            ));
        }
        let mut head = BytesMut::with_capacity(len.min(512));
        let payload = match frame.encode_head(dialect, &mut head) {
            Ok(p) => p.cloned(),
            Err(e) => return Err((ticket, SendError::Fatal(e.into()))),
        };
        let state = Arc::new(AtomicU8::new(QUEUED));
        let (wtx, wrx) = oneshot::channel();
        let mut inner = self.inner();
        let tag = match inner.tag(ty, fixed_tag) {
            Ok(tag) => tag,
            Err(why) => {
                drop(inner);
                let why = match why {
                    Refused::Dead => SendError::Dead,
                    Refused::Busy => SendError::Busy,
                    Refused::Unsupported(errno) => SendError::Fatal(SessionError::Server(errno)),
                };
                return Err((ticket, why));
            }
        };
        head[5..7].copy_from_slice(&tag.to_le_bytes());
        let out = Outgoing {
            head: head.freeze(),
            payload,
            state: state.clone(),
        };
        // Inline when nothing else is in flight (the slot is inserted after; lazy frames go
        // out with this one).
        self.write.send(out, inner.len(), &self.core.counters);
        let recoveries = ticket.recoveries;
        let waiter = Waiter {
            ticket,
            tx: Some(wtx),
            state: state.clone(),
        };
        inner.insert(tag, ty, waiter, recoveries, None, clock);
        // Counted under the lock: the reader decrements under it too, so the gauge never
        // dips below zero (a reply can arrive before this function returns).
        Counters::add(&self.core.counters.in_flight, 1);
        drop(inner);
        Ok(InFlight {
            conn: self.clone(),
            tag,
            state,
            rx: Some(wrx),
        })
    }

    /// The server answered `request` with `errno` (see [`ConnState::refuse`]).
    pub(crate) fn answered_error(&self, request: MessageType, errno: u32) {
        if state::refused_as_a_whole(request) {
            self.inner().refuse(request, errno);
        }
    }

    /// Queues a background `Tclunk` for a released fid. False if the connection is dead.
    /// Called by the fid table's guard once the table is unlocked.
    pub(crate) fn send_clunk(&self, fid: u32, generation: u64) -> bool {
        let mut inner = self.inner();
        match inner.clunk_tag(fid, generation) {
            ClunkTag::Now(tag) => self.queue_clunk(&mut inner, tag, fid, generation),
            ClunkTag::Deferred => true,
            ClunkTag::Dead => false,
        }
    }

    fn queue_clunk(&self, inner: &mut Inner, tag: u16, fid: u32, generation: u64) -> bool {
        let msg = Message::Tclunk(Tclunk { fid });
        // On an idle connection the clunk waits briefly for the next request to ride with.
        let lazy = !self.core.clunk_linger.is_zero();
        self.queue_background(
            inner,
            tag,
            msg,
            Effect::Clunk { fid, generation },
            lazy,
            None,
        )
    }

    /// Registers and queues a request nobody waits for (a clunk, a liveness probe, a flush
    /// of `flushes`) under `tag`, already taken. `lazy`: it may wait briefly for the next
    /// frame to ride with.
    fn queue_background(
        &self,
        inner: &mut Inner,
        tag: u16,
        msg: Message,
        effect: Effect,
        lazy: bool,
        flushes: Option<(u16, u64)>,
    ) -> bool {
        let request = msg.msg_type();
        let frame = Frame::new(tag, msg);
        let mut head = BytesMut::with_capacity(32);
        if frame.encode(Dialect::Plain, &mut head).is_err() {
            inner.untag(tag);
            return false;
        }
        let state = Arc::new(AtomicU8::new(QUEUED));
        let out = Outgoing {
            head: head.freeze(),
            payload: None,
            state: state.clone(),
        };
        if lazy {
            self.write.send_clunk(out, inner.len(), &self.core.counters);
        } else {
            self.write.send(out, usize::MAX, &self.core.counters);
        }
        let waiter = Waiter {
            ticket: Ticket::background(self.core.clone(), effect),
            tx: None,
            state,
        };
        inner.insert(tag, request, waiter, 0, flushes, clock);
        Counters::add(&self.core.counters.in_flight, 1);
        true
    }

    /// Sends a `Tflush` for the written request under `tag` if that is safe and useful: the
    /// server has not refused `Tflush` before, the request changes no fid (a flushed reply
    /// could otherwise hide a fid the server created), and it is not flushed already.
    fn flush(&self, inner: &mut Inner, tag: u16) {
        let refused = self.core.flush_refused.load(Ordering::Relaxed);
        let Some((ftag, old_id)) = inner.flush_tag(tag, refused) else {
            return;
        };
        let msg = Message::Tflush(zerofs_9p_proto::Tflush { oldtag: tag });
        self.queue_background(inner, ftag, msg, Effect::None, false, Some((tag, old_id)));
    }

    /// Whether a liveness probe may be sent: negotiation is done and an attach fid exists.
    fn can_probe(&self) -> bool {
        self.negotiated.load(Ordering::Acquire)
            && self.core.probe_fid.load(Ordering::Acquire) != NOFID
    }

    /// Queues a liveness probe: a `Tgetattr` of the basic attributes of the attach fid. Any
    /// answer (an `Rlerror` too, e.g. while replay has not re-attached it yet) proves the
    /// connection alive.
    fn send_probe(&self) {
        let fid = self.core.probe_fid.load(Ordering::Acquire);
        let mut inner = self.inner();
        if let Ok(tag) = inner.tag(MessageType::Tgetattr, None) {
            let msg = Message::Tgetattr(Tgetattr {
                fid,
                request_mask: getattr::BASIC,
            });
            self.queue_background(&mut inner, tag, msg, Effect::None, false, None);
        }
    }

    /// Removes the slot of `tag` (freeing the tag unless a `Tflush` names it) and sends
    /// deferred clunks into free tags. The answer to a `Tflush` also settles the flushed tag.
    fn take_slot(&self, tag: u16) -> Option<Slot<Waiter>> {
        let mut inner = self.inner();
        let (slot, clunks) = inner.take(tag)?;
        self.core.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        for (t, fid, generation) in clunks {
            self.queue_clunk(&mut inner, t, fid, generation);
        }
        Some(slot)
    }

    /// The answer to a `Tflush` of `old`: `Rflush` retires the flushed request (handed back to
    /// its caller as lost: a cancelled caller's ticket, and so its permits and fid references,
    /// comes back now; an overdue request's caller resends it); `Rlerror` means the server
    /// does not flush, which the session remembers.
    /// Only the request the flush named is retired: if its reply came first, the tag was
    /// freed when the flush was settled and may name another request by now.
    fn flush_answered(&self, (old, old_id): (u16, u64), reply: &Message) {
        if !matches!(reply, Message::Rflush) {
            self.core.flush_refused.store(true, Ordering::Relaxed);
            tracing::debug!(conn = self.id, "server refuses Tflush; not asking again");
            return;
        }
        let retired = self.inner().flushed(old, old_id);
        if let Some(slot) = retired {
            self.core.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            deliver(slot.caller.tx, Delivery::Lost(slot.caller.ticket));
        }
    }

    /// Recovers the late requests `ids` (see `overdue.rs`): each is flushed, to be resent
    /// when `Rflush` hands it back (a request whose flush is already in flight waits for
    /// that one), and its next attempt gets twice the time.
    fn recover(&self, ids: &[u64]) {
        let mut inner = self.inner();
        for (tag, request) in inner.recover(ids) {
            tracing::warn!(
                conn = self.id,
                tag,
                %request,
                "request unanswered past the request timeout on a live connection; flushing it to resend"
            );
            self.flush(&mut inner, tag);
        }
    }

    /// The type of the late request `id` whose connection is about to be closed for it;
    /// `count`: count the recovery (its next attempt gets twice the time).
    fn mark_recovered(&self, id: u64, count: bool) -> Option<MessageType> {
        self.inner().mark_recovered(id, count)
    }

    /// Withdraws a request not yet written; returns its ticket if it was withdrawn. A request
    /// already written whose reply changes no fid is flushed instead (where the server
    /// supports `Tflush`).
    fn withdraw(&self, tag: u16, state: &Arc<AtomicU8>) -> Option<Ticket> {
        let mut inner = self.inner();
        let ours = inner
            .get_mut(tag)
            .is_some_and(|s| Arc::ptr_eq(&s.caller.state, state));
        if !ours {
            return None;
        }
        if state
            .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            self.flush(&mut inner, tag);
            return None;
        }
        let slot = inner.withdrawn(tag)?;
        self.core.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        drop(inner);
        Some(slot.caller.ticket)
    }

    /// Takes the sink of the `Tread` pending under `tag` if it can take a `count`-byte
    /// payload (the reader then receives the payload straight into it).
    fn take_sink(&self, tag: u16, count: usize) -> Option<BytesMut> {
        let mut inner = self.inner();
        let slot = inner.get_mut(tag)?;
        if slot.request != MessageType::Tread {
            return None;
        }
        let sink = slot.caller.ticket.sink.as_ref()?;
        if !sink.is_empty() || sink.capacity() < count {
            return None;
        }
        slot.caller.ticket.sink.take()
    }

    /// Completes the `Tread` under `tag` whose payload the reader received into `sink`.
    /// False if the connection was killed.
    fn route_sink(self: &Arc<Self>, tag: u16, sink: BytesMut) -> bool {
        let Some(mut slot) = self.take_slot(tag) else {
            self.violation(format!("reply with unknown tag {tag}"));
            return false;
        };
        Counters::add(&self.core.counters.requests, 1);
        slot.caller.ticket.sink = Some(sink);
        let reply = Reply::Decoded(Message::Rread(zerofs_9p_proto::Rread {
            data: Bytes::new(),
        }));
        deliver(
            slot.caller.tx,
            Delivery::Reply {
                reply,
                ticket: slot.caller.ticket,
            },
        );
        true
    }

    /// Routes one reply frame. False if the connection was killed.
    fn route(self: &Arc<Self>, frame: Bytes) -> bool {
        let Some(header) = Header::peek(&frame) else {
            self.violation("frame shorter than a header".into());
            return false;
        };
        let Some(slot) = self.take_slot(header.tag) else {
            self.violation(format!("reply with unknown tag {}", header.tag));
            return false;
        };
        Counters::add(&self.core.counters.requests, 1);
        let Slot {
            request,
            caller:
                Waiter {
                    mut ticket,
                    tx: waiter,
                    ..
                },
            flushes,
            ..
        } = slot;
        let reply = if ticket.needs_reply() || waiter.is_none() {
            let dialect = self.dialect();
            match decode_reply(frame, dialect, request) {
                Ok(msg) => {
                    // A `.Z` "resend" answer (not leader, shutdown, unseen RETRY) is no
                    // result: the effect waits for the resend's answer.
                    let resend = ticket.resend_reason(&msg, dialect).is_some();
                    if !resend && !ticket.apply(&msg, dialect, self) {
                        // Killed (by another thread) between taking the slot and applying:
                        // whatever the reply created died with the connection, and replay may
                        // already have taken its snapshot. Treat the request as lost.
                        deliver(waiter, Delivery::Lost(ticket));
                        return false;
                    }
                    if let Some(old) = flushes {
                        self.flush_answered(old, &msg);
                    }
                    Reply::Decoded(msg)
                }
                Err(e) => {
                    self.violation(e);
                    deliver(waiter, Delivery::Lost(ticket));
                    return false;
                }
            }
        } else {
            Reply::Raw(frame)
        };
        deliver(waiter, Delivery::Reply { reply, ticket });
        true
    }

    /// Tears the connection down for a protocol violation.
    pub(crate) fn violation(self: &Arc<Self>, why: String) {
        Counters::add(&self.core.counters.protocol_violations, 1);
        tracing::warn!(conn = self.id, %why, "9P protocol violation; recycling the connection");
        self.kill(format!("protocol violation: {why}"));
    }

    /// Kills the connection: pending requests go back to their callers as lost, the fid table
    /// learns that nothing is live, callers stop seeing it, the tasks stop, the supervisor hears.
    pub(crate) fn kill(self: &Arc<Self>, cause: String) {
        let drained = {
            let mut inner = self.inner();
            let Some(drained) = inner.kill() else {
                return;
            };
            self.dead.store(true, Ordering::Release);
            drained
        };
        self.core
            .counters
            .in_flight
            .fetch_sub(drained.len() as u64, Ordering::Relaxed);
        self.core.fids().connection_lost(self.id);
        self.core.link.send_if_modified(|l| match l {
            Link::Up(c) if c.id == self.id => {
                *l = Link::Down;
                true
            }
            _ => false,
        });
        for slot in drained {
            deliver(slot.caller.tx, Delivery::Lost(slot.caller.ticket));
        }
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
        tracing::debug!(conn = self.id, %cause, "connection closed");
        let _ = self.core.death.send(Death::Lost {
            conn_id: self.id,
            cause,
        });
    }
}

fn deliver(waiter: Option<oneshot::Sender<Delivery>>, d: Delivery) {
    if let Some(w) = waiter {
        // A dropped receiver hands the delivery back; dropping it resolves the ticket.
        drop(w.send(d));
    }
}

/// Decodes a reply and checks it answers `request`.
pub(crate) fn decode_reply(
    frame: Bytes,
    dialect: Dialect,
    request: MessageType,
) -> Result<Message, String> {
    let msg = Frame::decode(frame, dialect)
        .map_err(|e| format!("undecodable reply: {e}"))?
        .message;
    let ty = msg.msg_type();
    if ty == MessageType::Rlerror || Some(ty) == request.reply() {
        Ok(msg)
    } else {
        Err(format!("{ty} does not answer {request}"))
    }
}

/// A request on the wire (or queued). Dropping it before completion withdraws the request if
/// the writer has not taken it yet; otherwise the slot stays until the reply arrives.
#[derive(Debug)]
pub(crate) struct InFlight {
    conn: Arc<Conn>,
    tag: u16,
    state: Arc<AtomicU8>,
    rx: Option<oneshot::Receiver<Delivery>>,
}

impl InFlight {
    /// Waits for the reply or the connection's death.
    pub(crate) async fn wait(&mut self) -> Option<Delivery> {
        let rx = self.rx.as_mut()?;
        let d = rx.await.ok();
        self.rx = None;
        d
    }

    /// Whether the writer took the frame (it may have reached the server).
    pub(crate) fn was_sent(&self) -> bool {
        self.state.load(Ordering::Acquire) == SENT
    }

    /// The connection it went out on.
    pub(crate) fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.rx.is_some() {
            // Dropped after the lock is released: resolving a ticket takes the fid lock.
            drop(self.conn.withdraw(self.tag, &self.state));
        }
    }
}

/// The time, from tokio's clock (the one the watchdog sleeps on; the system's monotonic clock
/// unless a test pauses it).
pub(crate) fn clock() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// `NOTAG`, re-exported for negotiation.
pub(crate) const VERSION_TAG: u16 = NOTAG;
