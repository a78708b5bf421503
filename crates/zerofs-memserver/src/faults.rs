//! Fault injection: lost, refused, withheld and delayed replies, a runtime msize cap, and the
//! request log.

use core::fmt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zerofs_9p_proto::{Frame, MessageType};

type Predicate = Arc<dyn Fn(&Frame) -> bool + Send + Sync>;

/// A rule for [`ServerHandle::lose_reply_after`](crate::ServerHandle::lose_reply_after): the
/// server applies a matching request, then closes its connection instead of replying (the
/// "reply lost" case of a real network failure).
///
/// Rules are matched in the order requests arrive; each match uses up one of the rule's count.
///
/// ```
/// use zerofs_9p_proto::{Frame, Message, MessageType};
/// use zerofs_memserver::ReplyLoss;
///
/// let next_mkdir = ReplyLoss::next(MessageType::Tmkdir);
/// let two_writes = ReplyLoss::next_n(MessageType::Twrite, 2);
/// let big_writes = ReplyLoss::matching(1, |f: &Frame| {
///     matches!(&f.message, Message::Twrite(w) if w.data.len() > 4096)
/// });
/// # let _ = (next_mkdir, two_writes, big_writes);
/// ```
#[derive(Clone)]
pub struct ReplyLoss {
    predicate: Predicate,
    remaining: u32,
}

impl fmt::Debug for ReplyLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyLoss")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl ReplyLoss {
    /// The next request of type `ty`.
    pub fn next(ty: MessageType) -> ReplyLoss {
        ReplyLoss::next_n(ty, 1)
    }

    /// The next `count` requests of type `ty`.
    pub fn next_n(ty: MessageType, count: u32) -> ReplyLoss {
        ReplyLoss::matching(count, move |f: &Frame| f.message.msg_type() == ty)
    }

    /// The next `count` requests for which `predicate` holds (it sees the decoded request,
    /// envelope included).
    pub fn matching(
        count: u32,
        predicate: impl Fn(&Frame) -> bool + Send + Sync + 'static,
    ) -> ReplyLoss {
        ReplyLoss {
            predicate: Arc::new(predicate),
            remaining: count,
        }
    }
}

/// A request the server received, as [`ServerHandle::recorded`](crate::ServerHandle::recorded)
/// returns it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Recorded {
    /// The connection it came on (numbered from 1 in accept order, for the server's lifetime).
    pub connection: u64,
    /// The decoded request, envelope included.
    pub frame: Frame,
}

/// Fault state shared by every connection. Each kind has an `armed` flag, kept under its lock,
/// so requests skip the lock while no fault of that kind is set (the usual case).
#[derive(Debug, Default)]
pub(crate) struct Faults {
    losses: Rules,
    /// Rules whose matching request is applied and then answered `ESHUTDOWN`.
    shutdowns: Rules,
    /// Rules whose matching request is answered with the rule's errno, not applied.
    refusals: Rules,
    /// Requests are read and dropped: neither applied nor answered.
    silent: AtomicBool,
    /// The msize cap for later `Tversion`s (0: the configured one).
    max_msize: AtomicU32,
    delays: Mutex<Delays>,
    delays_armed: AtomicBool,
    log: Mutex<Vec<Recorded>>,
    recording: AtomicBool,
}

#[derive(Debug, Default)]
struct Rules {
    /// Each rule with its errno (unused by losses and shutdowns).
    list: Mutex<Vec<(ReplyLoss, u32)>>,
    /// Whether `list` is not empty.
    armed: AtomicBool,
}

impl Rules {
    fn add(&self, rule: ReplyLoss, errno: u32) {
        if rule.remaining > 0 {
            let mut list = lock(&self.list);
            list.push((rule, errno));
            self.armed.store(true, Ordering::Release);
        }
    }

    fn clear(&self) {
        let mut list = lock(&self.list);
        list.clear();
        self.armed.store(false, Ordering::Release);
    }

    /// Uses up one match of the first rule that `frame` matches; that rule's errno.
    fn take(&self, frame: &Frame) -> Option<u32> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut rules = lock(&self.list);
        let i = rules.iter().position(|(r, _)| (r.predicate)(frame))?;
        let errno = rules[i].1;
        rules[i].0.remaining -= 1;
        if rules[i].0.remaining == 0 {
            rules.remove(i);
            self.armed.store(!rules.is_empty(), Ordering::Release);
        }
        Some(errno)
    }
}

#[derive(Debug, Default)]
struct Delays {
    all: Option<Duration>,
    by_type: HashMap<MessageType, Duration>,
}

impl Faults {
    pub(crate) fn add_loss(&self, rule: ReplyLoss) {
        self.losses.add(rule, 0);
    }

    pub(crate) fn clear_losses(&self) {
        self.losses.clear();
    }

    /// Whether the reply to `frame` is to be lost (using up one match).
    pub(crate) fn take_loss(&self, frame: &Frame) -> bool {
        self.losses.take(frame).is_some()
    }

    pub(crate) fn add_shutdown(&self, rule: ReplyLoss) {
        self.shutdowns.add(rule, 0);
    }

    /// Whether the reply to `frame` is to be replaced by `ESHUTDOWN` (using up one match).
    pub(crate) fn take_shutdown(&self, frame: &Frame) -> bool {
        self.shutdowns.take(frame).is_some()
    }

    pub(crate) fn add_refusal(&self, rule: ReplyLoss, errno: u32) {
        self.refusals.add(rule, errno);
    }

    pub(crate) fn clear_refusals(&self) {
        self.refusals.clear();
    }

    /// The errno `frame` is to be refused with instead of being applied (using up one match).
    pub(crate) fn take_refusal(&self, frame: &Frame) -> Option<u32> {
        self.refusals.take(frame)
    }

    pub(crate) fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::Release);
    }

    /// Whether requests are to be dropped unanswered.
    pub(crate) fn silent(&self) -> bool {
        self.silent.load(Ordering::Acquire)
    }

    pub(crate) fn set_max_msize(&self, max: Option<u32>) {
        self.max_msize.store(max.unwrap_or(0), Ordering::Release);
    }

    /// The msize cap set at run time, if any.
    pub(crate) fn max_msize(&self) -> Option<u32> {
        match self.max_msize.load(Ordering::Acquire) {
            0 => None,
            m => Some(m),
        }
    }

    pub(crate) fn set_recording(&self, on: bool) {
        let _log = lock(&self.log);
        self.recording.store(on, Ordering::Release);
    }

    /// Logs `frame` if recording.
    pub(crate) fn record(&self, connection: u64, frame: &Frame) {
        if self.recording.load(Ordering::Acquire) {
            lock(&self.log).push(Recorded {
                connection,
                frame: frame.clone(),
            });
        }
    }

    pub(crate) fn recorded(&self) -> Vec<Recorded> {
        lock(&self.log).clone()
    }

    pub(crate) fn clear_recorded(&self) {
        lock(&self.log).clear();
    }

    pub(crate) fn set_delay(&self, ty: Option<MessageType>, delay: Option<Duration>) {
        let mut d = lock(&self.delays);
        match (ty, delay) {
            (None, delay) => d.all = delay,
            (Some(ty), Some(delay)) => {
                d.by_type.insert(ty, delay);
            }
            (Some(ty), None) => {
                d.by_type.remove(&ty);
            }
        }
        let armed = d.all.is_some() || !d.by_type.is_empty();
        self.delays_armed.store(armed, Ordering::Release);
    }

    pub(crate) fn delay_for(&self, ty: Option<MessageType>) -> Option<Duration> {
        if !self.delays_armed.load(Ordering::Acquire) {
            return None;
        }
        let d = lock(&self.delays);
        ty.and_then(|t| d.by_type.get(&t).copied()).or(d.all)
    }
}

/// Locks a mutex, recovering from poisoning (a panicking test thread must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
