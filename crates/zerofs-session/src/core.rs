//! State shared by the session, its fids, its connections and their tasks.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, watch};
use zerofs_9p_proto::{Dialect, OpId};

use crate::conn::Conn;
use crate::fids::{ClunkOrder, FidTable};
use crate::liveness::LivenessConfig;
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
    /// Source of fresh `.Z` op-ids.
    pub(crate) op_ids: OpIds,
    /// How long a background clunk on an idle connection waits for a request to ride with.
    pub(crate) clunk_linger: std::time::Duration,
    /// Stall detection settings of every connection.
    pub(crate) liveness: LivenessConfig,
    /// The attach fid liveness probes name (`NOFID` until the first attach succeeded).
    pub(crate) probe_fid: AtomicU32,
    /// A server answered `Tflush` with an error (0.19.1: EOPNOTSUPP): never send it again.
    pub(crate) flush_refused: std::sync::atomic::AtomicBool,
}

/// The locked fid table. Dropping it releases the lock, then sends the clunks the table
/// ordered meanwhile: the table decides, this guard does the I/O, so no message is ever
/// queued while the table is locked.
pub(crate) struct Fids<'a> {
    core: &'a Core,
    table: Option<MutexGuard<'a, FidTable>>,
}

impl std::ops::Deref for Fids<'_> {
    type Target = FidTable;

    fn deref(&self) -> &FidTable {
        self.table.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Fids<'_> {
    fn deref_mut(&mut self) -> &mut FidTable {
        self.table.as_mut().expect("present until dropped")
    }
}

impl Drop for Fids<'_> {
    fn drop(&mut self) {
        let Some(mut table) = self.table.take() else {
            return;
        };
        let orders = table.take_clunks();
        drop(table);
        if !orders.is_empty() {
            self.core.send_clunks(orders);
        }
    }
}

/// Fresh 16-byte `.Z` op-ids: a per-session 128-bit random key (from the OS-seeded keys of
/// std's `RandomState`, the clock and a process-wide counter) mixed with a per-session counter
/// through the SplitMix64 finaliser. The finaliser is a bijection, so the high half never
/// repeats within a session; across sessions and clients ids differ by their random keys.
/// No cryptographic strength is needed: ids only have to be unique for the server's 150 s
/// retention.
#[derive(Debug)]
pub(crate) struct OpIds {
    keys: [u64; 2],
    counter: AtomicU64,
}

/// The SplitMix64 output function (a bijection on u64).
pub(crate) const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl OpIds {
    pub(crate) fn new() -> OpIds {
        use std::hash::{BuildHasher, Hasher};
        static SESSIONS: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(SESSIONS.fetch_add(1, Ordering::Relaxed));
        h.write_usize(&nanos as *const u128 as usize);
        h.write_u32(std::process::id());
        let a = h.finish();
        h.write_u64(a);
        let b = h.finish();
        OpIds {
            keys: [a, b],
            counter: AtomicU64::new(0),
        }
    }

    /// A fresh op-id (never all-zero).
    pub(crate) fn next(&self) -> OpId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let hi = mix64(self.keys[0] ^ n);
        let lo = mix64(self.keys[1].wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&hi.to_le_bytes());
        id[8..].copy_from_slice(&lo.to_le_bytes());
        if id == [0; 16] {
            id[0] = 1;
        }
        OpId(id)
    }
}

impl Core {
    pub(crate) fn new(
        clunk_linger: std::time::Duration,
        liveness: LivenessConfig,
    ) -> (Arc<Core>, mpsc::UnboundedReceiver<Death>) {
        let (death, rx) = mpsc::unbounded_channel();
        let core = Core {
            fids: Mutex::new(FidTable::default()),
            link: watch::Sender::new(Link::Down),
            counters: Counters::default(),
            death,
            shutdown: watch::Sender::new(false),
            params: Mutex::new((Dialect::Plain, 0)),
            op_ids: OpIds::new(),
            clunk_linger,
            liveness,
            probe_fid: AtomicU32::new(zerofs_9p_proto::consts::NOFID),
            flush_refused: std::sync::atomic::AtomicBool::new(false),
        };
        (Arc::new(core), rx)
    }

    /// Locks the fid table (a poisoned lock is recovered: the table stays consistent because
    /// no code path panics while holding it). The clunks the table orders meanwhile are sent
    /// when the guard drops, after the lock is released.
    pub(crate) fn fids(&self) -> Fids<'_> {
        Fids {
            core: self,
            table: Some(self.lock_fids()),
        }
    }

    fn lock_fids(&self) -> MutexGuard<'_, FidTable> {
        self.fids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands ordered clunks to the connection they were ordered for. An order whose
    /// connection is no longer the published live one goes back to the table.
    fn send_clunks(&self, orders: Vec<ClunkOrder>) {
        let conn = self.current_conn();
        let mut unsent = Vec::new();
        for order in orders {
            let sent = conn.as_ref().is_some_and(|c| {
                c.id == order.conn_id && c.send_clunk(order.fid, order.generation)
            });
            if !sent {
                unsent.push(order);
            }
        }
        if !unsent.is_empty() {
            let mut t = self.lock_fids();
            for order in unsent {
                t.clunk_not_sent(order);
            }
        }
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn op_ids_are_unique_nonzero_and_differ_between_sessions() {
        let a = OpIds::new();
        let b = OpIds::new();
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            let id = a.next();
            assert!(!id.is_none());
            assert!(seen.insert(id), "repeated op-id {id:?}");
            assert!(
                seen.insert(b.next()),
                "two sessions produced the same op-id"
            );
        }
        // The keys are random: two generators do not start alike.
        assert_ne!(OpIds::new().next(), OpIds::new().next());
    }

    #[test]
    fn op_id_bits_look_uniform() {
        let ids = OpIds::new();
        let mut ones = 0u32;
        for _ in 0..1000 {
            ones += ids.next().0.iter().map(|b| b.count_ones()).sum::<u32>();
        }
        let mean = f64::from(ones) / 1000.0;
        assert!((60.0..68.0).contains(&mean), "mean set bits {mean}");
    }
}
