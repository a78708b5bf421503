//! Requests in flight: their tags and fids, and who waits for them to finish.
//!
//! Waiting costs nothing until someone waits: a request registers a few words, and a waiter
//! (a `Tflush`, a 2.1+ `Tclunk` barrier, a 2.1+ `Tversion`) adds a oneshot sender to it. When
//! the request unregisters (after its reply is queued) its record is dropped, and with it the
//! senders, which wakes the waiters.

use std::collections::HashMap;

use tokio::sync::oneshot;
use zerofs_9p_proto::Message;

/// The fids a request refers to (for the 2.1+ `Tclunk` barrier): at most two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Fids {
    n: u8,
    ids: [u32; 2],
}

impl Fids {
    /// No fid.
    pub const NONE: Fids = Fids { n: 0, ids: [0; 2] };

    const fn one(a: u32) -> Fids {
        Fids { n: 1, ids: [a, 0] }
    }

    const fn two(a: u32, b: u32) -> Fids {
        Fids { n: 2, ids: [a, b] }
    }

    /// Whether `fid` is one of them.
    pub fn contains(&self, fid: u32) -> bool {
        self.ids[..usize::from(self.n)].contains(&fid)
    }

    /// The fids request `m` refers to.
    pub fn of(m: &Message) -> Fids {
        use Message as M;
        match m {
            M::Tstatfs(x) => Fids::one(x.fid),
            M::Tlopen(x) => Fids::one(x.fid),
            M::Tlcreate(x) => Fids::one(x.fid),
            M::Tsymlink(x) | M::Tsymlinkattr(x) => Fids::one(x.dfid),
            M::Tmknod(x) | M::Tmknodattr(x) => Fids::one(x.dfid),
            M::Trename(x) => Fids::two(x.fid, x.dfid),
            M::Treadlink(x) => Fids::one(x.fid),
            M::Tgetattr(x) => Fids::one(x.fid),
            M::Tsetattr(x) | M::Tsetattrattr(x) => Fids::one(x.fid),
            M::Txattrwalk(x) => Fids::two(x.fid, x.newfid),
            M::Treaddir(x) | M::Treaddirattr(x) => Fids::one(x.fid),
            M::Tfsync(x) => Fids::one(x.fid),
            M::Tlock(x) => Fids::one(x.fid),
            M::Tgetlock(x) => Fids::one(x.fid),
            M::Tlink(x) | M::Tlinkattr(x) => Fids::two(x.dfid, x.fid),
            M::Tmkdir(x) | M::Tmkdirattr(x) => Fids::one(x.dfid),
            M::Trenameat(x) => Fids::two(x.olddirfid, x.newdirfid),
            M::Tunlinkat(x) => Fids::one(x.dirfid),
            M::Tattach(x) => Fids::one(x.fid),
            M::Twalk(x) | M::Twalkgetattr(x) => Fids::two(x.fid, x.newfid),
            M::Tread(x) => Fids::one(x.fid),
            M::Twrite(x) => Fids::one(x.fid),
            M::Tfallocate(x) => Fids::one(x.fid),
            M::Tlopenatread(x) => Fids::two(x.fid, x.newfid),
            M::Tfsyncdur(x) => Fids::one(x.fid),
            M::Tlopenat(x) => Fids::two(x.fid, x.newfid),
            M::Tlcreateattr(x) => Fids::two(x.dfid, x.newfid),
            M::Trebind(x) => Fids::one(x.fid),
            M::TrebindZ(x) => Fids::one(x.fid),
            _ => Fids::NONE,
        }
    }
}

/// Resolves (with an error, which is the signal) once the request it was taken from is done.
pub(super) type Done = oneshot::Receiver<()>;

#[derive(Debug)]
struct Req {
    seq: u64,
    fids: Fids,
    /// Dropped when the request is done, which wakes the waiters.
    waiters: Vec<oneshot::Sender<()>>,
}

impl Req {
    fn waiter(&mut self) -> Done {
        let (tx, rx) = oneshot::channel();
        self.waiters.push(tx);
        rx
    }
}

/// The requests in flight on one connection.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    reqs: HashMap<u16, Req>,
    /// Requests whose tag was reused while they ran (servers before 2.1 overwrite the
    /// bookkeeping): out of sight of new waiters, kept so earlier waiters wait for the real end.
    displaced: HashMap<u64, Req>,
    next_seq: u64,
    /// Gen 1/2: the latest Tflush per old tag (only it gets an Rflush).
    pub latest_flush: HashMap<u16, u64>,
    /// `.Z`: the previous Tflush (tag, sequence number), so Rflushes go out in receive order.
    last_flush: Option<(u16, u64)>,
}

impl InFlight {
    /// Whether a request with `tag` is in flight.
    pub fn contains(&self, tag: u16) -> bool {
        self.reqs.contains_key(&tag)
    }

    /// Registers a request; it must call [`InFlight::unregister`] with the returned sequence
    /// number once done.
    pub fn register(&mut self, tag: u16, fids: Fids) -> u64 {
        self.next_seq += 1;
        let seq = self.next_seq;
        let req = Req {
            seq,
            fids,
            waiters: Vec::new(),
        };
        if let Some(old) = self.reqs.insert(tag, req) {
            self.displaced.insert(old.seq, old);
        }
        seq
    }

    /// Marks request `seq` (registered under `tag`) done, waking its waiters.
    pub fn unregister(&mut self, tag: u16, seq: u64) {
        if self.reqs.get(&tag).is_some_and(|r| r.seq == seq) {
            self.reqs.remove(&tag);
        } else {
            self.displaced.remove(&seq);
        }
    }

    /// Waits for the request in flight under `tag`, if any.
    pub fn wait_tag(&mut self, tag: u16) -> Option<Done> {
        self.reqs.get_mut(&tag).map(Req::waiter)
    }

    /// Waits for every request in flight that refers to `fid`.
    pub fn wait_fid(&mut self, fid: u32) -> Vec<Done> {
        self.reqs
            .values_mut()
            .filter(|r| r.fids.contains(fid))
            .map(Req::waiter)
            .collect()
    }

    /// Waits for every request in flight.
    pub fn wait_all(&mut self) -> Vec<Done> {
        self.reqs.values_mut().map(Req::waiter).collect()
    }

    /// `.Z`: records Tflush `seq` under `tag` as the latest and waits for the previous one, if
    /// it is still in flight.
    pub fn follow_last_flush(&mut self, tag: u16, seq: u64) -> Option<Done> {
        let (ptag, pseq) = self.last_flush.replace((tag, seq))?;
        match self.reqs.get_mut(&ptag) {
            Some(r) if r.seq == pseq => Some(r.waiter()),
            _ => self.displaced.get_mut(&pseq).map(Req::waiter),
        }
    }
}

#[cfg(test)]
mod tests {
    use zerofs_9p_proto::{Tclunk, Tread, Twalk};

    use super::*;

    fn done(rx: &mut Done) -> bool {
        !matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty))
    }

    #[test]
    fn fids_of_requests() {
        let walk = Message::Twalk(Twalk {
            fid: 1,
            newfid: 2,
            wnames: Vec::new(),
        });
        assert!(Fids::of(&walk).contains(1) && Fids::of(&walk).contains(2));
        assert!(!Fids::of(&walk).contains(0));
        let read = Message::Tread(Tread {
            fid: 7,
            offset: 0,
            count: 1,
        });
        assert!(Fids::of(&read).contains(7) && !Fids::of(&read).contains(0));
        assert_eq!(Fids::of(&Message::Tclunk(Tclunk { fid: 3 })), Fids::NONE);
        assert!(!Fids::NONE.contains(0));
    }

    #[test]
    fn waiters_wake_when_the_request_is_done() {
        let mut f = InFlight::default();
        let a = f.register(1, Fids::one(10));
        let b = f.register(2, Fids::two(10, 11));
        let mut on_tag = f.wait_tag(1).unwrap();
        let mut on_fid = f.wait_fid(11);
        let mut all = f.wait_all();
        assert_eq!((on_fid.len(), all.len()), (1, 2));
        assert!(f.wait_tag(3).is_none());
        assert!(!done(&mut on_tag) && !done(&mut on_fid[0]));
        f.unregister(1, a);
        assert!(done(&mut on_tag) && !done(&mut on_fid[0]));
        assert_eq!(
            all.iter_mut().filter_map(|d| done(d).then_some(())).count(),
            1
        );
        f.unregister(2, b);
        assert!(done(&mut on_fid[0]) && all.iter_mut().all(done));
        assert!(!f.contains(1) && !f.contains(2));
    }

    #[test]
    fn a_displaced_request_still_holds_its_waiters() {
        let mut f = InFlight::default();
        let old = f.register(5, Fids::NONE);
        let mut w = f.wait_tag(5).unwrap();
        let new = f.register(5, Fids::NONE);
        assert!(
            !done(&mut w),
            "reusing the tag does not end the old request"
        );
        f.unregister(5, new);
        assert!(!done(&mut w));
        f.unregister(5, old);
        assert!(done(&mut w));
    }

    #[test]
    fn flushes_follow_each_other() {
        let mut f = InFlight::default();
        let s1 = f.register(1, Fids::NONE);
        assert!(f.follow_last_flush(1, s1).is_none());
        let s2 = f.register(2, Fids::NONE);
        let mut prev = f.follow_last_flush(2, s2).unwrap();
        assert!(!done(&mut prev));
        f.unregister(1, s1);
        assert!(done(&mut prev));
        let s3 = f.register(3, Fids::NONE);
        f.unregister(2, s2);
        assert!(
            f.follow_last_flush(3, s3).is_none(),
            "the previous one is done"
        );
    }
}
