//! The watchdog task: drives the connection's [`Liveness`](crate::liveness::Liveness) state
//! with the clock. It sleeps until the state's deadline, feeds it the reader's last receive
//! time and the number of outstanding requests, and carries out its verdict: send a probe, or
//! kill the connection (every outstanding request then goes back to its caller as lost and is
//! resent on the next connection).

use super::{Conn, clock};
use crate::liveness::Verdict;
use std::sync::Arc;

pub(super) async fn watchdog(conn: Arc<Conn>) {
    loop {
        let now = clock();
        let can_probe = conn.can_probe();
        let (verdict, next) = {
            let mut inner = conn.inner();
            if inner.dead {
                return;
            }
            if let Some(rx) = conn.last_rx() {
                inner.live.received(rx);
            }
            let outstanding = inner.slots.len();
            let verdict = inner.live.handle_timeout(now, outstanding, can_probe);
            let next = inner
                .live
                .poll_timeout()
                .unwrap_or(now + inner.live.idle_check());
            (verdict, next)
        };
        match verdict {
            Verdict::Fine => {}
            Verdict::Probe => {
                tracing::debug!(conn = conn.id, "requests stalled; probing the connection");
                conn.send_probe();
            }
            Verdict::Dead => {
                let c = conn.core.liveness;
                let why = format!(
                    "no byte received for {:?} with requests outstanding, nor within {:?} of a probe",
                    c.stall.unwrap_or_default(),
                    c.window
                );
                tracing::warn!(conn = conn.id, %why, "connection declared dead");
                conn.kill(why);
                return;
            }
        }
        tokio::time::sleep_until(next.max(now).into()).await;
    }
}
