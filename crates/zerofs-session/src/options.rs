//! Session options and their defaults.

use std::time::Duration;

use zerofs_9p_proto::consts::{MAX_MSIZE, MIN_MSIZE};

/// The default retry horizon of `.Z` mutations (PROTOCOL.md §3.5.1).
pub const RETRY_HORIZON: Duration = Duration::from_secs(120);

/// The default per-target probe timeout of an HA set.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The default stall timeout: requests outstanding this long with no byte received get the
/// connection probed (like the 8 s request timeout of ZeroFS's own client).
pub const STALL_TIMEOUT: Duration = Duration::from_secs(8);

/// The default liveness window: how long a probe has to be answered (any byte counts).
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(3);

/// The default request timeout: a request unanswered this long on one connection is flushed
/// and resent (or its connection replaced). Far above any legitimate operation's latency on a
/// healthy server (a loaded server's fsync or large write takes seconds), and equal to the
/// `.Z` retry horizon, a bound the session already gives an unanswered mutation.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How long servers keep an op-id's outcome; a resend later than this could apply twice.
const SERVER_RETENTION: Duration = Duration::from_secs(150);

/// How long to wait between reconnect attempts: `base · 2^n`, capped at `cap`, each delay
/// multiplied by a random factor in `[1 − jitter, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// First delay (default 50 ms).
    pub base: Duration,
    /// Largest delay (default 2 s).
    pub cap: Duration,
    /// Fraction of each delay that is randomised, in `[0, 1]` (default 0.5).
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(2),
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (0-based), given a uniform random `unit` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX));
        let capped = exp.min(self.cap);
        // NaN and out-of-range inputs are caller data: never let them reach a panicking
        // conversion (`mul_f64` panics on NaN and on overflow, e.g. with `cap: Duration::MAX`).
        let finite = |x: f64| {
            if x.is_finite() {
                x.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let factor = 1.0 - finite(self.jitter) * finite(unit);
        Duration::try_from_secs_f64(capped.as_secs_f64() * factor).map_or(capped, |d| d.min(capped))
    }
}

/// Everything that shapes a session. `Options::default()` gives the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Uid sent as `n_uname` in `Tattach` (the server enforces permissions as this uid).
    /// Default: the effective uid of this process ([`Identity::current`](crate::Identity)).
    pub uid: u32,
    /// Gid for creates; the session records it for the layer above (not sent in `Tattach`).
    /// Default: the effective gid of this process.
    pub gid: u32,
    /// Attach user name (informational for ZeroFS). Default: `$USER`, else the uid in decimal.
    pub uname: String,
    /// Export selector (`aname`); ZeroFS roots the session at that subtree, diod needs the
    /// exported path. Default: empty (the whole file system).
    pub aname: String,
    /// msize proposed in `Tversion` (default 1 MiB + 4 KiB, so that a 1 MiB read or write
    /// travels in one message; clamped to `[4096, 10 MiB]`).
    pub msize: u32,
    /// Bound on dial + version + attach of the first connection, and on each reconnect
    /// attempt (dial + negotiation + replay). Default 30 s; `None` = unbounded.
    pub connect_timeout: Option<Duration>,
    /// Bound on dialling and negotiating (`Tversion`, and `Tgetlineage` at `.Z`) with one
    /// target, on every dial: a server that accepts the connection but never answers is
    /// closed and, in an HA set, passed over for the next target; a single target is dialled
    /// again after the backoff delay (the first connection keeps trying until
    /// `connect_timeout`). Default 3 s; `None` = only the connect timeout bounds it.
    pub probe_timeout: Option<Duration>,
    /// Delays between reconnect attempts.
    pub backoff: Backoff,
    /// Most caller requests in flight at once (default 1024, at most 32768); more wait.
    pub max_in_flight: usize,
    /// Pipelining depth of bulk reads and writes: chunks in flight per call (default 8).
    pub bulk_window: usize,
    /// Most request + expected reply bytes buffered for callers at once (default 64 MiB);
    /// more wait. A single request larger than this still runs, alone.
    pub max_buffered_bytes: usize,
    /// `.Z` only: how long a de-duplicated mutation whose outcome is unknown (its connection
    /// died after it was written, or the server answered `ESHUTDOWN`) keeps being resent with
    /// RETRY before it fails with [`SessionError::OutcomeUnknown`](crate::SessionError), and how
    /// long requests are re-routed while no server of the set is the leader. Default 120 s
    /// (servers keep op-ids for 150 s); clamped to at most 150 s.
    pub retry_horizon: Duration,
    /// How long the `Tclunk` of a dropped fid waits, on an otherwise idle connection, for the
    /// next request to be written with it (one write and one server wake-up instead of two).
    /// Default 1 ms; zero sends it at once; clamped to at most 1 s.
    pub clunk_linger: Duration,
    /// Liveness: when requests have been outstanding this long with no byte received, the
    /// connection is probed with a `Tgetattr` on the attach fid; if nothing arrives within
    /// [`liveness_timeout`](Self::liveness_timeout) it is declared dead, closed, and the
    /// session reconnects and resends as after any loss (calls block meanwhile; they never
    /// wait on a dead connection). Default 8 s; `None` turns detection off (a vanished peer
    /// is then found by TCP alone). Clamped to at least 10 ms.
    pub stall_timeout: Option<Duration>,
    /// How long a liveness probe has to be answered (see
    /// [`stall_timeout`](Self::stall_timeout)). Default 3 s; clamped to at least 10 ms.
    pub liveness_timeout: Duration,
    /// A request unanswered this long on a connection that is otherwise alive (it answers
    /// other requests and probes: a server that skipped it) is recovered: flushed with
    /// `Tflush` and resent on the same connection once `Rflush` arrives; where the server
    /// refuses `Tflush`, the flush is not settled within
    /// [`liveness_timeout`](Self::liveness_timeout), or the request cannot be flushed (it
    /// creates or changes a fid), the connection is closed and the request resent on the next
    /// one, as after any loss. The call keeps blocking meanwhile. Each recovery of the same
    /// request doubles its timeout (up to 64×), so a merely slow operation still completes.
    /// Default 120 s; `None` turns it off. Clamped to at least 10 ms.
    pub request_timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        let me = crate::identity::Identity::current();
        Options {
            uid: me.uid,
            gid: me.gid,
            uname: me.uname,
            aname: String::new(),
            msize: (1 << 20) + 4096,
            connect_timeout: Some(Duration::from_secs(30)),
            probe_timeout: Some(PROBE_TIMEOUT),
            backoff: Backoff::default(),
            max_in_flight: 1024,
            bulk_window: 8,
            max_buffered_bytes: 64 << 20,
            retry_horizon: RETRY_HORIZON,
            clunk_linger: Duration::from_millis(1),
            stall_timeout: Some(STALL_TIMEOUT),
            liveness_timeout: LIVENESS_TIMEOUT,
            request_timeout: Some(REQUEST_TIMEOUT),
        }
    }
}

impl Options {
    /// The options with every field forced into its valid range.
    pub(crate) fn normalized(mut self) -> Options {
        self.msize = self.msize.clamp(MIN_MSIZE, MAX_MSIZE);
        self.max_in_flight = self.max_in_flight.clamp(1, 32768);
        self.bulk_window = self.bulk_window.clamp(1, 256);
        self.max_buffered_bytes = self.max_buffered_bytes.clamp(1 << 16, 1 << 40);
        self.retry_horizon = self.retry_horizon.min(SERVER_RETENTION);
        self.clunk_linger = self.clunk_linger.min(Duration::from_secs(1));
        let floor = Duration::from_millis(10);
        self.stall_timeout = self.stall_timeout.map(|d| d.max(floor));
        self.liveness_timeout = self.liveness_timeout.max(floor);
        self.request_timeout = self.request_timeout.map(|d| d.max(floor));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let o = Options::default();
        assert_eq!(o.msize, (1 << 20) + 4096);
        assert_eq!(o.connect_timeout, Some(Duration::from_secs(30)));
        assert_eq!(o.probe_timeout, Some(Duration::from_secs(3)));
        assert_eq!(o.bulk_window, 8);
        assert_eq!(o.aname, "");
        assert_eq!(o.retry_horizon, Duration::from_secs(120));
        assert_eq!(o.stall_timeout, Some(Duration::from_secs(8)));
        assert_eq!(o.liveness_timeout, Duration::from_secs(3));
        assert_eq!(o.request_timeout, Some(Duration::from_secs(120)));
        let tiny = Options {
            stall_timeout: Some(Duration::ZERO),
            liveness_timeout: Duration::ZERO,
            request_timeout: Some(Duration::ZERO),
            ..Options::default()
        }
        .normalized();
        assert_eq!(tiny.stall_timeout, Some(Duration::from_millis(10)));
        assert_eq!(tiny.liveness_timeout, Duration::from_millis(10));
        assert_eq!(tiny.request_timeout, Some(Duration::from_millis(10)));
        let long = Options {
            retry_horizon: Duration::from_secs(999),
            ..Options::default()
        };
        assert_eq!(long.normalized().retry_horizon, Duration::from_secs(150));
        assert!(!o.uname.is_empty());
    }

    #[test]
    fn normalization_clamps() {
        let o = Options {
            msize: 10,
            max_in_flight: 0,
            bulk_window: 0,
            ..Options::default()
        };
        let n = o.normalized();
        assert_eq!((n.msize, n.max_in_flight, n.bulk_window), (MIN_MSIZE, 1, 1));
        let big = Options {
            msize: u32::MAX,
            max_in_flight: 1 << 20,
            ..Options::default()
        };
        assert_eq!(big.normalized().msize, MAX_MSIZE);
    }

    #[test]
    fn backoff_doubles_caps_and_jitters_down() {
        let b = Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            jitter: 0.5,
        };
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(10));
        assert_eq!(b.delay(2, 0.0), Duration::from_millis(40));
        assert_eq!(b.delay(10, 0.0), Duration::from_millis(100));
        assert_eq!(b.delay(u32::MAX, 0.0), Duration::from_millis(100));
        assert_eq!(b.delay(10, 1.0), Duration::from_millis(50));
        let huge = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::MAX,
            jitter: f64::NAN,
        };
        assert!(huge.delay(200, f64::NAN) >= Duration::from_secs(1 << 31));
        let max = Backoff {
            base: Duration::MAX,
            cap: Duration::MAX,
            jitter: 0.0,
        };
        assert_eq!(max.delay(0, 0.0), Duration::MAX);
        let nan_unit = Backoff {
            jitter: 0.5,
            ..huge
        };
        assert!(nan_unit.delay(3, f64::INFINITY) == Duration::from_secs(8));
        let mid = b.delay(10, 0.5);
        assert!(mid > Duration::from_millis(50) && mid < Duration::from_millis(100));
    }
}
