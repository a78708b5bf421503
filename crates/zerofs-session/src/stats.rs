//! Counters exposed by [`Session::stats`](crate::Session::stats).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a session's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes written to sockets (all connections).
    pub bytes_sent: u64,
    /// Bytes read from sockets (all connections).
    pub bytes_received: u64,
    /// Requests answered (replies routed, background clunks and replay included).
    pub requests: u64,
    /// Successful reconnects (replays completed).
    pub reconnects: u64,
    /// Requests written or queued and not yet answered, right now.
    pub in_flight: u64,
    /// Fids restored by replays, in total.
    pub fids_replayed: u64,
    /// Fids that replay could not restore, in total.
    pub fids_stale: u64,
    /// Connections torn down because of a protocol violation.
    pub protocol_violations: u64,
    /// `Rread` payload bytes the reader received straight into callers' buffers (no copy).
    pub bytes_received_in_place: u64,
    /// Write calls on sockets (frames per write shows how well writes are batched).
    pub writes: u64,
    /// Requests sent again after the connection they had been written to was lost.
    pub resends: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) fids_replayed: AtomicU64,
    pub(crate) fids_stale: AtomicU64,
    pub(crate) protocol_violations: AtomicU64,
    pub(crate) bytes_received_in_place: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) resends: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            bytes_sent: self.bytes_sent.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
            requests: self.requests.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            fids_replayed: self.fids_replayed.load(Relaxed),
            fids_stale: self.fids_stale.load(Relaxed),
            protocol_violations: self.protocol_violations.load(Relaxed),
            bytes_received_in_place: self.bytes_received_in_place.load(Relaxed),
            writes: self.writes.load(Relaxed),
            resends: self.resends.load(Relaxed),
        }
    }
}
