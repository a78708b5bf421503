//! Per-connection tag allocation.
//!
//! A tag is handed out only while it is not pending; it becomes free again only when its reply
//! has arrived (or the request was withdrawn before being written). `NOTAG` is never handed out
//! (it is reserved for `Tversion`). Allocation walks a wrapping cursor, so a freed tag is not
//! reused at once, which makes stray late replies easier to spot in traces.

use zerofs_9p_proto::consts::NOTAG;

/// A set of in-use tags with a wrapping cursor.
#[derive(Debug)]
pub(crate) struct Tags {
    used: Box<[u64; 1024]>,
    cursor: u16,
    in_use: usize,
}

impl Default for Tags {
    fn default() -> Self {
        Tags {
            used: Box::new([0; 1024]),
            cursor: 0,
            in_use: 0,
        }
    }
}

impl Tags {
    /// Tags that can be in use at once (every u16 but NOTAG).
    pub(crate) const CAPACITY: usize = 65535;

    fn bit(tag: u16) -> (usize, u64) {
        (usize::from(tag >> 6), 1u64 << (tag & 63))
    }

    /// Whether `tag` is pending.
    pub(crate) fn contains(&self, tag: u16) -> bool {
        let (w, b) = Self::bit(tag);
        self.used[w] & b != 0
    }

    /// Takes a free tag, or `None` if all 65535 are pending.
    pub(crate) fn alloc(&mut self) -> Option<u16> {
        if self.in_use >= Self::CAPACITY {
            return None;
        }
        loop {
            let tag = self.cursor;
            self.cursor = self.cursor.wrapping_add(1);
            if tag != NOTAG && !self.contains(tag) {
                let (w, b) = Self::bit(tag);
                self.used[w] |= b;
                self.in_use += 1;
                return Some(tag);
            }
        }
    }

    /// Marks a specific tag pending (used for `NOTAG` during negotiation). False if taken.
    pub(crate) fn take(&mut self, tag: u16) -> bool {
        if self.contains(tag) {
            return false;
        }
        let (w, b) = Self::bit(tag);
        self.used[w] |= b;
        self.in_use += 1;
        true
    }

    /// Frees a pending tag. False if it was not pending.
    pub(crate) fn free(&mut self, tag: u16) -> bool {
        if !self.contains(tag) {
            return false;
        }
        let (w, b) = Self::bit(tag);
        self.used[w] &= !b;
        self.in_use -= 1;
        true
    }

    /// Pending tags.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.in_use
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_hands_out_notag_or_a_pending_tag() {
        let mut t = Tags::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..Tags::CAPACITY {
            let tag = t.alloc().unwrap();
            assert_ne!(tag, NOTAG);
            assert!(seen.insert(tag), "tag {tag} handed out twice while pending");
        }
        assert_eq!(t.alloc(), None, "exhausted");
        assert!(t.free(77));
        assert_eq!(t.alloc(), Some(77));
        assert!(!t.free(NOTAG));
    }

    #[test]
    fn freed_tags_are_not_reused_immediately() {
        let mut t = Tags::default();
        let a = t.alloc().unwrap();
        assert!(t.free(a));
        let b = t.alloc().unwrap();
        assert_ne!(a, b);
        assert_eq!(t.in_use(), 1);
    }

    #[test]
    fn take_reserves_specific_tags() {
        let mut t = Tags::default();
        assert!(t.take(NOTAG));
        assert!(!t.take(NOTAG));
        assert!(t.free(NOTAG));
        assert!(!t.free(NOTAG));
    }
}
