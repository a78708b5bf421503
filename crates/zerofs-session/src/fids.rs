//! The fid table: numbers, what each fid refers to (so replay can restore it), and release.
//!
//! Numbers start at 1, are reused LIFO, and are recycled only when the server can no longer
//! know them: after the `Rclunk` (or `Rlerror`) of their clunk, or at once if the server never
//! created them. Every record counts the requests in flight that name it (`refs`); a released
//! fid is clunked only once that count is zero, so a clunk never overtakes an earlier request
//! on the same fid and a number is never reused while a late reply could still refer to it.
//!
//! Lock order: the fid table lock may be held while taking a connection's lock, never the
//! reverse; tickets are never dropped while either is held.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use zerofs_9p_proto::{LockType, Qid};

use crate::conn::Conn;
use crate::core::Core;
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
    /// Whether the server knows this fid on the current connection.
    pub(crate) live: bool,
    /// Requests in flight naming it, plus descendants pinning it as their attach root.
    pub(crate) refs: u32,
    /// Its guard was dropped: clunk (if live) and recycle once `refs` is zero.
    pub(crate) released: bool,
    /// A background clunk is in flight.
    pub(crate) clunking: bool,
    /// Replay failed for it.
    pub(crate) stale: bool,
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
            live: false,
            refs: 0,
            released: false,
            clunking: false,
            stale: false,
            pin: None,
        }
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
    pub(crate) fn unref(&mut self, fid: u32, generation: u64, link: &Clunker<'_>) {
        if let Some(rec) = self.get_gen(fid, generation) {
            rec.refs = rec.refs.saturating_sub(1);
            self.finalize(fid, link);
        }
    }

    /// Releases a fid whose guard is gone; clunks or recycles it when nothing refers to it.
    pub(crate) fn release(&mut self, fid: u32, generation: u64, link: &Clunker<'_>) {
        if let Some(rec) = self.get_gen(fid, generation) {
            rec.released = true;
            self.finalize(fid, link);
        }
    }

    /// Clunks (if the server knows it) or recycles a released, unreferenced fid.
    pub(crate) fn finalize(&mut self, fid: u32, link: &Clunker<'_>) {
        let online = self.online;
        let Some(rec) = self.records.get_mut(&fid) else {
            return;
        };
        if !rec.released || rec.refs > 0 || rec.clunking {
            return;
        }
        if !rec.live {
            self.recycle(fid, link);
            return;
        }
        if !online {
            // Live on a connection still replaying: the replay's final sweep clunks it.
            return;
        }
        let generation = rec.generation;
        if let Some(conn) = link.current() {
            if conn.send_clunk(fid, generation) {
                rec.clunking = true;
            }
        }
    }

    /// Forgets a record and returns its number to the free list.
    pub(crate) fn recycle(&mut self, fid: u32, link: &Clunker<'_>) {
        let Some(rec) = self.records.remove(&fid) else {
            return;
        };
        self.free.push(fid);
        if let Some(root) = rec.pin {
            if let Some(r) = self.records.get_mut(&root) {
                r.refs = r.refs.saturating_sub(1);
                self.finalize(root, link);
            }
        }
    }

    /// Finalizes every record (after a bulk change such as a connection loss).
    pub(crate) fn finalize_all(&mut self, link: &Clunker<'_>) {
        let fids: Vec<u32> = self.records.keys().copied().collect();
        for fid in fids {
            self.finalize(fid, link);
        }
    }

    /// The connection `conn_id` died: nothing is live any more.
    pub(crate) fn connection_lost(&mut self, conn_id: u64, link: &Clunker<'_>) {
        if self.conn_id != conn_id {
            return;
        }
        self.online = false;
        for rec in self.records.values_mut() {
            rec.live = false;
            rec.clunking = false;
        }
        self.finalize_all(link);
    }
}

/// Access to the current connection for sending background clunks.
pub(crate) struct Clunker<'a> {
    pub(crate) core: &'a Core,
}

impl Clunker<'_> {
    /// The published connection, if any.
    pub(crate) fn current(&self) -> Option<Arc<Conn>> {
        self.core.current_conn()
    }
}

/// An owned fid: the number stays reserved while this guard lives; dropping it releases the
/// fid in the background (a `Tclunk` if the server knows it, then the number is recycled).
///
/// `Fid` is `Send + Sync`; hold it across awaits instead of the bare number.
pub struct Fid {
    core: Arc<Core>,
    id: u32,
    generation: u64,
    armed: bool,
}

impl Fid {
    pub(crate) fn new(core: Arc<Core>, id: u32, generation: u64) -> Fid {
        Fid {
            core,
            id,
            generation,
            armed: true,
        }
    }

    /// The fid number, for building messages for [`Session::call`](crate::Session::call).
    pub fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Gives up the guard without releasing (the caller took over the release duty).
    pub(crate) fn disarm(mut self) -> (u32, u64) {
        self.armed = false;
        (self.id, self.generation)
    }

    /// The qid the server gave this fid, if known.
    pub fn qid(&self) -> Option<Qid> {
        self.core
            .fids()
            .get_gen(self.id, self.generation)
            .and_then(|r| r.qid)
    }

    /// The iounit the server gave at open time (0 if none or not opened).
    pub fn iounit(&self) -> u32 {
        self.core
            .fids()
            .get_gen(self.id, self.generation)
            .map_or(0, |r| r.iounit)
    }

    /// Whether replay failed for this fid (its operations fail with `Stale`).
    pub fn is_stale(&self) -> bool {
        self.core
            .fids()
            .get_gen(self.id, self.generation)
            .is_some_and(|r| r.stale)
    }
}

impl fmt::Debug for Fid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fid")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Drop for Fid {
    fn drop(&mut self) {
        if self.armed {
            let core = &*self.core;
            let link = Clunker { core };
            core.fids().release(self.id, self.generation, &link);
        }
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
