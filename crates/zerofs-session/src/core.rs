//! State shared by the session, its fids, its connections and their tasks.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, watch};
use zerofs_9p_proto::Dialect;

use crate::conn::Conn;
use crate::fids::FidTable;
use crate::stats::Counters;

/// Whether a connection is published to callers.
#[derive(Debug, Clone)]
pub(crate) enum Link {
    /// Callers may send on this connection.
    Up(Arc<Conn>),
    /// Disconnected or replaying: callers wait.
    Down,
}

/// Why a connection ended.
#[derive(Debug, Clone)]
pub(crate) enum Death {
    /// The connection with this id died for this reason.
    Lost { conn_id: u64, cause: String },
    /// The session is gone: the supervisor exits.
    Shutdown,
}

/// The shared core. Connections hold it; the session tears the `Link` down on drop, which
/// breaks the `Core → Link → Conn → Core` cycle.
#[derive(Debug)]
pub(crate) struct Core {
    fids: Mutex<FidTable>,
    pub(crate) link: watch::Sender<Link>,
    pub(crate) counters: Counters,
    pub(crate) death: mpsc::UnboundedSender<Death>,
    /// Set once the session is dropped: the supervisor abandons any attempt in progress.
    pub(crate) shutdown: watch::Sender<bool>,
    params: Mutex<(Dialect, u32)>,
}

impl Core {
    pub(crate) fn new() -> (Arc<Core>, mpsc::UnboundedReceiver<Death>) {
        let (death, rx) = mpsc::unbounded_channel();
        let core = Core {
            fids: Mutex::new(FidTable::default()),
            link: watch::Sender::new(Link::Down),
            counters: Counters::default(),
            death,
            shutdown: watch::Sender::new(false),
            params: Mutex::new((Dialect::Plain, 0)),
        };
        (Arc::new(core), rx)
    }

    /// Locks the fid table (a poisoned lock is recovered: the table stays consistent because
    /// no code path panics while holding it).
    pub(crate) fn fids(&self) -> MutexGuard<'_, FidTable> {
        self.fids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Dialect and msize of the last published connection.
    pub(crate) fn params(&self) -> (Dialect, u32) {
        *self.params.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_params(&self, dialect: Dialect, msize: u32) {
        *self.params.lock().unwrap_or_else(|e| e.into_inner()) = (dialect, msize);
    }

    /// The published live connection, if any.
    pub(crate) fn current_conn(&self) -> Option<Arc<Conn>> {
        match &*self.link.borrow() {
            Link::Up(c) if !c.is_dead() => Some(c.clone()),
            _ => None,
        }
    }

    /// Waits until a live connection is published.
    pub(crate) async fn wait_up(&self) -> Arc<Conn> {
        if let Some(c) = self.current_conn() {
            return c;
        }
        let mut rx = self.link.subscribe();
        loop {
            if let Ok(r) = rx
                .wait_for(|l| matches!(l, Link::Up(c) if !c.is_dead()))
                .await
            {
                if let Link::Up(c) = &*r {
                    return c.clone();
                }
            } else {
                // The sender lives in `self`; it cannot be dropped while we borrow it.
                std::future::pending::<()>().await;
            }
        }
    }
}
