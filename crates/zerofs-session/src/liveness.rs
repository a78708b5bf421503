//! Liveness and redial decisions as pure state: no clock, no I/O, no tokio.
//!
//! Each value receives the time (`now`) from its driver and says when it next needs to be
//! woken ([`poll_timeout`](Liveness::poll_timeout)), in the style of `quinn-proto`: the tokio
//! code around it (the connection's watchdog task, the supervisor) only sleeps, observes and
//! carries out the verdicts, so every rule here is tested in simulated time.

use std::time::{Duration, Instant};

use crate::options::Backoff;

/// The liveness settings of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LivenessConfig {
    /// Requests outstanding this long with no byte received: probe. `None`: never.
    pub(crate) stall: Option<Duration>,
    /// How long the probe (any byte, in fact) has to answer before the connection is dead;
    /// also how long the flush of an overdue request has to settle.
    pub(crate) window: Duration,
    /// A request unanswered this long on one connection is recovered (see `overdue.rs`).
    /// `None`: never.
    pub(crate) request: Option<Duration>,
}

/// What the driver must do after [`Liveness::handle_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing.
    Fine,
    /// Send a cheap probe request on the connection.
    Probe,
    /// Nothing arrived within the liveness window: close the connection (the supervisor
    /// reconnects and every outstanding request is resent as after any loss).
    Dead,
}

/// Stall detection for one connection.
///
/// A connection is *stalled* when requests have been outstanding for `stall` since the later
/// of "the first of them was sent on an idle connection" and "the last byte arrived". A stalled
/// connection is probed; if no byte arrives within `window` of the probe, it is dead. A
/// connection that cannot be probed yet (before negotiation) is given the same window
/// without a probe. Bytes arriving at any point clear the suspicion.
#[derive(Debug, Clone)]
pub(crate) struct Liveness {
    config: LivenessConfig,
    /// When the last byte arrived (as observed).
    last_rx: Option<Instant>,
    /// When the connection last went from no outstanding request to some.
    busy_since: Option<Instant>,
    /// When the connection was found stalled (the probe was sent then, if it could be).
    suspected_at: Option<Instant>,
}

impl Liveness {
    pub(crate) fn new(config: LivenessConfig) -> Liveness {
        Liveness {
            config,
            last_rx: None,
            busy_since: None,
            suspected_at: None,
        }
    }

    /// Whether stall detection is on at all.
    pub(crate) fn enabled(&self) -> bool {
        self.config.stall.is_some()
    }

    /// A request was sent while none was outstanding.
    pub(crate) fn busy(&mut self, now: Instant) {
        self.busy_since = Some(now);
    }

    /// Bytes arrived at `at` (the latest arrival the driver observed; older values are
    /// ignored).
    pub(crate) fn received(&mut self, at: Instant) {
        if self.last_rx.is_some_and(|t| t >= at) {
            return;
        }
        self.last_rx = Some(at);
        if self.suspected_at.is_some_and(|s| at >= s) {
            self.suspected_at = None;
        }
    }

    /// The moment the stall clock started from (`None` when idle).
    fn stall_start(&self) -> Option<Instant> {
        let busy = self.busy_since?;
        Some(self.last_rx.map_or(busy, |rx| rx.max(busy)))
    }

    /// Decides at `now`, given how many requests are outstanding and whether a probe can be
    /// sent on this connection.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        outstanding: usize,
        can_probe: bool,
    ) -> Verdict {
        let Some(stall) = self.config.stall else {
            return Verdict::Fine;
        };
        if outstanding == 0 {
            self.busy_since = None;
            self.suspected_at = None;
            return Verdict::Fine;
        }
        // Busy without a recorded start (a driver that missed the transition): from now.
        let start = match self.stall_start() {
            Some(s) => s,
            None => {
                self.busy_since = Some(now);
                now
            }
        };
        match self.suspected_at {
            Some(s) if now >= s + self.config.window => Verdict::Dead,
            Some(_) => Verdict::Fine,
            None if now >= start + stall => {
                self.suspected_at = Some(now);
                if can_probe {
                    Verdict::Probe
                } else {
                    Verdict::Fine
                }
            }
            None => Verdict::Fine,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run next; `None` when idle (a
    /// driver then checks again after at most [`idle_check`](Self::idle_check)).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let stall = self.config.stall?;
        if let Some(s) = self.suspected_at {
            return Some(s + self.config.window);
        }
        self.stall_start().map(|s| s + stall)
    }

    /// How long an idle driver may sleep: a request sent meanwhile cannot stall, nor pass its
    /// request timeout, before then.
    pub(crate) fn idle_check(&self) -> Duration {
        [self.config.stall, self.config.request]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(3600))
    }
}

/// The supervisor's redial schedule: exponential backoff with jitter between failed attempts,
/// reset by a success.
#[derive(Debug, Clone)]
pub(crate) struct Redial {
    backoff: Backoff,
    attempt: u32,
    next_at: Option<Instant>,
}

impl Redial {
    pub(crate) fn new(backoff: Backoff) -> Redial {
        Redial {
            backoff,
            attempt: 0,
            next_at: None,
        }
    }

    /// Attempts made since the last success.
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The attempt failed at `now`; `unit` is a uniform random value in `[0, 1)` for the
    /// jitter. Returns when the next attempt may start.
    pub(crate) fn failed(&mut self, now: Instant, unit: f64) -> Instant {
        let at = now + self.backoff.delay(self.attempt, unit);
        self.attempt = self.attempt.saturating_add(1);
        self.next_at = Some(at);
        at
    }

    /// The attempt succeeded: the next loss starts from the first delay again.
    pub(crate) fn succeeded(&mut self) {
        self.attempt = 0;
        self.next_at = None;
    }

    /// When the next attempt may start (`None`: at once).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.next_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn live(stall_ms: u64, window_ms: u64) -> Liveness {
        Liveness::new(LivenessConfig {
            stall: Some(ms(stall_ms)),
            window: ms(window_ms),
            request: None,
        })
    }

    /// Runs the driver loop in simulated time until `until`: wakes at every poll_timeout (or
    /// after `idle_check` when idle), returns the verdicts with the time they were given.
    fn drive(
        l: &mut Liveness,
        t0: Instant,
        until: Duration,
        outstanding: usize,
        can_probe: bool,
    ) -> Vec<(Duration, Verdict)> {
        let mut out = Vec::new();
        let mut now = t0;
        for _ in 0..10_000 {
            if now > t0 + until {
                break;
            }
            let v = l.handle_timeout(now, outstanding, can_probe);
            if v != Verdict::Fine {
                out.push((now - t0, v));
            }
            if v == Verdict::Dead {
                break;
            }
            now = l.poll_timeout().unwrap_or(now + l.idle_check()).max(now);
        }
        out
    }

    #[test]
    fn an_idle_connection_is_never_probed() {
        let t0 = Instant::now();
        let mut l = live(8000, 3000);
        // Hours of simulated time without a request: no verdict, no deadline.
        assert!(drive(&mut l, t0, Duration::from_secs(36_000), 0, true).is_empty());
        assert_eq!(l.poll_timeout(), None);
    }

    #[test]
    fn a_silent_busy_connection_is_probed_then_declared_dead() {
        let t0 = Instant::now();
        let mut l = live(8000, 3000);
        l.busy(t0);
        assert_eq!(l.poll_timeout(), Some(t0 + ms(8000)));
        let got = drive(&mut l, t0, Duration::from_secs(60), 1, true);
        assert_eq!(
            got,
            vec![(ms(8000), Verdict::Probe), (ms(11_000), Verdict::Dead)]
        );
    }

    #[test]
    fn bytes_keep_a_slow_connection_alive_and_restart_the_stall_clock() {
        let t0 = Instant::now();
        let mut l = live(8000, 3000);
        l.busy(t0);
        // A byte every 5 s: never 8 s of silence.
        for k in 1..100u32 {
            let now = t0 + Duration::from_secs(5) * k;
            l.received(now);
            assert_eq!(l.handle_timeout(now, 1, true), Verdict::Fine);
            assert_eq!(l.poll_timeout(), Some(now + ms(8000)));
        }
        // An older observation does not move the clock back.
        let last = t0 + Duration::from_secs(5) * 99;
        l.received(t0);
        assert_eq!(l.poll_timeout(), Some(last + ms(8000)));
    }

    #[test]
    fn an_answered_probe_clears_the_suspicion() {
        let t0 = Instant::now();
        let mut l = live(100, 50);
        l.busy(t0);
        assert_eq!(l.handle_timeout(t0 + ms(100), 1, true), Verdict::Probe);
        assert_eq!(l.poll_timeout(), Some(t0 + ms(150)));
        // A byte that arrived before the probe proves nothing about it.
        l.received(t0 + ms(99));
        assert_eq!(l.poll_timeout(), Some(t0 + ms(150)));
        l.received(t0 + ms(120));
        assert_eq!(l.handle_timeout(t0 + ms(150), 1, true), Verdict::Fine);
        // The long request is still outstanding: probed again a stall after the answer.
        assert_eq!(l.poll_timeout(), Some(t0 + ms(220)));
        assert_eq!(l.handle_timeout(t0 + ms(220), 1, true), Verdict::Probe);
        assert_eq!(l.handle_timeout(t0 + ms(270), 1, true), Verdict::Dead);
    }

    #[test]
    fn going_idle_forgets_the_stall() {
        let t0 = Instant::now();
        let mut l = live(100, 50);
        l.busy(t0);
        assert_eq!(l.handle_timeout(t0 + ms(100), 1, true), Verdict::Probe);
        // Everything answered (the reply bytes were not observed yet): idle, nothing pending.
        assert_eq!(l.handle_timeout(t0 + ms(120), 0, true), Verdict::Fine);
        assert_eq!(l.poll_timeout(), None);
        // Busy again much later: a fresh stall clock.
        let t1 = t0 + Duration::from_secs(3600);
        l.busy(t1);
        assert_eq!(l.handle_timeout(t1 + ms(99), 1, true), Verdict::Fine);
        assert_eq!(l.handle_timeout(t1 + ms(100), 1, true), Verdict::Probe);
    }

    #[test]
    fn a_connection_that_cannot_be_probed_dies_after_the_same_bound() {
        let t0 = Instant::now();
        let mut l = live(300, 200);
        l.busy(t0);
        let got = drive(&mut l, t0, Duration::from_secs(10), 1, false);
        assert_eq!(got, vec![(ms(500), Verdict::Dead)]);
    }

    #[test]
    fn a_missed_busy_transition_starts_the_clock_when_noticed() {
        let t0 = Instant::now();
        let mut l = live(100, 50);
        assert_eq!(l.handle_timeout(t0, 3, true), Verdict::Fine);
        assert_eq!(l.poll_timeout(), Some(t0 + ms(100)));
    }

    #[test]
    fn disabled_detection_never_acts() {
        let t0 = Instant::now();
        let mut l = Liveness::new(LivenessConfig {
            stall: None,
            window: ms(3000),
            request: None,
        });
        assert!(!l.enabled());
        l.busy(t0);
        assert!(drive(&mut l, t0, Duration::from_secs(36_000), 5, true).is_empty());
        assert_eq!(l.poll_timeout(), None);
    }

    #[test]
    fn redial_backs_off_within_bounds_and_resets() {
        let b = Backoff {
            base: ms(50),
            cap: ms(2000),
            jitter: 0.5,
        };
        let mut r = Redial::new(b);
        let t0 = Instant::now();
        assert_eq!(r.poll_timeout(), None);
        let mut now = t0;
        for k in 0..40u32 {
            let unit = f64::from(k % 7) / 7.0;
            let at = r.failed(now, unit);
            let delay = at - now;
            let full = (ms(50) * 2u32.saturating_pow(k.min(20))).min(ms(2000));
            assert!(delay <= full && delay >= full / 2, "attempt {k}: {delay:?}");
            assert_eq!(r.poll_timeout(), Some(at));
            now = at;
        }
        assert_eq!(r.attempt(), 40);
        // Hours of failures never exceed the cap.
        let at = r.failed(now + Duration::from_secs(7200), 0.0);
        assert_eq!(at - (now + Duration::from_secs(7200)), ms(2000));
        r.succeeded();
        assert_eq!(r.attempt(), 0);
        assert_eq!(r.poll_timeout(), None);
        assert_eq!(r.failed(now, 0.0) - now, ms(50));
    }
}
