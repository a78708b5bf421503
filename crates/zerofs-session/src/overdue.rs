//! Overdue requests as pure state: no clock, no I/O, no tokio.
//!
//! A server may answer everything on a connection (liveness probes included) except one
//! request: stall detection ([`Liveness`](crate::liveness::Liveness)) then sees a live
//! connection and the call would wait forever. Every request therefore gets a deadline
//! ([`deadline`]) when it is sent: the request timeout, doubled for each earlier recovery of
//! the same request (so an operation that is merely slow gets the time it needs after a few
//! rounds instead of being flushed forever). A request still unanswered at its deadline is
//! *late*, and [`Overdue`] decides its recovery:
//!
//! - flushable (written, changes no fid, the server has not refused `Tflush`): flush it; when
//!   `Rflush` arrives the driver hands the request back as lost and it is resent on the same
//!   connection (an ambiguous mutation is verified as after any loss). If the flush is not
//!   settled within the liveness window, the connection is dead.
//! - otherwise: the connection is dead at once (reconnect, replay, resend: a new connection
//!   also frees whatever the server kept for the request).
//!
//! Time is counted from the send, not only while the connection proved alive: a connection
//! silent for the stall timeout plus the liveness window is closed by stall detection, so a
//! request that reaches its deadline on a surviving connection saw the server alive all along
//! (within that bound), and with stall detection off the deadline bounds the wait by itself.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The request timeout stops doubling after this many recoveries of the same request (64×).
const MAX_DOUBLINGS: u32 = 6;

/// When a request sent at `sent`, recovered `recoveries` times before, is late: `sent` plus
/// `timeout · 2^recoveries` (at most 64×). `None` when there is no timeout.
pub(crate) fn deadline(
    timeout: Option<Duration>,
    sent: Instant,
    recoveries: u32,
) -> Option<Instant> {
    let t = timeout?.saturating_mul(1 << recoveries.min(MAX_DOUBLINGS));
    Some(
        sent.checked_add(t)
            .unwrap_or(sent + Duration::from_secs(1 << 40)),
    )
}

/// A request past its deadline, as the driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Late {
    /// The request's identity on its connection (never reused there).
    pub(crate) id: u64,
    /// Whether a `Tflush` may recover it.
    pub(crate) flushable: bool,
}

/// What the driver must do after [`Overdue::handle_timeout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// Nothing.
    Fine,
    /// Flush these requests; each is resent once its `Rflush` arrives.
    Flush(Vec<u64>),
    /// Close the connection (every outstanding request is resent on the next): request `id`
    /// is late and cannot be flushed (`flushed: false`), or its flush was not settled within
    /// the liveness window (`flushed: true`).
    Dead { id: u64, flushed: bool },
}

/// The recovery of one connection's late requests.
#[derive(Debug, Clone)]
pub(crate) struct Overdue {
    /// How long a flush has to settle before the connection is dead.
    window: Duration,
    /// Late requests being flushed, and when their flush was decided.
    flushing: BTreeMap<u64, Instant>,
    /// The earliest deadline of a request not late yet (as last reported).
    next_deadline: Option<Instant>,
}

impl Overdue {
    pub(crate) fn new(window: Duration) -> Overdue {
        Overdue {
            window,
            flushing: BTreeMap::new(),
            next_deadline: None,
        }
    }

    /// Decides at `now`, given every outstanding request past its deadline (`late`) and the
    /// earliest deadline of the others (`next_deadline`).
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        mut late: Vec<Late>,
        next_deadline: Option<Instant>,
    ) -> Recovery {
        self.next_deadline = next_deadline;
        late.sort_unstable_by_key(|l| l.id);
        let still_late = |id: &u64| late.binary_search_by_key(id, |l| l.id).is_ok();
        // Answered, or retired by their `Rflush` (and resent under a new id): settled.
        self.flushing.retain(|id, _| still_late(id));
        if let Some((&id, _)) = self
            .flushing
            .iter()
            .find(|&(_, &at)| now >= at + self.window)
        {
            return Recovery::Dead { id, flushed: true };
        }
        let mut flush = Vec::new();
        for l in &late {
            if self.flushing.contains_key(&l.id) {
                continue;
            }
            if !l.flushable {
                return Recovery::Dead {
                    id: l.id,
                    flushed: false,
                };
            }
            flush.push(l.id);
        }
        if flush.is_empty() {
            return Recovery::Fine;
        }
        for &id in &flush {
            self.flushing.insert(id, now);
        }
        Recovery::Flush(flush)
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run next: the earliest deadline of
    /// a request, or the end of a flush's window. `None`: no request is outstanding (as last
    /// reported).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let flush = self.flushing.values().min().map(|&at| at + self.window);
        match (flush, self.next_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn late(id: u64, flushable: bool) -> Late {
        Late { id, flushable }
    }

    /// A simulated connection: requests `(id, sent, recoveries, answered_at)`, the driver's
    /// scan at `now` (late ones, earliest other deadline).
    struct Sim {
        timeout: Duration,
        requests: Vec<(u64, Instant, u32, Option<Instant>, bool)>,
    }

    impl Sim {
        fn scan(&self, now: Instant) -> (Vec<Late>, Option<Instant>) {
            let mut lates = Vec::new();
            let mut next: Option<Instant> = None;
            for &(id, sent, rec, answered, flushable) in &self.requests {
                if answered.is_some_and(|a| a <= now) {
                    continue;
                }
                let d = deadline(Some(self.timeout), sent, rec).unwrap();
                if d <= now {
                    lates.push(late(id, flushable));
                } else {
                    next = Some(next.map_or(d, |n: Instant| n.min(d)));
                }
            }
            (lates, next)
        }
    }

    #[test]
    fn deadlines_double_with_each_recovery_up_to_a_cap() {
        let t0 = Instant::now();
        assert_eq!(deadline(None, t0, 0), None);
        assert_eq!(deadline(Some(s(120)), t0, 0), Some(t0 + s(120)));
        assert_eq!(deadline(Some(s(120)), t0, 1), Some(t0 + s(240)));
        assert_eq!(deadline(Some(s(120)), t0, 3), Some(t0 + s(960)));
        assert_eq!(deadline(Some(s(1)), t0, 6), Some(t0 + s(64)));
        assert_eq!(deadline(Some(s(1)), t0, u32::MAX), Some(t0 + s(64)));
        // Absurd timeouts saturate instead of panicking.
        assert!(deadline(Some(Duration::MAX), t0, 9).unwrap() > t0 + s(1 << 30));
    }

    #[test]
    fn requests_answered_in_time_are_never_recovered() {
        let t0 = Instant::now();
        let mut o = Overdue::new(s(3));
        // A request every 10 s, each answered after 100 s (slow but within 120 s), over ten
        // simulated hours: the driver wakes whenever asked, nothing is ever recovered.
        let sim = Sim {
            timeout: s(120),
            requests: (0..3600)
                .map(|k| (k, t0 + s(10 * k), 0, Some(t0 + s(10 * k + 100)), true))
                .collect(),
        };
        let mut now = t0;
        let mut wakes = 0;
        while now < t0 + s(36_000) && wakes < 100_000 {
            let (lates, next) = sim.scan(now);
            assert_eq!(o.handle_timeout(now, lates, next), Recovery::Fine);
            now = o.poll_timeout().unwrap_or(now + s(1)).max(now + s(1));
            wakes += 1;
        }
        assert!(wakes >= 36_000 / 120, "woke {wakes} times");
    }

    #[test]
    fn a_skipped_request_is_flushed_at_its_deadline_and_settles_when_resent() {
        let t0 = Instant::now();
        let mut o = Overdue::new(s(3));
        // Request 7 is never answered; others come and go.
        let (l, n) = (vec![], Some(t0 + s(120)));
        assert_eq!(o.handle_timeout(t0 + s(10), l, n), Recovery::Fine);
        assert_eq!(o.poll_timeout(), Some(t0 + s(120)));
        let at = t0 + s(120);
        assert_eq!(
            o.handle_timeout(at, vec![late(7, true)], Some(t0 + s(150))),
            Recovery::Flush(vec![7])
        );
        // The flush's window comes first.
        assert_eq!(o.poll_timeout(), Some(at + s(3)));
        // Still in flight a moment later: not flushed twice.
        assert_eq!(
            o.handle_timeout(at + s(1), vec![late(7, true)], Some(t0 + s(150))),
            Recovery::Fine
        );
        // `Rflush` retired it and it was resent (a new id with a later deadline): settled.
        assert_eq!(
            o.handle_timeout(at + s(2), vec![], Some(t0 + s(150))),
            Recovery::Fine
        );
        assert_eq!(o.poll_timeout(), Some(t0 + s(150)));
    }

    #[test]
    fn an_unsettled_flush_kills_the_connection_after_the_window() {
        let t0 = Instant::now();
        let mut o = Overdue::new(s(3));
        assert_eq!(
            o.handle_timeout(t0, vec![late(1, true), late(2, true)], None),
            Recovery::Flush(vec![1, 2])
        );
        // 2 settles, 1 does not (its flush was refused or not answered).
        assert_eq!(
            o.handle_timeout(t0 + s(2), vec![late(1, true)], None),
            Recovery::Fine
        );
        assert_eq!(o.poll_timeout(), Some(t0 + s(3)));
        assert_eq!(
            o.handle_timeout(t0 + s(3), vec![late(1, true)], None),
            Recovery::Dead {
                id: 1,
                flushed: true
            }
        );
    }

    #[test]
    fn a_late_request_that_cannot_be_flushed_kills_the_connection_at_once() {
        let t0 = Instant::now();
        let mut o = Overdue::new(s(3));
        assert_eq!(
            o.handle_timeout(t0, vec![late(4, true), late(5, false)], None),
            Recovery::Dead {
                id: 5,
                flushed: false
            }
        );
    }

    #[test]
    fn idle_means_no_deadline() {
        let t0 = Instant::now();
        let mut o = Overdue::new(s(3));
        assert_eq!(o.poll_timeout(), None);
        assert_eq!(o.handle_timeout(t0, vec![], None), Recovery::Fine);
        assert_eq!(o.poll_timeout(), None);
    }

    /// The whole life of a request the server keeps skipping, in simulated time: flushed at
    /// each deadline, resent, and given twice the time after each recovery, until a server
    /// that answers it after 5 minutes gets to (the timeout is 2 minutes).
    #[test]
    fn a_slow_request_is_given_more_time_after_each_recovery() {
        let t0 = Instant::now();
        let timeout = s(120);
        let mut o = Overdue::new(s(3));
        let mut id = 0;
        let mut sent = t0;
        let mut recoveries = 0;
        let mut now = t0;
        let mut flushes = Vec::new();
        for _ in 0..1000 {
            // The server needs 5 minutes for it; a flush is answered 1 s after it was sent.
            if now >= sent + s(300) {
                break;
            }
            let d = deadline(Some(timeout), sent, recoveries).unwrap();
            let lates = if now >= d {
                vec![late(id, true)]
            } else {
                vec![]
            };
            let next = (now < d).then_some(d);
            match o.handle_timeout(now, lates, next) {
                Recovery::Fine => {}
                Recovery::Flush(ids) => {
                    assert_eq!(ids, vec![id]);
                    flushes.push(now - t0);
                    // Rflush after 1 s: resent under a new id.
                    now += s(1);
                    id += 1;
                    sent = now;
                    recoveries += 1;
                    continue;
                }
                other => panic!("unexpected {other:?}"),
            }
            now = o
                .poll_timeout()
                .map_or(now + s(1), |t| t.max(now))
                .min(sent + s(300));
        }
        assert_eq!(
            flushes,
            vec![s(120), s(361)],
            "recovered at 2, then 4 minutes"
        );
        assert_eq!(recoveries, 2);
        assert!(
            now >= sent + s(300),
            "the third attempt was given its 5 minutes"
        );
    }
}
