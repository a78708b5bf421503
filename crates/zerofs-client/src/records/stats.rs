//! [`ClientStats`].

/// Every counter the session keeps (see [`Client::stats`](crate::Client::stats)): a snapshot of
/// atomics, cheap to take. Totals count every connection since the client connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ClientStats {
    /// Requests answered (background clunks and reconnect replays included).
    pub requests: u64,
    /// Requests written or queued and not yet answered, right now.
    pub in_flight: u64,
    /// Bytes written to the server.
    pub bytes_sent: u64,
    /// Bytes read from the server.
    pub bytes_received: u64,
    /// `Rread` payload bytes received straight into callers' buffers (no copy).
    pub bytes_received_in_place: u64,
    /// Socket write calls (requests per write shows how well writes are batched).
    pub writes: u64,
    /// Successful reconnects (each followed by a replay).
    pub reconnects: u64,
    /// Fids restored by replays.
    pub fids_replayed: u64,
    /// Fids that a replay could not restore (their calls fail with `Stale`).
    pub fids_stale: u64,
    /// Connections torn down because the server broke the protocol.
    pub protocol_violations: u64,
    /// Requests sent again after the connection they had been written to was lost.
    pub resends: u64,
}

impl From<zerofs_session::Stats> for ClientStats {
    fn from(s: zerofs_session::Stats) -> ClientStats {
        ClientStats {
            requests: s.requests,
            in_flight: s.in_flight,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            bytes_received_in_place: s.bytes_received_in_place,
            writes: s.writes,
            reconnects: s.reconnects,
            fids_replayed: s.fids_replayed,
            fids_stale: s.fids_stale,
            protocol_violations: s.protocol_violations,
            resends: s.resends,
        }
    }
}
