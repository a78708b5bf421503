//! One connection attempt: dial through the connector, start the connection, negotiate
//! (bounded by the probe timeout, passing over HA nodes that are not the leader), and publish
//! the connection once the caller attached or replayed; why an attempt failed.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::conn::Conn;
use crate::core::{Core, Link};
use crate::error::{ConnectStage, SessionError};
use crate::negotiate::{NegotiateError, Negotiated, negotiate};
use crate::transport::Connector;

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Kills a connection that is not handed over (failed or cancelled attempt).
struct KillOnDrop(Option<Arc<Conn>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.kill("connection attempt abandoned".into());
        }
    }
}

/// Why one connection attempt failed.
#[derive(Debug)]
pub(crate) enum AttemptError {
    Dial(std::io::Error),
    Negotiate(NegotiateError),
    Attach(Option<u32>),
    Replay(String),
    /// The connect timeout of the first connection expired.
    TimedOut(Duration),
}

impl AttemptError {
    /// The error of a first connection to `target` that failed with `self`.
    pub(crate) fn into_connect(self, target: String) -> SessionError {
        let message = self.to_string();
        let (stage, errno, source) = match self {
            AttemptError::Dial(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                (ConnectStage::TimedOut, None, Some(Arc::new(e)))
            }
            AttemptError::Dial(e) => (ConnectStage::Dial, None, Some(Arc::new(e))),
            AttemptError::Negotiate(_) => (ConnectStage::Negotiate, None, None),
            AttemptError::Attach(errno) => (ConnectStage::Attach, errno, None),
            AttemptError::Replay(_) => (ConnectStage::Negotiate, None, None),
            AttemptError::TimedOut(_) => (ConnectStage::TimedOut, None, None),
        };
        SessionError::Connect {
            target,
            message,
            errno,
            stage,
            source,
        }
    }
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptError::Dial(e) => write!(f, "dial failed: {e}"),
            AttemptError::Negotiate(e) => write!(f, "{e}"),
            AttemptError::Attach(Some(e)) => write!(f, "attach refused: errno {e}"),
            AttemptError::Attach(None) => write!(f, "connection lost during attach"),
            AttemptError::Replay(e) => write!(f, "replay failed: {e}"),
            AttemptError::TimedOut(d) => write!(f, "timed out after {} ms", d.as_millis()),
        }
    }
}

/// Dials and negotiates a new connection; the caller attaches or replays, then publishes.
/// Dial and negotiation are bounded by `probe` on every target: a server that accepts and
/// never answers is closed (a single target's attempt then fails, to be retried after the
/// backoff delay). With an HA set, a server that is not the leader, or that does not answer
/// within `probe` (a black-holed node), is passed over for the next one (each server of the
/// set is tried at most once per call).
pub(crate) async fn dial(
    core: &Arc<Core>,
    connector: &dyn Connector,
    msize: u32,
    probe: Option<Duration>,
) -> Result<(ConnHandle, Negotiated), AttemptError> {
    let tries = connector.candidates().max(1);
    let mut tried = 0;
    let mut saw_not_leader = false;
    loop {
        tried += 1;
        let one = async {
            let t = connector.connect().await.map_err(AttemptError::Dial)?;
            let id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
            let conn = Conn::start(core.clone(), id, t.reader, t.writer, msize);
            let handle = ConnHandle(KillOnDrop(Some(conn.clone())));
            core.fids().conn_id = id;
            let n = negotiate(&conn, msize)
                .await
                .map_err(AttemptError::Negotiate)?;
            Ok((handle, n))
        };
        let result = match probe {
            Some(d) => match tokio::time::timeout(d, one).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::debug!(target = %connector.describe(), probe = ?d, "no answer within the probe timeout; closing the connection");
                    if tries > 1 {
                        connector.not_leader();
                    }
                    if tried >= tries {
                        return Err(if saw_not_leader {
                            AttemptError::Negotiate(NegotiateError::NotLeader)
                        } else {
                            AttemptError::Dial(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                format!("no answer within the {d:?} probe timeout"),
                            ))
                        });
                    }
                    continue;
                }
            },
            None => one.await,
        };
        match result {
            Err(AttemptError::Negotiate(NegotiateError::NotLeader)) => {
                saw_not_leader = true;
                connector.not_leader();
                if tried >= tries {
                    return Err(AttemptError::Negotiate(NegotiateError::NotLeader));
                }
            }
            other => return other,
        }
    }
}

/// A connection being set up; killed if dropped before [`ConnHandle::publish`].
pub(crate) struct ConnHandle(KillOnDrop);

impl ConnHandle {
    pub(crate) fn conn(&self) -> &Arc<Conn> {
        self.0.0.as_ref().expect("present until published")
    }

    /// Makes the connection the one callers use (fails if it died meanwhile).
    pub(crate) fn publish(mut self) -> Result<(), AttemptError> {
        let conn = self.0.0.take().expect("present until published");
        let core = conn.core().clone();
        let mut t = core.fids();
        if conn.is_dead() || t.conn_id != conn.id {
            return Err(AttemptError::Replay(
                "connection died before it was published".into(),
            ));
        }
        t.online = true;
        core.set_params(conn.dialect(), conn.msize());
        core.link.send_replace(Link::Up(conn));
        t.finalize_all();
        Ok(())
    }
}
