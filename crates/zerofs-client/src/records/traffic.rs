//! [`TrafficStats`].

/// Bytes and operations a client has exchanged with its server, over every connection
/// (see [`Client::traffic_stats`](crate::Client::traffic_stats)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrafficStats {
    /// Bytes written to the server.
    pub bytes_sent: u64,
    /// Bytes read from the server.
    pub bytes_received: u64,
    /// Requests answered (background clunks and reconnect replays included).
    pub operations: u64,
}

impl From<zerofs_session::Stats> for TrafficStats {
    fn from(s: zerofs_session::Stats) -> TrafficStats {
        TrafficStats {
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            operations: s.requests,
        }
    }
}
