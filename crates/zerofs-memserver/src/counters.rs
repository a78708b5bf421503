//! Counters of frames received per message type and of connections accepted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use zerofs_9p_proto::MessageType;

/// Live counters (shared by every connection).
#[derive(Debug)]
pub(crate) struct LiveCounters {
    by_type: [AtomicU64; 256],
    connections: AtomicU64,
}

impl Default for LiveCounters {
    fn default() -> Self {
        LiveCounters {
            by_type: std::array::from_fn(|_| AtomicU64::new(0)),
            connections: AtomicU64::new(0),
        }
    }
}

impl LiveCounters {
    pub(crate) fn frame(&self, type_byte: u8) {
        self.by_type[usize::from(type_byte)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let mut frames = BTreeMap::new();
        let mut unknown = 0;
        for (id, c) in self.by_type.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            match MessageType::from_u8(id as u8) {
                Some(ty) => {
                    frames.insert(ty, n);
                }
                None => unknown += n,
            }
        }
        Counters {
            frames,
            unknown_frames: unknown,
            connections: self.connections.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn reset(&self) {
        for c in &self.by_type {
            c.store(0, Ordering::Relaxed);
        }
        self.connections.store(0, Ordering::Relaxed);
    }
}

/// A snapshot of the server's counters (see
/// [`ServerHandle::counters`](crate::ServerHandle::counters)).
///
/// Every inbound frame with a valid size is counted under its type byte when it arrives,
/// whether or not it decodes.
///
/// ```
/// # async fn demo(server: zerofs_memserver::ServerHandle) {
/// use zerofs_9p_proto::MessageType;
/// let before = server.counters();
/// // ... let the client under test do one operation ...
/// let after = server.counters();
/// let walks = after.frames(MessageType::Twalk) - before.frames(MessageType::Twalk);
/// # let _ = walks;
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    frames: BTreeMap<MessageType, u64>,
    unknown_frames: u64,
    connections: u64,
}

impl Counters {
    /// Frames received of type `ty`.
    pub fn frames(&self, ty: MessageType) -> u64 {
        self.frames.get(&ty).copied().unwrap_or(0)
    }

    /// Frames received whose type byte names no message.
    pub fn unknown_frames(&self) -> u64 {
        self.unknown_frames
    }

    /// Every frame received.
    pub fn total_frames(&self) -> u64 {
        self.frames.values().sum::<u64>() + self.unknown_frames
    }

    /// Frames received per message type (types never seen are absent).
    pub fn by_type(&self) -> &BTreeMap<MessageType, u64> {
        &self.frames
    }

    /// Connections accepted.
    pub fn connections_accepted(&self) -> u64 {
        self.connections
    }
}
