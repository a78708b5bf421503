//! High-availability pairs: two nodes serving one filesystem, ledger and lineage, exactly one
//! of them the serving leader; and the `ESHUTDOWN` fault.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::config::Config;
use crate::faults::{ReplyLoss, lock};
use crate::server::{MemServer, ServerHandle};

impl MemServer {
    /// Starts an HA pair on `leader` and `follower` (two listener configurations; their
    /// generation should be [`Generation::Z`](crate::Generation::Z)): both serve the same
    /// filesystem, `.Z` ledger and lineage; the leader answers, the follower answers every
    /// request but `Tversion` with `ENOTCONN` before dispatch, as a ZeroFS standby does. The
    /// writer epoch starts at 1 and [`ServerHandle::fail_over_to`] bumps it.
    pub async fn start_pair(
        leader: Config,
        follower: Config,
    ) -> io::Result<(ServerHandle, ServerHandle)> {
        let a = MemServer::start(leader).await?;
        let state = a.inner.shared.state.clone();
        lock(&state).writer_epoch = 1;
        let b = MemServer::start_node(follower, state, false).await?;
        Ok((a, b))
    }
}

impl ServerHandle {
    /// Whether this node is the serving leader (always true outside an HA pair).
    pub fn is_leader(&self) -> bool {
        self.inner.shared.leader.load(Ordering::Acquire)
    }

    /// The writer epoch `Rgetlineage` reports (0 standalone).
    pub fn writer_epoch(&self) -> u64 {
        lock(&self.inner.shared.state).writer_epoch
    }

    /// Fails over from this node to `to` (the other node of its pair): this node stops
    /// serving (later requests get `ENOTCONN`) and closes every connection, so requests in
    /// flight on it are cut (each either applied and recorded in the shared ledger, or not
    /// at all); `to` becomes the leader with the writer epoch + 1. Returns the new epoch, or
    /// `None` (nothing changed) if the two handles do not share a filesystem.
    pub fn fail_over_to(&self, to: &ServerHandle) -> Option<u64> {
        if !Arc::ptr_eq(&self.inner.shared.state, &to.inner.shared.state)
            || Arc::ptr_eq(&self.inner, &to.inner)
        {
            return None;
        }
        let epoch = {
            let mut st = lock(&self.inner.shared.state);
            self.inner.shared.leader.store(false, Ordering::Release);
            st.writer_epoch += 1;
            to.inner.shared.leader.store(true, Ordering::Release);
            st.writer_epoch
        };
        self.drop_connections();
        Some(epoch)
    }

    /// Demotes this node without closing its connections: every later request on them is
    /// answered `ENOTCONN` (use [`promote`](Self::promote) on the other node).
    pub fn demote(&self) {
        self.inner.shared.leader.store(false, Ordering::Release);
    }

    /// Makes this node serve requests, bumping the shared writer epoch; returns it.
    pub fn promote(&self) -> u64 {
        let mut st = lock(&self.inner.shared.state);
        self.inner.shared.leader.store(true, Ordering::Release);
        st.writer_epoch += 1;
        st.writer_epoch
    }

    /// Adds an `ESHUTDOWN` rule: a matching request is applied (and recorded in the ledger),
    /// then answered `Rlerror(ESHUTDOWN)` as a leader losing its lease mid-request does
    /// (the outcome is ambiguous to the client, which resends with RETRY).
    pub fn shutdown_reply_after(&self, rule: ReplyLoss) {
        self.inner.shared.faults.add_shutdown(rule);
    }
}
