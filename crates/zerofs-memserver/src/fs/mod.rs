//! The in-memory filesystem: pure, synchronous and unit-testable (no I/O, no tokio).
//!
//! Semantics follow ZeroFS (the published 0.19.1 where the newer servers are not documented):
//! the root is inode 0 (mode `0o1777`), inode ids are never reused, creates are exclusive,
//! permission checks follow the owner/group/other bits with root bypassing all but execute, and
//! a node whose last link goes away is gone at once (open fids to it then see `ENOENT`).

mod data;
mod dir;
mod errno;
mod locks;
mod namespace;
mod node;
mod perm;

#[cfg(test)]
mod namespace_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use bytes::Bytes;
use zerofs_9p_proto::consts::{MAX_NAME_LEN, ZEROFS_MAGIC, fallocate};
use zerofs_9p_proto::{Qid, QidType, Rstatfs, Stat};

use crate::payload::Payload;

pub use self::data::{FileData, MAX_FILE_SIZE};
pub use self::dir::{COOKIE_DOT, COOKIE_DOTDOT, Directory};
pub use self::errno::{Errno, FsResult};
pub use self::locks::{Lock, LockTable};
pub use self::node::{Inode, Kind, Time};
pub use self::perm::{Access, Creds};

/// The root directory's inode id.
pub const ROOT: u64 = 0;
/// Most entries one readdir batch returns (ZeroFS's batch size).
pub const READDIR_BATCH: usize = 1000;
/// Most hard links to one inode.
pub const MAX_LINKS: u64 = u32::MAX as u64;
const TOTAL_BYTES: u64 = 8 << 60;
const TOTAL_INODES: u64 = 1 << 48;
const BLOCK: u64 = 4096;

/// Behaviour that differs between server generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Profile {
    /// `.` and `..` resolve during a walk (1.2+; `..` stays at the attach root). 0.19.1 has no
    /// such entries and answers `ENOENT`.
    pub dots: bool,
    /// Lookups refuse names over 255 bytes with `ENAMETOOLONG` (0.19.1 answers `ENOENT`).
    pub lookup_name_len: bool,
    /// `rdev` uses Linux `new_encode_dev` packing and overflows with `EOVERFLOW` (HEAD) instead
    /// of `(major << 8) | minor` (seed era).
    pub new_rdev: bool,
    /// `Rstatfs.files` is the fixed 2^48 (HEAD) instead of used + available inodes.
    pub fixed_files: bool,
}

/// What `setattr` does to a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetTime {
    /// Leave it.
    #[default]
    Keep,
    /// Set it to the server's "now".
    Now,
    /// Set it to this value.
    At(Time),
}

/// The changes of a `setattr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetAttr {
    /// New permission bits.
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size.
    pub size: Option<u64>,
    /// New atime.
    pub atime: SetTime,
    /// New mtime.
    pub mtime: SetTime,
}

/// A special node for `mknod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// FIFO.
    Fifo,
    /// Socket.
    Socket,
    /// Character device.
    Char(u32, u32),
    /// Block device.
    Block(u32, u32),
}

/// One readdir result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirItem {
    /// Cookie to continue after this entry.
    pub cookie: u64,
    /// Name.
    pub name: Bytes,
    /// Inode.
    pub ino: u64,
}

/// The filesystem.
#[derive(Debug, Clone)]
pub struct Fs {
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
    profile: Profile,
    /// Byte-range locks of every connection.
    pub locks: LockTable,
}

impl Fs {
    /// An empty filesystem whose root (inode 0, mode `0o1777`) belongs to `uid:gid`.
    pub fn new(profile: Profile, uid: u32, gid: u32) -> Fs {
        let mut root = Inode::new(Kind::Dir(Directory::default()), 0o1777, uid, gid, ROOT);
        root.parent = Some(ROOT);
        Fs {
            inodes: HashMap::from([(ROOT, root)]),
            next_ino: 1,
            profile,
            locks: LockTable::default(),
        }
    }

    /// The inode `ino`, or `ENOENT`.
    pub fn get(&self, ino: u64) -> FsResult<&Inode> {
        self.inodes.get(&ino).ok_or(Errno::ENOENT)
    }

    fn get_mut(&mut self, ino: u64) -> FsResult<&mut Inode> {
        self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    /// The qid of `ino`.
    pub fn qid(&self, ino: u64) -> FsResult<Qid> {
        Ok(qid_of(self.get(ino)?, ino))
    }

    /// The 145-byte stat block of `ino`.
    pub fn stat(&self, ino: u64) -> FsResult<Stat> {
        let node = self.get(ino)?;
        let rdev = match node.kind {
            Kind::Char { major, minor } | Kind::Block { major, minor } => {
                if self.profile.new_rdev {
                    if major > 0xfff || minor > 0xfffff {
                        return Err(Errno(zerofs_9p_proto::consts::errno::EOVERFLOW));
                    }
                    let (major, minor) = (u64::from(major), u64::from(minor));
                    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
                } else {
                    (u64::from(major) << 8) | u64::from(minor)
                }
            }
            _ => 0,
        };
        let size = node.size();
        Ok(Stat {
            qid: qid_of(node, ino),
            mode: node.perm | node.kind.type_bits(),
            uid: node.uid,
            gid: node.gid,
            nlink: if matches!(node.kind, Kind::Symlink(_)) {
                1
            } else {
                node.nlink
            },
            rdev,
            size,
            blksize: BLOCK,
            blocks: size.div_ceil(512),
            atime_sec: node.atime.sec,
            atime_nsec: node.atime.nsec,
            mtime_sec: node.mtime.sec,
            mtime_nsec: node.mtime.nsec,
            ctime_sec: node.ctime.sec,
            ctime_nsec: node.ctime.nsec,
            ..Stat::default()
        })
    }

    /// Checks `access` to `ino` (used by open-time checks).
    pub fn access(&self, creds: &Creds, ino: u64, access: Access) -> FsResult<()> {
        perm::check(self.get(ino)?, creds, access)
    }

    /// Looks `name` up in directory `dir` (search permission needed).
    pub fn lookup(&self, creds: &Creds, dir: u64, name: &[u8]) -> FsResult<u64> {
        let node = self.get(dir)?;
        let d = node.dir().ok_or(Errno::ENOTDIR)?;
        perm::check(node, creds, Access::Exec)?;
        if self.profile.lookup_name_len && name.len() > MAX_NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        d.get(name).ok_or(Errno::ENOENT)
    }

    /// One step of a walk from `dir` in a session attached at `root`: like [`Fs::lookup`], plus
    /// `.` and `..` when the profile resolves them (`..` at `root` stays there).
    pub fn walk_step(&self, creds: &Creds, dir: u64, name: &[u8], root: u64) -> FsResult<u64> {
        if self.profile.dots && (name == b"." || name == b"..") {
            let node = self.get(dir)?;
            if !node.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            perm::check(node, creds, Access::Exec)?;
            if name == b"." || dir == root {
                return Ok(dir);
            }
            return Ok(node.parent.unwrap_or(ROOT));
        }
        self.lookup(creds, dir, name)
    }

    /// Whether `ino` lies in the tree rooted at directory `root` (itself included).
    pub fn is_under(&self, ino: u64, root: u64) -> bool {
        if ino == root || root == ROOT {
            return self.inodes.contains_key(&ino);
        }
        let Ok(node) = self.get(ino) else {
            return false;
        };
        let start = if node.is_dir() {
            node.parent
        } else {
            // A hard-linked node has no single parent: any directory holding it counts.
            match node.parent {
                Some(p) => Some(p),
                None => {
                    return self.inodes.iter().any(|(&d, n)| {
                        n.dir().is_some_and(|dir| dir.contains_ino(ino)) && self.is_under(d, root)
                    });
                }
            }
        };
        let mut cur = start;
        // Bounded by the number of inodes: the parent chain of a directory has no cycles.
        for _ in 0..=self.inodes.len() {
            match cur {
                Some(c) if c == root => return true,
                Some(ROOT) | None => return false,
                Some(c) => cur = self.inodes.get(&c).and_then(|n| n.parent),
            }
        }
        false
    }

    /// ZeroFS's check of search permission on every ancestor below the root (reads, writes,
    /// setattr and link check it; the root itself is not checked; a hard-linked node skips it).
    fn check_ancestors(&self, creds: &Creds, ino: u64) -> FsResult<()> {
        if ino == ROOT {
            return Ok(());
        }
        let mut cur = self.get(ino)?.parent;
        for _ in 0..=self.inodes.len() {
            match cur {
                None | Some(ROOT) => return Ok(()),
                Some(c) => {
                    let node = self.get(c)?;
                    perm::check(node, creds, Access::Exec)?;
                    if !node.is_dir() {
                        return Err(Errno::ENOTDIR);
                    }
                    cur = node.parent;
                }
            }
        }
        Ok(())
    }

    /// Changes attributes with ZeroFS's rules: chmod by the owner, chown by root (or the owner
    /// to itself and one of its groups), explicit times by the owner, "now" by anyone who may
    /// write, size with write permission. Setuid/setgid bits are cleared as POSIX asks.
    pub fn setattr(&mut self, creds: &Creds, ino: u64, attr: &SetAttr) -> FsResult<()> {
        let node = self.get(ino)?;
        self.check_ancestors(creds, ino)?;
        if attr.mode.is_some() {
            perm::check_owner(node, creds)?;
        }
        if (attr.uid.is_some() || attr.gid.is_some()) && !creds.is_root() {
            perm::check_owner(node, creds)?;
            if attr.uid.is_some_and(|u| u != creds.uid) {
                return Err(Errno::EPERM);
            }
            if attr.gid.is_some_and(|g| !creds.in_group(g)) {
                return Err(Errno::EPERM);
            }
        }
        for t in [attr.atime, attr.mtime] {
            match t {
                SetTime::Keep => {}
                SetTime::At(_) => perm::check_owner(node, creds)?,
                SetTime::Now => {
                    if perm::check_owner(node, creds).is_err() {
                        perm::check(node, creds, Access::Write)?;
                    }
                }
            }
        }
        if attr.size.is_some() {
            perm::check(node, creds, Access::Write)?;
        }
        let now = Time::now();
        let node = self.get_mut(ino)?;
        if let (Some(size), Kind::File(f)) = (attr.size, &mut node.kind) {
            if size != f.len() {
                f.set_len(size)?;
                node.mtime = now;
                node.ctime = now;
            }
        }
        if let Some(mode) = attr.mode {
            node.perm = mode & 0o7777;
            if !creds.is_root()
                && node.perm & 0o2000 != 0
                && !creds.in_group(node.gid)
                && !matches!(node.kind, Kind::Symlink(_))
            {
                node.perm &= !0o2000;
            }
        }
        if let Some(uid) = attr.uid {
            node.uid = uid;
            if !creds.is_root() {
                node.perm &= !0o4000;
            }
        }
        if let Some(gid) = attr.gid {
            node.gid = gid;
            if !creds.is_root() {
                node.perm &= !0o6000;
            }
        }
        match attr.atime {
            SetTime::Keep => {}
            SetTime::Now => node.atime = now,
            SetTime::At(t) => node.atime = t,
        }
        match attr.mtime {
            SetTime::Keep => {}
            SetTime::Now => node.mtime = now,
            SetTime::At(t) => node.mtime = t,
        }
        if attr.mode.is_some()
            || attr.uid.is_some()
            || attr.gid.is_some()
            || attr.size.is_some()
            || attr.atime != SetTime::Keep
            || attr.mtime != SetTime::Keep
        {
            node.ctime = now;
        }
        Ok(())
    }

    /// Sets atime to "now" (the `.Z` `ATIME_ACCESS` setattr).
    pub fn touch_atime(&mut self, ino: u64) -> FsResult<()> {
        self.get_mut(ino)?.atime = Time::now();
        Ok(())
    }

    /// Reads up to `count` bytes at `offset` of a regular file (zero-copy pieces of the store).
    pub fn read(&self, creds: &Creds, ino: u64, offset: u64, count: u64) -> FsResult<Payload> {
        let node = self.get(ino)?;
        self.check_ancestors(creds, ino)?;
        perm::check(node, creds, Access::Read)?;
        match &node.kind {
            Kind::File(f) => Ok(f.read(offset, count)),
            _ => Err(Errno::EISDIR),
        }
    }

    /// Writes `data` at `offset` of a regular file (the owner may write whatever its mode).
    pub fn write(&mut self, creds: &Creds, ino: u64, offset: u64, data: &[u8]) -> FsResult<()> {
        self.check_ancestors(creds, ino)?;
        let node = self.get(ino)?;
        if matches!(node.kind, Kind::File(_)) && creds.uid != node.uid {
            perm::check(node, creds, Access::Write)?;
        }
        let node = self.get_mut(ino)?;
        let Kind::File(f) = &mut node.kind else {
            return Err(Errno::EISDIR);
        };
        f.write(offset, data)?;
        node.touch_modified();
        if creds.uid != node.uid && !creds.is_root() {
            node.perm &= !0o6000;
        }
        Ok(())
    }

    /// `fallocate` with one of the modes ZeroFS accepts: 0 (allocate), `PUNCH_HOLE|KEEP_SIZE`,
    /// `ZERO_RANGE` and `ZERO_RANGE|KEEP_SIZE`; other modes are `EOPNOTSUPP`.
    pub fn fallocate(&mut self, ino: u64, offset: u64, length: u64, mode: u32) -> FsResult<()> {
        const PUNCH: u32 = fallocate::PUNCH_HOLE | fallocate::KEEP_SIZE;
        const ZERO: u32 = fallocate::ZERO_RANGE;
        const ZERO_KEEP: u32 = fallocate::ZERO_RANGE | fallocate::KEEP_SIZE;
        if !matches!(mode, 0 | PUNCH | ZERO | ZERO_KEEP) {
            return Err(Errno::EOPNOTSUPP);
        }
        if length == 0 {
            return Err(Errno::EINVAL);
        }
        let end = offset
            .checked_add(length)
            .filter(|e| *e <= MAX_FILE_SIZE)
            .ok_or(Errno::EFBIG)?;
        let node = self.get_mut(ino)?;
        let Kind::File(f) = &mut node.kind else {
            return Err(Errno::EISDIR);
        };
        if mode != 0 {
            f.zero(offset, length);
        }
        if mode & fallocate::KEEP_SIZE == 0 && end > f.len() {
            f.set_len(end)?;
        }
        node.touch_modified();
        Ok(())
    }

    /// Lists directory `dir` after `cookie`: `.` (cookie 1) and `..` (cookie 2) first, then
    /// entries in cookie order, at most `max` items.
    pub fn readdir(
        &self,
        creds: &Creds,
        dir: u64,
        cookie: u64,
        max: usize,
    ) -> FsResult<Vec<DirItem>> {
        let node = self.get(dir)?;
        perm::check(node, creds, Access::Read)?;
        let d = node.dir().ok_or(Errno::ENOTDIR)?;
        let mut out = Vec::new();
        if cookie < COOKIE_DOT {
            out.push(DirItem {
                cookie: COOKIE_DOT,
                name: Bytes::from_static(b"."),
                ino: dir,
            });
        }
        if cookie < COOKIE_DOTDOT {
            let parent = if dir == ROOT {
                ROOT
            } else {
                node.parent.unwrap_or(ROOT)
            };
            let parent = if self.inodes.contains_key(&parent) {
                parent
            } else {
                dir
            };
            out.push(DirItem {
                cookie: COOKIE_DOTDOT,
                name: Bytes::from_static(b".."),
                ino: parent,
            });
        }
        for (c, e) in d.after(cookie.max(COOKIE_DOTDOT)) {
            if out.len() >= max {
                break;
            }
            out.push(DirItem {
                cookie: c,
                name: e.name.clone(),
                ino: e.ino,
            });
        }
        out.truncate(max);
        Ok(out)
    }

    /// The target of a symlink (`EINVAL` for anything else).
    pub fn readlink(&self, ino: u64) -> FsResult<Bytes> {
        match &self.get(ino)?.kind {
            Kind::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The `Rstatfs` ZeroFS reports (8 EiB of 4 KiB blocks, 2^48 inodes).
    pub fn statfs(&self) -> Rstatfs {
        let blocks = TOTAL_BYTES / BLOCK;
        let used: u64 = self.inodes.values().map(|n| n.size().div_ceil(BLOCK)).sum();
        let free = blocks.saturating_sub(used);
        let ffree = TOTAL_INODES.saturating_sub(self.next_ino);
        let files = if self.profile.fixed_files {
            TOTAL_INODES
        } else {
            self.inodes.len() as u64 + ffree
        };
        Rstatfs {
            ty: ZEROFS_MAGIC,
            bsize: BLOCK as u32,
            blocks,
            bfree: free,
            bavail: free,
            files,
            ffree,
            fsid: 0,
            namelen: MAX_NAME_LEN as u32,
        }
    }
}

fn qid_of(node: &Inode, ino: u64) -> Qid {
    let ty = match node.kind {
        Kind::Dir(_) => QidType::DIR,
        Kind::Symlink(_) => QidType::SYMLINK,
        _ => QidType::FILE,
    };
    Qid {
        ty,
        version: node.mtime.sec as u32,
        path: ino,
    }
}
