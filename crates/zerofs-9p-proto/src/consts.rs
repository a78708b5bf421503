//! Named protocol constants: special tags and fids, bit masks, flags and errno values.

/// The tag of `Tversion` (a request outside any tag space).
pub const NOTAG: u16 = 0xFFFF;
/// "No fid", e.g. the `afid` of a `Tattach` without authentication.
pub const NOFID: u32 = 0xFFFF_FFFF;
/// `n_uname` meaning "unspecified": the server derives the uid from `uname`.
pub const NONUNAME: u32 = 0xFFFF_FFFF;

/// Bytes of every frame header: `size[4] type[1] tag[2]`.
pub const HEADER_LEN: usize = 7;
/// Bytes of the `.Z` mutation envelope: `op_id[16] flags[1] origin_epoch[8]`.
pub const ENVELOPE_LEN: usize = 25;
/// Overhead of `Rread`/`Rreaddir`/`Rreaddirattr`: header plus `count[4]`.
pub const READ_OVERHEAD: u32 = 11;
/// Overhead of `Twrite` without an envelope: header, `fid[4] offset[8] count[4]`.
pub const WRITE_OVERHEAD: u32 = 23;
/// Overhead of `Twrite` in a `.Z` session (with the 25-byte envelope).
pub const WRITE_OVERHEAD_Z: u32 = WRITE_OVERHEAD + ENVELOPE_LEN as u32;
/// Overhead of `Rlopenatread`: header, `qid[13] iounit[4] eof[1] count[4]`.
pub const LOPENATREAD_OVERHEAD: u32 = 29;
/// The I/O overhead Linux's v9fs assumes (`P9_IOHDRSZ`); diod refuses counts above `msize - 24`.
pub const LINUX_IOHDRSZ: u32 = 24;
/// The smallest msize clients accept.
pub const MIN_MSIZE: u32 = 4096;
/// The largest msize ZeroFS servers (1.2.0 and later) grant, and the largest frame they accept.
pub const MAX_MSIZE: u32 = 10 * 1024 * 1024;
/// The msize servers assume before `Tversion`.
pub const DEFAULT_SERVER_MSIZE: u32 = 256 * 1024;
/// Longest file name component ZeroFS accepts.
pub const MAX_NAME_LEN: usize = 255;
/// Most names per `Twalk` that every 9P server accepts.
pub const MAXWELEM: usize = 16;
/// ZeroFS's default TCP port.
pub const DEFAULT_PORT: u16 = 5564;
/// `Rstatfs.type` of ZeroFS ("ZERO").
pub const ZEROFS_MAGIC: u32 = 0x5A45_524F;

/// `Tgetattr.request_mask` and `Rgetattr.valid` bits.
pub mod getattr {
    /// `mode`.
    pub const MODE: u64 = 0x0001;
    /// `nlink`.
    pub const NLINK: u64 = 0x0002;
    /// `uid`.
    pub const UID: u64 = 0x0004;
    /// `gid`.
    pub const GID: u64 = 0x0008;
    /// `rdev`.
    pub const RDEV: u64 = 0x0010;
    /// `atime`.
    pub const ATIME: u64 = 0x0020;
    /// `mtime`.
    pub const MTIME: u64 = 0x0040;
    /// `ctime`.
    pub const CTIME: u64 = 0x0080;
    /// The inode number (`qid.path`).
    pub const INO: u64 = 0x0100;
    /// `size`.
    pub const SIZE: u64 = 0x0200;
    /// `blocks`.
    pub const BLOCKS: u64 = 0x0400;
    /// `btime`.
    pub const BTIME: u64 = 0x0800;
    /// `gen`.
    pub const GEN: u64 = 0x1000;
    /// `data_version`.
    pub const DATA_VERSION: u64 = 0x2000;
    /// Everything `stat(2)` reports.
    pub const BASIC: u64 = 0x07ff;
    /// Every field.
    pub const ALL: u64 = 0x3fff;
}

/// `Tsetattr.valid` bits.
pub mod setattr {
    /// Set the permission bits from `mode`.
    pub const MODE: u32 = 0x001;
    /// Set the owner from `uid`.
    pub const UID: u32 = 0x002;
    /// Set the group from `gid`.
    pub const GID: u32 = 0x004;
    /// Truncate or extend to `size`.
    pub const SIZE: u32 = 0x008;
    /// Change atime (to the server's "now" unless [`ATIME_SET`]).
    pub const ATIME: u32 = 0x010;
    /// Change mtime (to the server's "now" unless [`MTIME_SET`]).
    pub const MTIME: u32 = 0x020;
    /// Change ctime (servers stamp it themselves).
    pub const CTIME: u32 = 0x040;
    /// Take atime from the request.
    pub const ATIME_SET: u32 = 0x080;
    /// Take mtime from the request.
    pub const MTIME_SET: u32 = 0x100;
    /// ZeroFS `.Z` only: record a server-chosen access time (only as `ATIME_ACCESS | ATIME`).
    pub const ATIME_ACCESS: u32 = 0x8000_0000;
}

/// Linux open flags as carried by `Tlopen`, `Tlcreate` and their ZeroFS variants (x86 values).
pub mod open {
    /// Read only.
    pub const RDONLY: u32 = 0;
    /// Write only.
    pub const WRONLY: u32 = 1;
    /// Read and write.
    pub const RDWR: u32 = 2;
    /// The access-mode bits.
    pub const ACCMODE: u32 = 3;
    /// Create if missing.
    pub const CREAT: u32 = 0o100;
    /// With `CREAT`: fail if it exists.
    pub const EXCL: u32 = 0o200;
    /// Do not become a controlling terminal.
    pub const NOCTTY: u32 = 0o400;
    /// Truncate on open.
    pub const TRUNC: u32 = 0o1000;
    /// Append on every write.
    pub const APPEND: u32 = 0o2000;
    /// Non-blocking.
    pub const NONBLOCK: u32 = 0o4000;
    /// Synchronised data writes.
    pub const DSYNC: u32 = 0o10000;
    /// Signal-driven I/O.
    pub const FASYNC: u32 = 0o20000;
    /// Direct I/O.
    pub const DIRECT: u32 = 0o40000;
    /// Large-file offsets.
    pub const LARGEFILE: u32 = 0o100000;
    /// Must be a directory.
    pub const DIRECTORY: u32 = 0o200000;
    /// Do not follow a final symlink.
    pub const NOFOLLOW: u32 = 0o400000;
    /// Do not update atime.
    pub const NOATIME: u32 = 0o1000000;
    /// Close on exec.
    pub const CLOEXEC: u32 = 0o2000000;
    /// Synchronised writes.
    pub const SYNC: u32 = 0o4000000;
    /// A path-only fid (ZeroFS 2.1+).
    pub const PATH: u32 = 0o10000000;
}

/// `st_mode` file-type bits.
pub mod mode {
    /// Mask of the type bits.
    pub const S_IFMT: u32 = 0o170000;
    /// Socket.
    pub const S_IFSOCK: u32 = 0o140000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Block device.
    pub const S_IFBLK: u32 = 0o060000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Character device.
    pub const S_IFCHR: u32 = 0o020000;
    /// FIFO.
    pub const S_IFIFO: u32 = 0o010000;
}

/// `DT_*` directory entry types (the `type` byte of a readdir entry).
pub mod dirent {
    /// Unknown.
    pub const UNKNOWN: u8 = 0;
    /// FIFO.
    pub const FIFO: u8 = 1;
    /// Character device.
    pub const CHR: u8 = 2;
    /// Directory.
    pub const DIR: u8 = 4;
    /// Block device.
    pub const BLK: u8 = 6;
    /// Regular file.
    pub const REG: u8 = 8;
    /// Symbolic link.
    pub const LNK: u8 = 10;
    /// Socket.
    pub const SOCK: u8 = 12;
}

/// `Tunlinkat.flags`.
pub mod unlinkat {
    /// Remove a directory (rmdir) instead of a non-directory.
    pub const REMOVEDIR: u32 = 0x200;
}

/// `Tlock.flags`.
pub mod lock_flags {
    /// Wait for a conflicting lock (ZeroFS answers `BLOCKED` and the client polls).
    pub const BLOCK: u32 = 1;
    /// Reclaim a lock after a server restart.
    pub const RECLAIM: u32 = 2;
}

/// `Tfallocate.mode` values ZeroFS accepts (Linux fallocate bits).
pub mod fallocate {
    /// Do not change the file size.
    pub const KEEP_SIZE: u32 = 0x01;
    /// Deallocate the range (only with `KEEP_SIZE`).
    pub const PUNCH_HOLE: u32 = 0x02;
    /// Zero the range.
    pub const ZERO_RANGE: u32 = 0x10;
}

/// `Tfsyncdur.datasync` bits (`.Z`, servers 2.3+).
pub mod fsyncdur {
    /// Data-only sync (accepted, no effect).
    pub const DATASYNC: u32 = 0x1;
    /// Limit the barrier to the fid's inode.
    pub const INODE: u32 = 0x2;
}

/// `Trebind` flags (`.Z` layout).
pub mod rebind {
    /// The rebind is part of an automatic reconnect.
    pub const REPLAY: u8 = 0x1;
    /// With `REPLAY`: the client reopens this fid next.
    pub const OPENED: u8 = 0x2;
}

/// `.Z` mutation-envelope flags.
pub mod envelope {
    /// A resend of an operation whose outcome was not seen.
    pub const RETRY: u8 = 0x1;
}

/// Linux errno values carried by `Rlerror`.
pub mod errno {
    /// Operation not permitted.
    pub const EPERM: u32 = 1;
    /// No such file or directory.
    pub const ENOENT: u32 = 2;
    /// I/O error.
    pub const EIO: u32 = 5;
    /// Bad file descriptor (fid).
    pub const EBADF: u32 = 9;
    /// Try again.
    pub const EAGAIN: u32 = 11;
    /// Out of memory.
    pub const ENOMEM: u32 = 12;
    /// Permission denied.
    pub const EACCES: u32 = 13;
    /// Device or resource busy.
    pub const EBUSY: u32 = 16;
    /// File exists.
    pub const EEXIST: u32 = 17;
    /// Cross-device link.
    pub const EXDEV: u32 = 18;
    /// Not a directory.
    pub const ENOTDIR: u32 = 20;
    /// Is a directory.
    pub const EISDIR: u32 = 21;
    /// Invalid argument.
    pub const EINVAL: u32 = 22;
    /// File too large.
    pub const EFBIG: u32 = 27;
    /// No space left on device.
    pub const ENOSPC: u32 = 28;
    /// Read-only file system.
    pub const EROFS: u32 = 30;
    /// Too many links.
    pub const EMLINK: u32 = 31;
    /// Range error.
    pub const ERANGE: u32 = 34;
    /// File name too long.
    pub const ENAMETOOLONG: u32 = 36;
    /// No locks available.
    pub const ENOLCK: u32 = 37;
    /// Function not implemented.
    pub const ENOSYS: u32 = 38;
    /// Directory not empty.
    pub const ENOTEMPTY: u32 = 39;
    /// Too many levels of symbolic links.
    pub const ELOOP: u32 = 40;
    /// No data available (no such xattr).
    pub const ENODATA: u32 = 61;
    /// Value too large for defined data type.
    pub const EOVERFLOW: u32 = 75;
    /// Operation not supported.
    pub const EOPNOTSUPP: u32 = 95;
    /// Transport endpoint is not connected (HA: not the serving leader).
    pub const ENOTCONN: u32 = 107;
    /// Cannot send after transport endpoint shutdown (HA: leadership lost).
    pub const ESHUTDOWN: u32 = 108;
    /// Connection timed out.
    pub const ETIMEDOUT: u32 = 110;
    /// Stale file handle.
    pub const ESTALE: u32 = 116;
}
