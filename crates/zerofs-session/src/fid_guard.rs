//! `Fid`: the RAII guard of one fid number; dropping it releases the fid through the table.

use std::fmt;
use std::sync::Arc;

use zerofs_9p_proto::Qid;

use crate::core::Core;

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
            .is_some_and(|r| r.is_stale())
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
            self.core.fids().release(self.id, self.generation);
        }
    }
}
