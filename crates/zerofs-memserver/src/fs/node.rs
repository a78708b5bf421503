//! Inodes: the node kinds, ownership, permission bits and timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use zerofs_9p_proto::consts::{dirent, mode};

use super::data::FileData;
use super::dir::Directory;

/// A point in time, seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Time {
    /// Seconds.
    pub sec: u64,
    /// Nanoseconds (below 1e9 when the server stamps it; client-set values are kept verbatim).
    pub nsec: u64,
}

impl Time {
    /// The server's "now".
    pub fn now() -> Time {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Time {
            sec: d.as_secs(),
            nsec: u64::from(d.subsec_nanos()),
        }
    }
}

/// What an inode is.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A directory.
    Dir(Directory),
    /// A regular file.
    File(FileData),
    /// A symbolic link and its target bytes.
    Symlink(Bytes),
    /// A named pipe.
    Fifo,
    /// A unix socket node.
    Socket,
    /// A character device.
    Char {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A block device.
    Block {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
}

impl Kind {
    /// The `S_IF*` bits.
    pub fn type_bits(&self) -> u32 {
        match self {
            Kind::Dir(_) => mode::S_IFDIR,
            Kind::File(_) => mode::S_IFREG,
            Kind::Symlink(_) => mode::S_IFLNK,
            Kind::Fifo => mode::S_IFIFO,
            Kind::Socket => mode::S_IFSOCK,
            Kind::Char { .. } => mode::S_IFCHR,
            Kind::Block { .. } => mode::S_IFBLK,
        }
    }

    /// The `DT_*` value of a directory entry.
    pub fn dirent_type(&self) -> u8 {
        match self {
            Kind::Dir(_) => dirent::DIR,
            Kind::File(_) => dirent::REG,
            Kind::Symlink(_) => dirent::LNK,
            Kind::Fifo => dirent::FIFO,
            Kind::Socket => dirent::SOCK,
            Kind::Char { .. } => dirent::CHR,
            Kind::Block { .. } => dirent::BLK,
        }
    }
}

/// One inode.
#[derive(Debug, Clone)]
pub struct Inode {
    /// Node kind and content.
    pub kind: Kind,
    /// Permission bits (`mode & 0o7777`).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Hard links (directories: 2 + subdirectories).
    pub nlink: u64,
    /// The directory holding the only link of a non-directory (`None` once hard-linked, as
    /// ZeroFS), or the parent of a directory (the root is its own parent).
    pub parent: Option<u64>,
    /// Access time.
    pub atime: Time,
    /// Modification time.
    pub mtime: Time,
    /// Change time.
    pub ctime: Time,
}

impl Inode {
    /// A fresh inode stamped "now".
    pub fn new(kind: Kind, perm: u32, uid: u32, gid: u32, parent: u64) -> Inode {
        let now = Time::now();
        let nlink = if matches!(kind, Kind::Dir(_)) { 2 } else { 1 };
        Inode {
            kind,
            perm,
            uid,
            gid,
            nlink,
            parent: Some(parent),
            atime: now,
            mtime: now,
            ctime: now,
        }
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(_))
    }

    /// The directory, if this is one.
    pub fn dir(&self) -> Option<&Directory> {
        match &self.kind {
            Kind::Dir(d) => Some(d),
            _ => None,
        }
    }

    /// The directory, mutably, if this is one.
    pub fn dir_mut(&mut self) -> Option<&mut Directory> {
        match &mut self.kind {
            Kind::Dir(d) => Some(d),
            _ => None,
        }
    }

    /// The `size` reported by stat: file length, symlink target length, 0 otherwise.
    pub fn size(&self) -> u64 {
        match &self.kind {
            Kind::File(f) => f.len(),
            Kind::Symlink(t) => t.len() as u64,
            _ => 0,
        }
    }

    /// Stamps mtime and ctime with "now".
    pub fn touch_modified(&mut self) {
        let now = Time::now();
        self.mtime = now;
        self.ctime = now;
    }

    /// Stamps ctime with "now".
    pub fn touch_changed(&mut self) {
        self.ctime = Time::now();
    }
}
