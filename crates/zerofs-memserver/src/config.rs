//! Server configuration: which ZeroFS generation to impersonate and where to listen.

use core::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use zerofs_9p_proto::Dialect;
use zerofs_9p_proto::consts::{DEFAULT_SERVER_MSIZE, MAX_MSIZE};

use crate::fs::Profile;

/// The ZeroFS server generation the memserver behaves as (PROTOCOL.md §3.1, §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Generation {
    /// Plain `9P2000.L` like the published ZeroFS 0.19.1: substring version match, 256 KiB
    /// msize and frame cap, no private messages, `Tflush` answered `EOPNOTSUPP`.
    Plain,
    /// ZeroFS 1.2.0–1.2.4: grants `9P2000.L.zerofs` (gen 1 messages, never gated).
    Gen1,
    /// ZeroFS 1.2.5–1.2.7 (the seed era): grants `9P2000.L.zerofs2` (gen 1 + gen 2 messages,
    /// never gated).
    Gen2,
    /// ZeroFS 2.1+: exactly `9P2000.L` or `9P2000.L.Z`; private messages only in a `.Z`
    /// session, with the mutation envelope and its ledger.
    Z,
}

impl Generation {
    /// Every generation, oldest first.
    pub const ALL: [Generation; 4] = [
        Generation::Plain,
        Generation::Gen1,
        Generation::Gen2,
        Generation::Z,
    ];

    /// The name accepted by [`FromStr`] and printed by [`fmt::Display`].
    pub const fn name(self) -> &'static str {
        match self {
            Generation::Plain => "plain",
            Generation::Gen1 => "gen1",
            Generation::Gen2 => "gen2",
            Generation::Z => "z",
        }
    }

    /// The default msize cap: 256 KiB for plain (0.19.1), 10 MiB for the others.
    pub const fn default_max_msize(self) -> u32 {
        match self {
            Generation::Plain => DEFAULT_SERVER_MSIZE,
            _ => MAX_MSIZE,
        }
    }

    /// The most private dialect this generation grants.
    pub const fn best_dialect(self) -> Dialect {
        match self {
            Generation::Plain => Dialect::Plain,
            Generation::Gen1 => Dialect::Zerofs,
            Generation::Gen2 => Dialect::Zerofs2,
            Generation::Z => Dialect::Z,
        }
    }

    /// Whether this is a 1.2+ server (anything but plain).
    pub const fn is_zerofs_1_2_plus(self) -> bool {
        !matches!(self, Generation::Plain)
    }

    pub(crate) fn profile(self) -> Profile {
        let new = self.is_zerofs_1_2_plus();
        Profile {
            dots: new,
            lookup_name_len: new,
            new_rdev: self == Generation::Z,
            fixed_files: self == Generation::Z,
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A generation name that is not `plain`, `gen1`, `gen2` or `z`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown generation {0:?} (expected plain, gen1, gen2 or z)")]
pub struct ParseGenerationError(String);

impl FromStr for Generation {
    type Err = ParseGenerationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Generation::ALL
            .into_iter()
            .find(|g| g.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseGenerationError(s.to_owned()))
    }
}

/// How to start a [`MemServer`](crate::MemServer).
///
/// ```
/// use zerofs_memserver::{Config, Generation};
///
/// let config = Config::new(Generation::Gen2).max_msize(65536).root_owner(1000, 1000);
/// assert_eq!(config.generation, Generation::Gen2);
/// assert!(config.tcp.is_some()); // 127.0.0.1:0 by default
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The generation to behave as.
    pub generation: Generation,
    /// TCP address to listen on (`None`: no TCP listener).
    pub tcp: Option<SocketAddr>,
    /// Unix socket path to listen on (`None`: no unix listener). A stale socket file there is
    /// replaced.
    pub unix: Option<PathBuf>,
    /// msize cap; `None` = [`Generation::default_max_msize`]. For [`Generation::Plain`] it is
    /// also the inbound frame cap (0.19.1 drops a connection sending a bigger frame); the
    /// others accept frames up to 10 MiB whatever the msize.
    pub max_msize: Option<u32>,
    /// Owner of the root directory (ZeroFS: the server process's uid and gid).
    pub root_uid: u32,
    /// Group of the root directory.
    pub root_gid: u32,
    /// How long the `.Z` ledger remembers an op-id (ZeroFS: 150 s).
    pub ledger_retention: Duration,
    /// Most op-ids the ledger remembers; the oldest are forgotten first.
    pub ledger_capacity: usize,
    /// Serve `Tremove` as 9P2000.L defines it (diod does): remove the fid's file or empty
    /// directory and clunk the fid, even when the removal fails. Off by default: every
    /// ZeroFS answers `ENOSYS` and keeps the fid.
    pub tremove: bool,
    /// Serve `Txattrwalk` (diod does): the attributes are those set with
    /// [`ServerHandle::set_xattr`](crate::ServerHandle::set_xattr), read through the new fid.
    /// Off by default: every ZeroFS answers `EOPNOTSUPP`.
    pub xattrs: bool,
}

impl Config {
    /// A config for `generation` listening on TCP `127.0.0.1:0` (an ephemeral port), with a
    /// root owned by `0:0`.
    pub fn new(generation: Generation) -> Config {
        Config {
            generation,
            tcp: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            unix: None,
            max_msize: None,
            root_uid: 0,
            root_gid: 0,
            ledger_retention: Duration::from_secs(150),
            ledger_capacity: 100_000,
            tremove: false,
            xattrs: false,
        }
    }

    /// Listens on TCP `addr` (or not at all with `None`).
    pub fn tcp(mut self, addr: Option<SocketAddr>) -> Config {
        self.tcp = addr;
        self
    }

    /// Listens on the unix socket `path` (or not at all with `None`).
    pub fn unix(mut self, path: Option<PathBuf>) -> Config {
        self.unix = path;
        self
    }

    /// Listens nowhere: the server is reachable only through
    /// [`ServerHandle::connect_in_memory`](crate::ServerHandle::connect_in_memory) (no socket,
    /// no port taken).
    pub fn in_memory(self) -> Config {
        self.tcp(None).unix(None)
    }

    /// Listens on a fresh unix socket path in the system temp directory, removed again by
    /// [`ServerHandle::shutdown`](crate::ServerHandle::shutdown).
    pub fn ephemeral_unix(self) -> Config {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("zerofs-memserver-{}-{n}.sock", std::process::id()));
        self.unix(Some(path))
    }

    /// Caps the msize (see [`Config::max_msize`](Config#structfield.max_msize)).
    pub fn max_msize(mut self, max: u32) -> Config {
        self.max_msize = Some(max);
        self
    }

    /// Sets the owner of the root directory.
    pub fn root_owner(mut self, uid: u32, gid: u32) -> Config {
        self.root_uid = uid;
        self.root_gid = gid;
        self
    }

    /// Sets how long and how many op-ids the `.Z` ledger keeps.
    pub fn ledger(mut self, retention: Duration, capacity: usize) -> Config {
        self.ledger_retention = retention;
        self.ledger_capacity = capacity;
        self
    }

    /// Serves `Tremove` (see [`Config::tremove`](Config#structfield.tremove)).
    pub fn serve_tremove(mut self, on: bool) -> Config {
        self.tremove = on;
        self
    }

    /// Serves `Txattrwalk` (see [`Config::xattrs`](Config#structfield.xattrs)).
    pub fn serve_xattrs(mut self, on: bool) -> Config {
        self.xattrs = on;
        self
    }

    /// The msize cap in force.
    pub fn effective_max_msize(&self) -> u32 {
        self.max_msize
            .unwrap_or(self.generation.default_max_msize())
    }

    /// The largest inbound frame accepted before the connection is closed.
    pub fn frame_cap(&self) -> u32 {
        match self.generation {
            Generation::Plain => self.effective_max_msize(),
            _ => self.effective_max_msize().max(MAX_MSIZE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_names_round_trip() {
        for g in Generation::ALL {
            assert_eq!(g.to_string().parse::<Generation>(), Ok(g));
        }
        assert!("gen3".parse::<Generation>().is_err());
        assert_eq!("Z".parse::<Generation>(), Ok(Generation::Z));
    }

    #[test]
    fn caps_follow_the_generation() {
        assert_eq!(Config::new(Generation::Plain).frame_cap(), 262_144);
        assert_eq!(Config::new(Generation::Gen1).frame_cap(), MAX_MSIZE);
        assert_eq!(
            Config::new(Generation::Z).max_msize(8192).frame_cap(),
            MAX_MSIZE
        );
        assert_eq!(
            Config::new(Generation::Plain)
                .max_msize(1 << 20)
                .frame_cap(),
            1 << 20
        );
    }
}
