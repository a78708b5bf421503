//! Per-connection protocol state: negotiated dialect, msize, and the fid table.

use std::collections::HashMap;

use bytes::Bytes;
use zerofs_9p_proto::Dialect;
use zerofs_9p_proto::consts::{DEFAULT_SERVER_MSIZE, open};

use crate::fs::{Creds, Errno, FsResult, ROOT};

/// What a fid points at.
#[derive(Debug, Clone)]
pub(crate) struct Fid {
    /// The inode.
    pub ino: u64,
    /// The attach root the fid descends from (`..` stops there).
    pub root: u64,
    /// The identity the fid acts as.
    pub creds: Creds,
    /// The directory and name the fid was last walked through (for `Trename`).
    pub parent: Option<(u64, Bytes)>,
    /// The open flags, once opened.
    pub open: Option<u32>,
    /// For a fid made by `Txattrwalk`: the attribute's value (or the name list) to read.
    pub xattr: Option<Bytes>,
}

impl Fid {
    /// Whether I/O that reads is allowed: opened, not path-only, access mode RDONLY or RDWR
    /// (`strict`), or merely opened (0.19.1).
    pub fn can_read(&self, strict: bool) -> bool {
        match self.open {
            None => false,
            Some(_) if !strict => true,
            Some(f) => {
                f & open::PATH == 0 && matches!(f & open::ACCMODE, open::RDONLY | open::RDWR)
            }
        }
    }

    /// Whether I/O that writes is allowed (see [`Fid::can_read`]).
    pub fn can_write(&self, strict: bool) -> bool {
        match self.open {
            None => false,
            Some(_) if !strict => true,
            Some(f) => {
                f & open::PATH == 0 && matches!(f & open::ACCMODE, open::WRONLY | open::RDWR)
            }
        }
    }
}

/// The state of one connection.
#[derive(Debug)]
pub(crate) struct Session {
    /// The negotiated dialect (`Plain` until a Tversion grants more).
    pub dialect: Dialect,
    /// The negotiated msize (262144 before any Tversion).
    pub msize: u32,
    /// Fids.
    pub fids: HashMap<u32, Fid>,
    /// Root of the most recent attach (for gen 1/2 `Trebind`'s subtree check).
    pub attach_root: u64,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            dialect: Dialect::Plain,
            msize: DEFAULT_SERVER_MSIZE,
            fids: HashMap::new(),
            attach_root: ROOT,
        }
    }
}

impl Session {
    /// The fid, or `EBADF`.
    pub fn fid(&self, fid: u32) -> FsResult<&Fid> {
        self.fids.get(&fid).ok_or(Errno::EBADF)
    }

    /// The fid, mutably, or `EBADF`.
    pub fn fid_mut(&mut self, fid: u32) -> FsResult<&mut Fid> {
        self.fids.get_mut(&fid).ok_or(Errno::EBADF)
    }

    /// Fails with `EINVAL` if `newfid` is in use and is not `fid`.
    pub fn check_newfid(&self, fid: u32, newfid: u32) -> FsResult<()> {
        if newfid != fid && self.fids.contains_key(&newfid) {
            Err(Errno::EINVAL)
        } else {
            Ok(())
        }
    }
}
