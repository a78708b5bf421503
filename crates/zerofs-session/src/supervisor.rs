//! The supervisor: after a connection loss, redial forever with exponential backoff and
//! jitter, renegotiate, replay, and publish the new connection.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tracing::Instrument;

use crate::conn::clock;
use crate::core::{Core, Death};
use crate::dial::{AttemptError, dial};
use crate::liveness::Redial;
use crate::negotiate::Lineage;
use crate::options::Options;
use crate::replay::replay;
use crate::stats::Counters;
use crate::transport::Connector;

/// A small splitmix64 generator for backoff jitter (no cryptographic use).
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn seeded() -> Jitter {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let addr = &t as *const u64 as u64;
        Jitter(t ^ addr.rotate_left(32))
    }

    /// A uniform value in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the supervisor needs of its session.
pub(crate) struct Supervised {
    pub(crate) core: Arc<Core>,
    pub(crate) connector: Arc<dyn Connector>,
    pub(crate) opts: Options,
    /// Where a new connection's lineage goes; only the session holds it strongly, so a
    /// failed upgrade means the session is gone.
    pub(crate) lineage: Weak<Mutex<Option<Lineage>>>,
}

/// Runs until the session is dropped. Holds no strong reference to the session (only to its
/// core), so dropping the last `Session` ends it even in the middle of an attempt against a
/// server that never answers: the attempt is abandoned and its connection killed.
pub(crate) async fn supervise(s: Supervised, mut deaths: mpsc::UnboundedReceiver<Death>) {
    let Supervised {
        core,
        connector,
        opts,
        lineage,
    } = s;
    let mut shutdown = core.shutdown.subscribe();
    let mut jitter = Jitter::seeded();
    let mut redial = Redial::new(opts.backoff);
    loop {
        let death = tokio::select! {
            d = deaths.recv() => d,
            _ = shutdown.wait_for(|down| *down) => return,
        };
        let Some(Death::Lost { cause, conn_id }) = death else {
            return;
        };
        // A stale notice (a failed attempt's connection, or an old one): nothing to do.
        if core.current_conn().is_some() {
            continue;
        }
        redial.succeeded();
        loop {
            let attempt = redial.attempt();
            let span = tracing::info_span!(
                "9p.reconnect",
                attempt,
                lost_conn = conn_id,
                cause = %cause,
                duration_ms = tracing::field::Empty,
                replayed = tracing::field::Empty,
                stale = tracing::field::Empty,
            );
            let started = Instant::now();
            let run = attempt_once(&core, &*connector, &opts, &lineage).instrument(span.clone());
            let result = tokio::select! {
                r = run => r,
                _ = shutdown.wait_for(|down| *down) => return,
            };
            span.record("duration_ms", started.elapsed().as_millis() as u64);
            match result {
                Ok((replayed, stale)) => {
                    span.record("replayed", replayed as u64);
                    span.record("stale", stale as u64);
                    Counters::add(&core.counters.reconnects, 1);
                    span.in_scope(|| {
                        tracing::info!(duration = ?started.elapsed(), replayed, stale, "reconnected");
                    });
                    break;
                }
                Err(e) => span.in_scope(|| tracing::warn!(error = %e, "reconnect attempt failed")),
            }
            redial.failed(clock(), jitter.unit());
            let next = redial.poll_timeout().unwrap_or_else(clock);
            tokio::select! {
                () = tokio::time::sleep_until(next.into()) => {}
                _ = shutdown.wait_for(|down| *down) => return,
            }
        }
    }
}

async fn attempt_once(
    core: &Arc<Core>,
    connector: &dyn Connector,
    opts: &Options,
    lineage: &Weak<Mutex<Option<Lineage>>>,
) -> Result<(usize, usize), AttemptError> {
    let run = async {
        // msize may only shrink: never propose more than the session already uses.
        let msize = match core.params().1 {
            0 => opts.msize,
            m => m.min(opts.msize),
        };
        let (handle, negotiated) = dial(core, connector, msize, opts.probe_timeout).await?;
        let counts = replay(handle.conn(), core)
            .await
            .map_err(AttemptError::Replay)?;
        let Some(slot) = lineage.upgrade() else {
            return Err(AttemptError::Replay("session dropped".into()));
        };
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = negotiated.lineage;
        drop(slot);
        handle.publish()?;
        Ok(counts)
    };
    match opts.connect_timeout {
        Some(d) => tokio::time::timeout(d, run)
            .await
            .unwrap_or_else(|_| Err(AttemptError::Replay(format!("timed out after {d:?}")))),
        None => run.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_uniform_in_unit_interval() {
        let mut j = Jitter(42);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let u = j.unit();
            assert!((0.0..1.0).contains(&u));
            sum += u;
        }
        let mean = sum / 10_000.0;
        assert!((0.45..0.55).contains(&mean), "mean {mean}");
    }
}
