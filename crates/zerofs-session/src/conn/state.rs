//! One connection's request state, as a pure state machine: tags, the slot of every request
//! outstanding, `Tflush` bookkeeping, clunks waiting for a free tag, request ids and deadlines,
//! and the connection's timers ([`Liveness`], [`Overdue`]).
//!
//! No I/O, no clock, no tokio: time comes in as arguments, and what must go on the wire comes
//! back as tags for the caller to fill (a clunk, a flush). `Conn` (the driver) holds it under
//! one lock and does the writing and the waking. What a slot carries for its caller is the
//! driver's business: anything that says whether its frame was written, whether its reply
//! changes the fid table, and counts recoveries ([`Caller`]).

use std::collections::VecDeque;
use std::time::Instant;

use zerofs_9p_proto::MessageType;

use crate::hash::IntMap;
use crate::liveness::{Liveness, LivenessConfig, Verdict};
use crate::overdue::{Late, Overdue, Recovery};
use crate::tags::Tags;

/// What a slot keeps for the caller waiting on it.
pub(crate) trait Caller {
    /// Whether the writer took the frame (it may have reached the server).
    fn written(&self) -> bool;
    /// Whether the reply changes the fid table (a flushed reply could hide a created fid).
    fn changes_fids(&self) -> bool;
    /// Counts one more recovery of the request; its next attempt gets twice the time.
    fn recovered(&mut self);
}

/// One outstanding request.
#[derive(Debug)]
pub(crate) struct Slot<P> {
    pub(crate) request: MessageType,
    pub(crate) caller: P,
    /// A `Tflush` naming this slot's tag is in flight: the tag stays reserved until its
    /// answer, even if this request's own reply comes first (PROTOCOL §5.3).
    flushing: bool,
    /// For a `Tflush`: the tag and the id of the request it flushes.
    pub(crate) flushes: Option<(u16, u64)>,
    /// The request's identity on this connection (tags are reused, ids never).
    pub(crate) id: u64,
    /// When the request is late (see `overdue.rs`); `None` without a request timeout.
    deadline: Option<Instant>,
}

/// Why no tag was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The connection is dead.
    Dead,
    /// Every tag is pending.
    Busy,
    /// This connection's server refuses the request type with this errno (see
    /// [`ConnState::refuse`]): answer it without a round trip.
    Unsupported(u32),
}

/// Request types a server implements or not as a whole (diod has neither `Tunlinkat` nor
/// `Trenameat`): once one is refused as not implemented, the connection refuses it locally.
/// Types whose refusal may depend on the arguments (a `Tfallocate` mode, a `Tsetattr` field)
/// are not remembered.
pub(crate) fn refused_as_a_whole(ty: MessageType) -> bool {
    matches!(ty, MessageType::Tunlinkat | MessageType::Trenameat)
}

/// Where a background clunk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClunkTag {
    /// Send it under this tag now.
    Now(u16),
    /// No tag is free: it goes out when one is (see [`ConnState::take`]).
    Deferred,
    /// The connection is dead.
    Dead,
}

/// A clunk that waited for a tag, with the tag it now has: `(tag, fid, generation)`.
pub(crate) type TaggedClunk = (u16, u32, u64);

/// What the driver must do after a timer fired.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Timeout {
    /// Stall detection's verdict (probe, or declare the connection dead).
    pub(crate) verdict: Verdict,
    /// What to do about requests past their deadline.
    pub(crate) recovery: Recovery,
    /// When to call again at the latest.
    pub(crate) next: Instant,
}

/// A connection's request state.
#[derive(Debug)]
pub(crate) struct ConnState<P> {
    tags: Tags,
    slots: IntMap<u16, Slot<P>>,
    dead: bool,
    deferred_clunks: VecDeque<(u32, u64)>,
    live: Liveness,
    overdue: Overdue,
    next_id: u64,
    request_timeout: Option<std::time::Duration>,
    /// Request types this connection's server refused as not implemented, with the errno.
    refused: Vec<(MessageType, u32)>,
}

impl<P: Caller> ConnState<P> {
    pub(crate) fn new(config: LivenessConfig) -> ConnState<P> {
        ConnState {
            tags: Tags::default(),
            slots: IntMap::default(),
            dead: false,
            deferred_clunks: VecDeque::new(),
            live: Liveness::new(config),
            overdue: Overdue::new(config.window),
            next_id: 0,
            request_timeout: config.request,
            refused: Vec::new(),
        }
    }

    /// Requests outstanding (background ones included).
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Takes a tag for a new request of type `ty`: `fixed` if given and free (e.g. `NOTAG`),
    /// else any.
    pub(crate) fn tag(&mut self, ty: MessageType, fixed: Option<u16>) -> Result<u16, Refused> {
        if self.dead {
            return Err(Refused::Dead);
        }
        if let Some(&(_, errno)) = self.refused.iter().find(|(t, _)| *t == ty) {
            return Err(Refused::Unsupported(errno));
        }
        let tag = match fixed {
            Some(t) => self.tags.take(t).then_some(t),
            None => self.tags.alloc(),
        };
        tag.ok_or(Refused::Busy)
    }

    /// The server answered a request of type `ty` with `errno`: if that says the type is not
    /// implemented ([`refused_as_a_whole`], `ENOSYS` or `EOPNOTSUPP`), later ones are refused
    /// here without a round trip. A new connection starts with no such memory.
    pub(crate) fn refuse(&mut self, ty: MessageType, errno: u32) {
        use zerofs_9p_proto::consts::errno::{ENOSYS, EOPNOTSUPP};
        let unimplemented = errno == ENOSYS || errno == EOPNOTSUPP;
        if unimplemented && refused_as_a_whole(ty) && !self.refused.iter().any(|(t, _)| *t == ty) {
            self.refused.push((ty, errno));
        }
    }

    /// A tag for the clunk of `fid`, or a place in the queue of clunks waiting for one.
    pub(crate) fn clunk_tag(&mut self, fid: u32, generation: u64) -> ClunkTag {
        if self.dead {
            return ClunkTag::Dead;
        }
        match self.tags.alloc() {
            Some(tag) => ClunkTag::Now(tag),
            None => {
                self.deferred_clunks.push_back((fid, generation));
                ClunkTag::Deferred
            }
        }
    }

    /// Gives back a tag taken for a frame that was never registered.
    pub(crate) fn untag(&mut self, tag: u16) {
        self.tags.free(tag);
    }

    /// Registers the request under `tag` (taken with [`tag`](Self::tag) or handed out by
    /// this state). `recoveries`: how often it was recovered before (its deadline doubles
    /// each time). `flushes`: for a `Tflush`, the tag and id of the request it flushes, whose
    /// tag stays reserved until this one is answered. `now` is asked only when the request
    /// needs a time: a request timeout is set, or it starts a busy period with stall
    /// detection on. Returns the request's id.
    pub(crate) fn insert(
        &mut self,
        tag: u16,
        request: MessageType,
        caller: P,
        recoveries: u32,
        flushes: Option<(u16, u64)>,
        now: impl FnOnce() -> Instant,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let starts_busy = self.slots.is_empty() && self.live.enabled();
        let deadline = if starts_busy || self.request_timeout.is_some() {
            let now = now();
            if starts_busy {
                self.live.busy(now);
            }
            crate::overdue::deadline(self.request_timeout, now, recoveries)
        } else {
            None
        };
        if let Some((old, _)) = flushes {
            if let Some(s) = self.slots.get_mut(&old) {
                s.flushing = true;
            }
        }
        self.slots.insert(
            tag,
            Slot {
                request,
                caller,
                flushing: false,
                flushes,
                id,
                deadline,
            },
        );
        id
    }

    /// The answer to `tag` arrived: removes its slot (freeing the tag unless a `Tflush`
    /// names it; the answer to a `Tflush` settles the flushed tag) and hands the clunks that
    /// waited for a tag one each: the caller sends them under those tags.
    pub(crate) fn take(&mut self, tag: u16) -> Option<(Slot<P>, Vec<TaggedClunk>)> {
        let slot = self.slots.remove(&tag)?;
        if !slot.flushing {
            self.tags.free(tag);
        }
        if let Some((old, _)) = slot.flushes {
            self.settle_flush(old);
        }
        let mut clunks = Vec::new();
        while let Some(&(fid, generation)) = self.deferred_clunks.front() {
            let Some(t) = self.tags.alloc() else { break };
            self.deferred_clunks.pop_front();
            clunks.push((t, fid, generation));
        }
        Some((slot, clunks))
    }

    /// The `Tflush` of `old` was answered: a reply of the flushed request that came first left
    /// its tag reserved, free it now; otherwise the server will not answer it any more (after
    /// `Rflush`) or still will (after `Rlerror`: its slot stays until then).
    fn settle_flush(&mut self, old: u16) {
        match self.slots.get_mut(&old) {
            Some(slot) => slot.flushing = false,
            None => {
                self.tags.free(old);
            }
        }
    }

    /// The slot of `tag`, if outstanding.
    pub(crate) fn get_mut(&mut self, tag: u16) -> Option<&mut Slot<P>> {
        self.slots.get_mut(&tag)
    }

    /// A tag for a `Tflush` of the written request under `tag`, if that is safe and useful:
    /// the connection lives, the server has not refused `Tflush`, the request may be flushed
    /// ([`flushable`]) and is not being flushed already. Returns the new tag and the id of the
    /// request to flush; register the `Tflush` with `flushes` set to `(tag, id)`.
    pub(crate) fn flush_tag(&mut self, tag: u16, flush_refused: bool) -> Option<(u16, u64)> {
        if self.dead || flush_refused {
            return None;
        }
        let slot = self.slots.get(&tag)?;
        if slot.flushing || !flushable(slot) {
            return None;
        }
        let id = slot.id;
        Some((self.tags.alloc()?, id))
    }

    /// `Rflush` answered the flush of `(old, old_id)`: retires that request if it is still
    /// the one under `old` (its reply may have come first, and the tag named another since).
    pub(crate) fn flushed(&mut self, old: u16, old_id: u64) -> Option<Slot<P>> {
        if self.slots.get(&old)?.id != old_id {
            return None;
        }
        let slot = self.slots.remove(&old)?;
        self.tags.free(old);
        Some(slot)
    }

    /// Removes a request its caller withdrew before it was written.
    pub(crate) fn withdrawn(&mut self, tag: u16) -> Option<Slot<P>> {
        let slot = self.slots.remove(&tag)?;
        self.tags.free(tag);
        Some(slot)
    }

    /// The tag of the request `id`, if it is still outstanding.
    fn tag_of(&self, id: u64) -> Option<u16> {
        self.slots
            .iter()
            .find(|(_, s)| s.id == id)
            .map(|(&tag, _)| tag)
    }

    /// Counts a recovery of each late request `ids` still outstanding; returns their tags
    /// (each is to be flushed, and resent when `Rflush` hands it back).
    pub(crate) fn recover(&mut self, ids: &[u64]) -> Vec<(u16, MessageType)> {
        let mut tags = Vec::new();
        for &id in ids {
            let Some(tag) = self.tag_of(id) else { continue };
            if let Some(slot) = self.slots.get_mut(&tag) {
                slot.caller.recovered();
                tags.push((tag, slot.request));
            }
        }
        tags
    }

    /// The type of the late request `id` whose connection is about to be closed for it;
    /// `count`: count the recovery.
    pub(crate) fn mark_recovered(&mut self, id: u64, count: bool) -> Option<MessageType> {
        let tag = self.tag_of(id)?;
        let slot = self.slots.get_mut(&tag)?;
        if count {
            slot.caller.recovered();
        }
        Some(slot.request)
    }

    /// The outstanding requests past their deadline at `now` (with whether a `Tflush` may
    /// recover each), and the earliest deadline of the others.
    fn late(&self, now: Instant, flush_refused: bool) -> (Vec<Late>, Option<Instant>) {
        let mut late = Vec::new();
        let mut next: Option<Instant> = None;
        for slot in self.slots.values() {
            let Some(d) = slot.deadline else { continue };
            if d <= now {
                late.push(Late {
                    id: slot.id,
                    flushable: !flush_refused && flushable(slot),
                });
            } else {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        }
        (late, next)
    }

    /// A timer fired at `now` (or the driver woke to check): feeds stall detection the last
    /// time bytes arrived and the overdue rules the late requests. `None` once dead.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        last_rx: Option<Instant>,
        can_probe: bool,
        flush_refused: bool,
    ) -> Option<Timeout> {
        if self.dead {
            return None;
        }
        if let Some(rx) = last_rx {
            self.live.received(rx);
        }
        let verdict = self.live.handle_timeout(now, self.slots.len(), can_probe);
        let recovery = if self.request_timeout.is_some() {
            let (late, next_deadline) = self.late(now, flush_refused);
            self.overdue.handle_timeout(now, late, next_deadline)
        } else {
            Recovery::Fine
        };
        // A request registered while the driver sleeps idle cannot stall, nor be late, before
        // `idle_check` has passed.
        let idle = now + self.live.idle_check();
        let next = [self.live.poll_timeout(), self.overdue.poll_timeout()]
            .into_iter()
            .flatten()
            .fold(idle, Instant::min);
        Some(Timeout {
            verdict,
            recovery,
            next,
        })
    }

    /// The connection died: every outstanding slot comes back (to be handed to its caller as
    /// lost); waiting clunks are dropped. `None` if it was dead already.
    pub(crate) fn kill(&mut self) -> Option<Vec<Slot<P>>> {
        if self.dead {
            return None;
        }
        self.dead = true;
        self.deferred_clunks.clear();
        Some(self.slots.drain().map(|(_, s)| s).collect())
    }
}

/// Whether a `Tflush` may retire the request of `slot` (the server permitting): it was
/// written (a `Tflush` for a frame still queued would race the writer), it changes no fid,
/// and it is no `Tflush`, `Tclunk` or `Tversion`.
fn flushable<P: Caller>(slot: &Slot<P>) -> bool {
    slot.caller.written()
        && !slot.caller.changes_fids()
        && !matches!(
            slot.request,
            MessageType::Tflush | MessageType::Tclunk | MessageType::Tversion
        )
}
