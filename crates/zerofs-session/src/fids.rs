//! The fid table: numbers, what each fid refers to (so replay can restore it), and release.
//!
//! Numbers start at 1, are reused LIFO, and are recycled only when the server can no longer
//! know them: after the `Rclunk` (or `Rlerror`) of their clunk, or at once if the server never
//! created them. Every record counts the requests in flight that name it (`refs`); a released
//! fid is clunked only once that count is zero, so a clunk never overtakes an earlier request
//! on the same fid and a number is never reused while a late reply could still refer to it.
//!
//! The table is pure state: it sends nothing. A fid that must be clunked moves to
//! [`FidState::Clunking`] and leaves a [`ClunkOrder`] in the table's outbox; whoever holds the
//! table drains it ([`FidTable::take_clunks`]) and sends the clunks once the lock is released
//! (`core.rs` does this when its guard drops).

use bytes::Bytes;
use zerofs_9p_proto::{LockType, Qid};

use crate::hash::IntMap;

/// A byte-range lock held through a fid, re-taken on replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeldLock {
    pub(crate) ty: LockType,
    pub(crate) start: u64,
    pub(crate) length: u64,
    pub(crate) proc_id: u32,
    pub(crate) client_id: Bytes,
}

/// What a fid refers to, in terms replay can re-establish.
#[derive(Debug, Clone)]
pub(crate) enum Binding {
    /// An attach fid.
    Attach {
        uname: Bytes,
        aname: Bytes,
        n_uname: u32,
    },
    /// Reached by walking `path` from the attach fid `root` (pinned while this record lives).
    Walked { root: u32, path: Vec<Bytes> },
    /// Something replay cannot restore (an xattr fid, an attach fid walked in place).
    Unrestorable,
}

/// What the server knows of a fid on the connection the table follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FidState {
    /// The server does not know it: not created yet, or created on a connection that died and
    /// not restored by replay (yet).
    Unbound,
    /// The server knows it on the current connection.
    Live,
    /// Released and known to the server: its `Tclunk` is ordered or in flight.
    Clunking,
    /// Replay could not restore it; requests naming it fail with `Stale`.
    Stale,
}

/// A `Tclunk` the table wants sent on connection `conn_id` (the fid is `Clunking` meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClunkOrder {
    pub(crate) fid: u32,
    pub(crate) generation: u64,
    pub(crate) conn_id: u64,
}

/// One fid's record.
#[derive(Debug)]
pub(crate) struct Record {
    /// Distinguishes successive users of one number.
    pub(crate) generation: u64,
    /// What the fid refers to once the server created it.
    pub(crate) binding: Option<Binding>,
    /// Its qid (inode id in `qid.path`), from the creating reply.
    pub(crate) qid: Option<Qid>,
    /// Open flags (already without TRUNC/CREAT/EXCL) if opened.
    pub(crate) opened: Option<u32>,
    /// iounit from the open reply (0 = derive from msize).
    pub(crate) iounit: u32,
    /// Locks held through it.
    pub(crate) locks: Vec<HeldLock>,
    /// What the server knows of it.
    pub(crate) state: FidState,
    /// Requests in flight naming it, plus descendants pinning it as their attach root.
    pub(crate) refs: u32,
    /// Its guard was dropped: clunk (if live) and recycle once `refs` is zero.
    pub(crate) released: bool,
    /// The attach fid this record pins (unpinned when recycled).
    pub(crate) pin: Option<u32>,
}

impl Record {
    fn new(generation: u64) -> Record {
        Record {
            generation,
            binding: None,
            qid: None,
            opened: None,
            iounit: 0,
            locks: Vec::new(),
            state: FidState::Unbound,
            refs: 0,
            released: false,
            pin: None,
        }
    }

    /// Whether the server knows it on the current connection (a clunk in flight included).
    pub(crate) fn is_live(&self) -> bool {
        matches!(self.state, FidState::Live | FidState::Clunking)
    }

    /// Whether replay failed for it.
    pub(crate) fn is_stale(&self) -> bool {
        self.state == FidState::Stale
    }
}

/// All fids of a session.
#[derive(Debug)]
pub(crate) struct FidTable {
    records: IntMap<u32, Record>,
    free: Vec<u32>,
    next: u32,
    next_generation: u64,
    /// Whether the connection `conn_id` is published (callers may use it).
    pub(crate) online: bool,
    /// The connection the `live` flags refer to (the published one, or the one replaying).
    pub(crate) conn_id: u64,
    /// Renames in flight, for replay to prove (see `renames.rs`).
    pub(crate) renames: crate::renames::PendingRenames,
    /// Clunks decided and not yet handed to a connection.
    clunks: Vec<ClunkOrder>,
}

impl Default for FidTable {
    fn default() -> Self {
        FidTable {
            records: IntMap::default(),
            free: Vec::new(),
            next: 1,
            next_generation: 1,
            online: false,
            conn_id: 0,
            renames: Default::default(),
            clunks: Vec::new(),
        }
    }
}

impl FidTable {
    /// Allocates a number: the most recently recycled first, else the next never used.
    pub(crate) fn alloc(&mut self) -> (u32, u64) {
        let fid = self.free.pop().unwrap_or_else(|| {
            let f = self.next;
            self.next = self.next.wrapping_add(1).max(1);
            f
        });
        let generation = self.next_generation;
        self.next_generation += 1;
        self.records.insert(fid, Record::new(generation));
        (fid, generation)
    }

    /// Fids allocated and not yet recycled.
    pub(crate) fn outstanding(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn get(&self, fid: u32) -> Option<&Record> {
        self.records.get(&fid)
    }

    pub(crate) fn get_mut(&mut self, fid: u32) -> Option<&mut Record> {
        self.records.get_mut(&fid)
    }

    /// The record if it still belongs to `generation`.
    pub(crate) fn get_gen(&mut self, fid: u32, generation: u64) -> Option<&mut Record> {
        self.records
            .get_mut(&fid)
            .filter(|r| r.generation == generation)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&u32, &mut Record)> {
        self.records.iter_mut()
    }

    /// Every record.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u32, &Record)> {
        self.records.iter()
    }

    /// Binds `fid` as reached by walking `names` from `src` (whose record must exist).
    pub(crate) fn bind_walked(&mut self, fid: u32, src: u32, names: &[Bytes]) {
        let (binding, pin) = match self.records.get(&src).and_then(|r| r.binding.clone()) {
            Some(Binding::Attach { .. }) if src != fid => (
                Binding::Walked {
                    root: src,
                    path: names.to_vec(),
                },
                Some(src),
            ),
            Some(Binding::Walked { root, mut path }) => {
                path.extend_from_slice(names);
                (Binding::Walked { root, path }, Some(root))
            }
            _ => (Binding::Unrestorable, None),
        };
        self.set_binding(fid, binding, pin);
    }

    /// Sets a record's binding, moving its pin.
    pub(crate) fn set_binding(&mut self, fid: u32, binding: Binding, pin: Option<u32>) {
        let Some(rec) = self.records.get_mut(&fid) else {
            return;
        };
        rec.binding = Some(binding);
        let old = std::mem::replace(&mut rec.pin, pin);
        if old == pin {
            return;
        }
        if let Some(p) = pin.and_then(|p| self.records.get_mut(&p)) {
            p.refs += 1;
        }
        if let Some(o) = old.and_then(|o| self.records.get_mut(&o)) {
            o.refs = o.refs.saturating_sub(1);
        }
        // The old root may now be releasable; callers finalize through `finalize_all`.
    }

    /// Drops one reference and finalizes.
    pub(crate) fn unref(&mut self, fid: u32, generation: u64) {
        if let Some(rec) = self.get_gen(fid, generation) {
            rec.refs = rec.refs.saturating_sub(1);
            self.finalize(fid);
        }
    }

    /// Releases a fid whose guard is gone; clunks or recycles it when nothing refers to it.
    pub(crate) fn release(&mut self, fid: u32, generation: u64) {
        if let Some(rec) = self.get_gen(fid, generation) {
            rec.released = true;
            self.finalize(fid);
        }
    }

    /// Clunks (if the server knows it) or recycles a released, unreferenced fid.
    pub(crate) fn finalize(&mut self, fid: u32) {
        let online = self.online;
        let Some(rec) = self.records.get_mut(&fid) else {
            return;
        };
        if !rec.released || rec.refs > 0 {
            return;
        }
        match rec.state {
            FidState::Clunking => {}
            FidState::Unbound | FidState::Stale => self.recycle(fid),
            // Live on a connection still replaying: publishing it finalizes every record.
            FidState::Live if !online => {}
            FidState::Live => {
                rec.state = FidState::Clunking;
                self.clunks.push(ClunkOrder {
                    fid,
                    generation: rec.generation,
                    conn_id: self.conn_id,
                });
            }
        }
    }

    /// The clunks ordered since the last call, for the caller to send after unlocking.
    pub(crate) fn take_clunks(&mut self) -> Vec<ClunkOrder> {
        std::mem::take(&mut self.clunks)
    }

    /// An ordered clunk could not be handed to its connection (it died first): the fid is
    /// live again until that connection's loss is recorded, which recycles it.
    pub(crate) fn clunk_not_sent(&mut self, order: ClunkOrder) {
        if self.conn_id != order.conn_id {
            return;
        }
        if let Some(r) = self.get_gen(order.fid, order.generation) {
            if r.state == FidState::Clunking {
                r.state = FidState::Live;
            }
        }
    }

    /// Forgets a record and returns its number to the free list.
    pub(crate) fn recycle(&mut self, fid: u32) {
        let Some(rec) = self.records.remove(&fid) else {
            return;
        };
        self.free.push(fid);
        if let Some(root) = rec.pin {
            if let Some(r) = self.records.get_mut(&root) {
                r.refs = r.refs.saturating_sub(1);
                self.finalize(root);
            }
        }
    }

    /// Finalizes every record (after a bulk change such as a connection loss).
    pub(crate) fn finalize_all(&mut self) {
        let fids: Vec<u32> = self.records.keys().copied().collect();
        for fid in fids {
            self.finalize(fid);
        }
    }

    /// The connection `conn_id` died: nothing is live any more.
    pub(crate) fn connection_lost(&mut self, conn_id: u64) {
        if self.conn_id != conn_id {
            return;
        }
        self.online = false;
        // Orders for the dead connection can no longer be sent.
        self.clunks.retain(|o| o.conn_id != conn_id);
        for rec in self.records.values_mut() {
            if rec.is_live() {
                rec.state = FidState::Unbound;
            }
        }
        self.finalize_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_start_at_one_and_are_reused_lifo() {
        let mut t = FidTable::default();
        let (a, _) = t.alloc();
        let (b, _) = t.alloc();
        let (c, _) = t.alloc();
        assert_eq!((a, b, c), (1, 2, 3));
        t.records.remove(&b);
        t.free.push(b);
        t.records.remove(&a);
        t.free.push(a);
        assert_eq!(t.alloc().0, a, "last recycled first");
        assert_eq!(t.alloc().0, b);
        assert_eq!(t.alloc().0, 4);
        assert_eq!(t.outstanding(), 4);
    }

    #[test]
    fn generations_distinguish_reuse() {
        let mut t = FidTable::default();
        let (a, g1) = t.alloc();
        t.records.remove(&a);
        t.free.push(a);
        let (b, g2) = t.alloc();
        assert_eq!(a, b);
        assert_ne!(g1, g2);
        assert!(t.get_gen(a, g1).is_none());
        assert!(t.get_gen(a, g2).is_some());
    }
}
