//! The scripts, one per area, and the reasons of the deliberate differences they annotate.

mod dirs;
mod files;
mod misc;
mod namespace;

pub use dirs::*;
pub use files::*;
pub use misc::*;
pub use namespace::*;

/// diod reports a fid it does not know as EIO.
pub const DIOD_BAD_FID: &str =
    "diod answers any request on an unknown fid with EIO (ZeroFS: EBADF)";
/// diod's Tlcreate/Tlopen on an opened fid.
pub const DIOD_OPENED_FID: &str =
    "diod answers Tlopen/Tlcreate on an already opened fid with EINVAL (ZeroFS: EBUSY)";
/// diod passes the open flags to open(2).
pub const DIOD_OPEN_FLAGS: &str = "diod opens with open(2): directories only read-only, O_DIRECTORY on a file is ENOTDIR, \
     O_TRUNC truncates, O_APPEND appends; ZeroFS 0.19.1 ignores those flags";
/// diod enforces the access mode.
pub const DIOD_ACCESS_MODE: &str =
    "diod refuses I/O outside the fid's open mode with EBADF; ZeroFS 0.19.1 does not check it";
/// diod says ENOTDIR where ZeroFS says EACCES.
pub const DIOD_NOT_DIR: &str = "diod answers a create/link in a fid that is not a directory with ENOTDIR (ZeroFS 0.19.1: EACCES)";
/// Partial walks.
pub const DIOD_PARTIAL_WALK: &str = "diod answers a walk whose later name fails with a partial Rwalk and keeps newfid; \
     ZeroFS 0.19.1 answers Rlerror and creates nothing";
/// `.` and `..`.
pub const ZEROFS_DOTS: &str =
    "ZeroFS 0.19.1 has no `.`/`..` entries to walk (ENOENT); diod walks them";
/// diod lets a request reuse an in-use fid.
pub const DIOD_FID_IN_USE: &str =
    "diod accepts a walk/attach onto a newfid already in use; ZeroFS answers EINVAL";
/// Clunk of an unknown fid.
pub const DIOD_CLUNK: &str = "diod answers Tclunk of an unknown fid with EIO; ZeroFS with Rclunk";
/// Lookups of over-long names.
pub const ZEROFS_LONG_LOOKUP: &str =
    "ZeroFS 0.19.1 looks up a name over 255 bytes and answers ENOENT; diod ENAMETOOLONG";
/// diod's posix semantics for unlinked open files.
pub const DIOD_ORPHAN: &str =
    "diod keeps an unlinked open file readable (POSIX); ZeroFS 0.19.1 answers ENOENT";
