//! The watchdog task: drives the connection's [`Liveness`](crate::liveness::Liveness) and
//! [`Overdue`](crate::overdue::Overdue) states with the clock. It sleeps until the earlier of
//! their deadlines, feeds them the reader's last receive time, the number of outstanding
//! requests and the requests past their deadline, and carries out their verdicts: send a
//! probe, flush a late request (resent when `Rflush` hands it back), or kill the connection
//! (every outstanding request then goes back to its caller as lost and is resent on the next
//! connection).

use super::state::Timeout;
use super::{Conn, clock};
use crate::liveness::Verdict;
use crate::overdue::Recovery;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub(super) async fn watchdog(conn: Arc<Conn>) {
    loop {
        let now = clock();
        let can_probe = conn.can_probe();
        let flush_refused = conn.core.flush_refused.load(Ordering::Relaxed);
        let last_rx = conn.last_rx();
        let Some(Timeout {
            verdict,
            recovery,
            next,
        }) = conn
            .inner()
            .handle_timeout(now, last_rx, can_probe, flush_refused)
        else {
            return;
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
        match recovery {
            Recovery::Fine => {}
            Recovery::Flush(ids) => conn.recover(&ids),
            Recovery::Dead { id, flushed } => {
                // A flushed request was counted when its flush was sent.
                let request = conn.mark_recovered(id, !flushed);
                let c = conn.core.liveness;
                let why = if flushed {
                    format!(
                        "a request ({request:?}) unanswered past the request timeout, and its Tflush not settled within {:?}",
                        c.window
                    )
                } else {
                    format!(
                        "a request ({request:?}) unanswered past the request timeout that Tflush cannot recover"
                    )
                };
                tracing::warn!(conn = conn.id, %why, "closing the connection to resend on a new one");
                conn.kill(why);
                return;
            }
        }
        tokio::time::sleep_until(next.max(now).into()).await;
    }
}
