//! POSIX byte-range locks as ZeroFS keeps them: owned by (connection, fid), conflicts only
//! between different connections, `length = 0` meaning "to end of file".

use bytes::Bytes;
use zerofs_9p_proto::LockType;

/// A held lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// Owning connection.
    pub session: u64,
    /// Owning fid.
    pub fid: u32,
    /// Locked inode.
    pub ino: u64,
    /// `Read` or `Write`.
    pub ty: LockType,
    /// First byte.
    pub start: u64,
    /// Length; 0 = to end of file.
    pub length: u64,
    /// Process id from the request.
    pub proc_id: u32,
    /// Client id from the request.
    pub client_id: Bytes,
}

impl Lock {
    fn end(&self) -> u64 {
        range_end(self.start, self.length)
    }

    fn overlaps(&self, start: u64, length: u64) -> bool {
        self.start < range_end(start, length) && start < self.end()
    }
}

fn range_end(start: u64, length: u64) -> u64 {
    if length == 0 {
        u64::MAX
    } else {
        start.saturating_add(length)
    }
}

/// Every lock of the server.
#[derive(Debug, Clone, Default)]
pub struct LockTable {
    locks: Vec<Lock>,
}

impl LockTable {
    /// The first lock of another session that conflicts with a `ty` lock on the range (read
    /// locks share; anything else, including a test with `Unlock`, conflicts).
    pub fn conflict(
        &self,
        session: u64,
        ino: u64,
        ty: LockType,
        start: u64,
        length: u64,
    ) -> Option<&Lock> {
        self.locks.iter().find(|l| {
            l.ino == ino
                && l.session != session
                && l.overlaps(start, length)
                && !(ty == LockType::Read && l.ty == LockType::Read)
        })
    }

    /// Takes a lock: this fid's overlapping locks are replaced first (as ZeroFS), then a conflict
    /// with another session refuses it (`false`).
    pub fn try_lock(&mut self, lock: Lock) -> bool {
        self.locks.retain(|l| {
            !(l.session == lock.session
                && l.fid == lock.fid
                && l.ino == lock.ino
                && l.overlaps(lock.start, lock.length))
        });
        if self
            .conflict(lock.session, lock.ino, lock.ty, lock.start, lock.length)
            .is_some()
        {
            return false;
        }
        self.locks.push(lock);
        true
    }

    /// Releases the range for this fid, splitting locks that straddle it.
    pub fn unlock(&mut self, session: u64, fid: u32, ino: u64, start: u64, length: u64) {
        let end = range_end(start, length);
        let mut kept = Vec::with_capacity(self.locks.len());
        for l in self.locks.drain(..) {
            if l.session != session || l.fid != fid || l.ino != ino || !l.overlaps(start, length) {
                kept.push(l);
                continue;
            }
            let l_end = l.end();
            if l.start < start {
                kept.push(Lock {
                    length: start - l.start,
                    ..l.clone()
                });
            }
            if end < l_end {
                let length = if l.length == 0 { 0 } else { l_end - end };
                kept.push(Lock {
                    start: end,
                    length,
                    ..l
                });
            }
        }
        self.locks = kept;
    }

    /// Releases every lock of a fid (on clunk).
    pub fn release_fid(&mut self, session: u64, fid: u32) {
        self.locks
            .retain(|l| !(l.session == session && l.fid == fid));
    }

    /// Releases every lock of a connection.
    pub fn release_session(&mut self, session: u64) {
        self.locks.retain(|l| l.session != session);
    }

    /// Number of locks held (for tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.locks.len()
    }

    /// Whether no lock is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(session: u64, ty: LockType, start: u64, length: u64) -> Lock {
        Lock {
            session,
            fid: 1,
            ino: 7,
            ty,
            start,
            length,
            proc_id: 42,
            client_id: Bytes::from_static(b"c"),
        }
    }

    #[test]
    fn readers_share_writers_exclude_other_sessions_only() {
        let mut t = LockTable::default();
        assert!(t.try_lock(lock(1, LockType::Read, 0, 10)));
        assert!(t.try_lock(lock(2, LockType::Read, 5, 10)));
        assert!(!t.try_lock(lock(3, LockType::Write, 9, 1)));
        assert!(t.try_lock(lock(3, LockType::Write, 15, 0)));
        // The same session never conflicts with itself.
        assert!(t.conflict(3, 7, LockType::Write, 20, 5).is_none());
        assert_eq!(
            t.conflict(1, 7, LockType::Write, 20, 5).map(|l| l.session),
            Some(3)
        );
        assert_eq!(
            t.conflict(2, 7, LockType::Read, 20, 1).map(|l| l.session),
            Some(3)
        );
        assert_eq!(t.conflict(9, 8, LockType::Write, 0, 0), None);
    }

    #[test]
    fn unlock_splits_and_release_clears() {
        let mut t = LockTable::default();
        assert!(t.try_lock(lock(1, LockType::Write, 0, 0)));
        t.unlock(1, 1, 7, 10, 10);
        assert!(t.conflict(2, 7, LockType::Write, 10, 10).is_none());
        assert!(t.conflict(2, 7, LockType::Write, 5, 1).is_some());
        assert!(t.conflict(2, 7, LockType::Write, 1 << 40, 1).is_some());
        assert_eq!(t.len(), 2);
        t.release_fid(1, 1);
        assert!(t.is_empty());
        assert!(t.try_lock(lock(4, LockType::Read, 0, 1)));
        t.release_session(4);
        assert!(t.is_empty());
    }
}
