//! The `.Z` mutation ledger: the recorded outcome of every de-duplicated operation, by op-id.
//!
//! It is server state (it survives connection drops), retained for a configurable time (ZeroFS:
//! 150 s) and bounded in size.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use zerofs_9p_proto::{Message, OpId};

/// What a create-and-open recorded, so a replay can open the new fid on the same inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bind {
    /// The created inode.
    pub ino: u64,
    /// The open flags.
    pub flags: u32,
}

/// One recorded outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// The reply (a success or an `Rlerror`).
    pub reply: Message,
    /// For `Tlcreate`/`Tlcreateattr`: the fid binding a replay re-establishes.
    pub bind: Option<Bind>,
}

#[derive(Debug)]
pub(crate) struct Ledger {
    records: HashMap<OpId, Record>,
    order: VecDeque<(Instant, OpId)>,
    retention: Duration,
    capacity: usize,
}

impl Ledger {
    pub(crate) fn new(retention: Duration, capacity: usize) -> Ledger {
        Ledger {
            records: HashMap::new(),
            order: VecDeque::new(),
            retention,
            capacity: capacity.max(1),
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, op)) = self.order.front() {
            if now.duration_since(at) <= self.retention && self.order.len() <= self.capacity {
                break;
            }
            self.order.pop_front();
            self.records.remove(&op);
        }
    }

    /// The outcome recorded for `op`, if still retained.
    pub(crate) fn get(&mut self, now: Instant, op: &OpId) -> Option<&Record> {
        self.expire(now);
        self.records.get(op)
    }

    /// Records the outcome of `op`.
    pub(crate) fn record(&mut self, now: Instant, op: OpId, record: Record) {
        if self.records.insert(op, record).is_none() {
            self.order.push_back((now, op));
        }
        self.expire(now);
    }

    /// Number of retained records.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use zerofs_9p_proto::Message;

    use super::*;

    fn rec(e: u32) -> Record {
        Record {
            reply: Message::error(e),
            bind: None,
        }
    }

    #[test]
    fn records_expire_by_age_and_by_count() {
        let t0 = Instant::now();
        let mut l = Ledger::new(Duration::from_secs(150), 2);
        l.record(t0, OpId([1; 16]), rec(1));
        l.record(t0, OpId([2; 16]), rec(2));
        assert_eq!(l.get(t0, &OpId([1; 16])), Some(&rec(1)));
        l.record(t0, OpId([3; 16]), rec(3));
        assert_eq!(l.len(), 2);
        assert_eq!(l.get(t0, &OpId([1; 16])), None, "the oldest went first");
        let later = t0 + Duration::from_secs(151);
        assert_eq!(l.get(later, &OpId([3; 16])), None);
        assert_eq!(l.len(), 0);
    }
}
