//! Bodies of the standard 9P2000.L messages (PROTOCOL.md §2.2), in type-id order.
//!
//! Empty bodies (`Rclunk`, `Rrename`, ...) are unit variants of [`Message`](crate::Message)
//! and have no struct here.

use bytes::Bytes;

use crate::coding::{Data, Packed, record};
use crate::types::{DirEntry, LockStatus, LockType, Qid, Stat};

record! {
    /// `Rlerror`: the universal error reply.
    pub struct Rlerror {
        /// Linux errno (positive); see [`consts::errno`](crate::consts::errno).
        pub ecode: u32,
    }
}

record! {
    /// `Tstatfs`: file system statistics.
    pub struct Tstatfs {
        /// Any fid on the file system.
        pub fid: u32,
    }
}

record! {
    /// `Rstatfs`.
    pub struct Rstatfs {
        /// File system type (ZeroFS: `0x5A45524F`).
        pub ty: u32,
        /// Block size.
        pub bsize: u32,
        /// Total blocks.
        pub blocks: u64,
        /// Free blocks.
        pub bfree: u64,
        /// Blocks available to unprivileged users.
        pub bavail: u64,
        /// Total inodes.
        pub files: u64,
        /// Free inodes.
        pub ffree: u64,
        /// File system id.
        pub fsid: u64,
        /// Longest name.
        pub namelen: u32,
    }
}

record! {
    /// `Tlopen`: open the file a fid names.
    pub struct Tlopen {
        /// The fid to open.
        pub fid: u32,
        /// Linux open flags.
        pub flags: u32,
    }
}

record! {
    /// `Rlopen` (also the body of `Rlopenat`).
    pub struct Rlopen {
        /// The opened file.
        pub qid: Qid,
        /// Largest I/O size the server guarantees atomic (0: derive from msize).
        pub iounit: u32,
    }
}

record! {
    /// `Tlcreate`: create and open a file; the directory fid becomes the new file.
    pub struct Tlcreate {
        /// Directory fid, turned into the opened new file.
        pub fid: u32,
        /// New file's name.
        pub name: Bytes,
        /// Linux open flags.
        pub flags: u32,
        /// Permission bits (and type bits).
        pub mode: u32,
        /// Group of the new file.
        pub gid: u32,
    }
}

record! {
    /// `Rlcreate`.
    pub struct Rlcreate {
        /// The new file.
        pub qid: Qid,
        /// Largest atomic I/O size (0: derive from msize).
        pub iounit: u32,
    }
}

record! {
    /// `Tsymlink` (also the body of `Tsymlinkattr`).
    pub struct Tsymlink {
        /// Directory fid.
        pub dfid: u32,
        /// Link name.
        pub name: Bytes,
        /// Link target, verbatim.
        pub symtgt: Bytes,
        /// Group of the link.
        pub gid: u32,
    }
}

record! {
    /// `Rsymlink`.
    pub struct Rsymlink {
        /// The new link.
        pub qid: Qid,
    }
}

record! {
    /// `Tmknod` (also the body of `Tmknodattr`).
    pub struct Tmknod {
        /// Directory fid.
        pub dfid: u32,
        /// Node name.
        pub name: Bytes,
        /// Type and permission bits.
        pub mode: u32,
        /// Device major number.
        pub major: u32,
        /// Device minor number.
        pub minor: u32,
        /// Group of the node.
        pub gid: u32,
    }
}

record! {
    /// `Rmknod`.
    pub struct Rmknod {
        /// The new node.
        pub qid: Qid,
    }
}

record! {
    /// `Trename`: move the file a fid names into another directory.
    pub struct Trename {
        /// The file.
        pub fid: u32,
        /// The destination directory.
        pub dfid: u32,
        /// The new name.
        pub name: Bytes,
    }
}

record! {
    /// `Treadlink`.
    pub struct Treadlink {
        /// The symlink.
        pub fid: u32,
    }
}

record! {
    /// `Rreadlink`.
    pub struct Rreadlink {
        /// The link target, verbatim.
        pub target: Bytes,
    }
}

record! {
    /// `Tgetattr`.
    pub struct Tgetattr {
        /// The file.
        pub fid: u32,
        /// Which fields are wanted ([`consts::getattr`](crate::consts::getattr) bits).
        pub request_mask: u64,
    }
}

record! {
    /// `Rgetattr`.
    pub struct Rgetattr {
        /// Which fields are valid.
        pub valid: u64,
        /// The attributes.
        pub stat: Stat,
    }
}

record! {
    /// `Tsetattr` (also the body of `Tsetattrattr`).
    pub struct Tsetattr {
        /// The file.
        pub fid: u32,
        /// Which fields to set ([`consts::setattr`](crate::consts::setattr) bits).
        pub valid: u32,
        /// Permission bits.
        pub mode: u32,
        /// Owner.
        pub uid: u32,
        /// Group.
        pub gid: u32,
        /// Length.
        pub size: u64,
        /// Access time, seconds.
        pub atime_sec: u64,
        /// Access time, nanoseconds.
        pub atime_nsec: u64,
        /// Modification time, seconds.
        pub mtime_sec: u64,
        /// Modification time, nanoseconds.
        pub mtime_nsec: u64,
    }
}

record! {
    /// `Txattrwalk`: open an extended attribute (or the list, with an empty name) on `newfid`.
    pub struct Txattrwalk {
        /// The file.
        pub fid: u32,
        /// The fid to read the attribute through.
        pub newfid: u32,
        /// Attribute name (empty: list names).
        pub name: Bytes,
    }
}

record! {
    /// `Rxattrwalk`.
    pub struct Rxattrwalk {
        /// Size of the attribute value.
        pub size: u64,
    }
}

record! {
    /// `Txattrcreate`: prepare a fid to write an extended attribute.
    pub struct Txattrcreate {
        /// The file (turned into the attribute fid).
        pub fid: u32,
        /// Attribute name.
        pub name: Bytes,
        /// Size of the value to be written.
        pub attr_size: u64,
        /// `setxattr(2)` flags.
        pub flags: u32,
    }
}

record! {
    /// `Treaddir` (also the body of `Treaddirattr`).
    pub struct Treaddir {
        /// An opened directory.
        pub fid: u32,
        /// Cookie to continue after (0 = start).
        pub offset: u64,
        /// Most bytes of entries wanted.
        pub count: u32,
    }
}

record! {
    /// `Rreaddir`: packed entries; an empty list means end of directory.
    pub struct Rreaddir {
        /// The entries, names zero-copy slices of the frame.
        pub entries: Vec<DirEntry> as Packed,
    }
}

record! {
    /// `Tfsync`.
    pub struct Tfsync {
        /// An opened file.
        pub fid: u32,
        /// Non-zero for a data-only sync.
        pub datasync: u32,
    }
}

record! {
    /// `Tlock`: take or release a POSIX byte-range lock.
    pub struct Tlock {
        /// An opened file.
        pub fid: u32,
        /// Lock type.
        pub ty: LockType,
        /// [`consts::lock_flags`](crate::consts::lock_flags) bits.
        pub flags: u32,
        /// First byte.
        pub start: u64,
        /// Length (0 = to end of file).
        pub length: u64,
        /// Owner process id.
        pub proc_id: u32,
        /// Owner client id.
        pub client_id: Bytes,
    }
}

record! {
    /// `Rlock`.
    pub struct Rlock {
        /// Outcome.
        pub status: LockStatus,
    }
}

record! {
    /// `Tgetlock`: test for a conflicting lock.
    pub struct Tgetlock {
        /// An opened file.
        pub fid: u32,
        /// Lock type to test.
        pub ty: LockType,
        /// First byte.
        pub start: u64,
        /// Length (0 = to end of file).
        pub length: u64,
        /// Owner process id.
        pub proc_id: u32,
        /// Owner client id.
        pub client_id: Bytes,
    }
}

record! {
    /// `Rgetlock`: the conflicting lock, or `Unlock` when none conflicts.
    pub struct Rgetlock {
        /// Lock type (`Unlock`: no conflict).
        pub ty: LockType,
        /// First byte.
        pub start: u64,
        /// Length.
        pub length: u64,
        /// Owner process id.
        pub proc_id: u32,
        /// Owner client id.
        pub client_id: Bytes,
    }
}

record! {
    /// `Tlink` (also the body of `Tlinkattr`).
    pub struct Tlink {
        /// Directory to create the link in.
        pub dfid: u32,
        /// The existing file.
        pub fid: u32,
        /// New name.
        pub name: Bytes,
    }
}

record! {
    /// `Tmkdir` (also the body of `Tmkdirattr`).
    pub struct Tmkdir {
        /// Parent directory.
        pub dfid: u32,
        /// New directory's name.
        pub name: Bytes,
        /// Permission bits.
        pub mode: u32,
        /// Group.
        pub gid: u32,
    }
}

record! {
    /// `Rmkdir`.
    pub struct Rmkdir {
        /// The new directory.
        pub qid: Qid,
    }
}

record! {
    /// `Trenameat`.
    pub struct Trenameat {
        /// Source directory.
        pub olddirfid: u32,
        /// Source name.
        pub oldname: Bytes,
        /// Destination directory.
        pub newdirfid: u32,
        /// Destination name.
        pub newname: Bytes,
    }
}

record! {
    /// `Tunlinkat`.
    pub struct Tunlinkat {
        /// Directory.
        pub dirfid: u32,
        /// Name to remove.
        pub name: Bytes,
        /// 0, or [`consts::unlinkat::REMOVEDIR`](crate::consts::unlinkat::REMOVEDIR).
        pub flags: u32,
    }
}

record! {
    /// `Tversion`: negotiate msize and dialect; resets the session.
    pub struct Tversion {
        /// Largest frame the client accepts.
        pub msize: u32,
        /// Proposed version string.
        pub version: Bytes,
    }
}

record! {
    /// `Rversion`.
    pub struct Rversion {
        /// Largest frame the server accepts.
        pub msize: u32,
        /// Granted version string, or `unknown`.
        pub version: Bytes,
    }
}

record! {
    /// `Tauth`.
    pub struct Tauth {
        /// Fid for the authentication file.
        pub afid: u32,
        /// User name.
        pub uname: Bytes,
        /// File tree to access.
        pub aname: Bytes,
        /// Numeric uid.
        pub n_uname: u32,
    }
}

record! {
    /// `Rauth`.
    pub struct Rauth {
        /// The authentication file.
        pub aqid: Qid,
    }
}

record! {
    /// `Tattach`: establish the root fid of a tree.
    pub struct Tattach {
        /// The new root fid.
        pub fid: u32,
        /// Authentication fid ([`NOFID`](crate::consts::NOFID) for none).
        pub afid: u32,
        /// User name.
        pub uname: Bytes,
        /// Tree to attach to (a server path on ZeroFS, the export on diod).
        pub aname: Bytes,
        /// Numeric uid ([`NONUNAME`](crate::consts::NONUNAME): derive from `uname`).
        pub n_uname: u32,
    }
}

record! {
    /// `Rattach`.
    pub struct Rattach {
        /// The root.
        pub qid: Qid,
    }
}

record! {
    /// `Tflush`: abort a request.
    pub struct Tflush {
        /// Tag of the request to abort.
        pub oldtag: u16,
    }
}

record! {
    /// `Twalk` (also the body of `Twalkgetattr`).
    pub struct Twalk {
        /// Starting fid.
        pub fid: u32,
        /// Fid for the result (may equal `fid`).
        pub newfid: u32,
        /// Names to walk (none: clone).
        pub wnames: Vec<Bytes>,
    }
}

record! {
    /// `Rwalk`: one qid per name walked; fewer than asked is a partial walk.
    pub struct Rwalk {
        /// The qids walked.
        pub wqids: Vec<Qid>,
    }
}

record! {
    /// `Tread`.
    pub struct Tread {
        /// An opened fid.
        pub fid: u32,
        /// File offset.
        pub offset: u64,
        /// Most bytes wanted.
        pub count: u32,
    }
}

record! {
    /// `Rread`: the bytes read (a zero-copy slice of the frame when decoded).
    pub struct Rread {
        /// Data; shorter than asked at end of file.
        pub data: Bytes as Data,
    }
}

record! {
    /// `Twrite`.
    pub struct Twrite {
        /// An opened fid.
        pub fid: u32,
        /// File offset.
        pub offset: u64,
        /// Data to write.
        pub data: Bytes as Data,
    }
}

record! {
    /// `Rwrite`.
    pub struct Rwrite {
        /// Bytes written.
        pub count: u32,
    }
}

record! {
    /// `Tclunk`: forget a fid.
    pub struct Tclunk {
        /// The fid.
        pub fid: u32,
    }
}

record! {
    /// `Tremove`: remove the file a fid names and clunk the fid.
    pub struct Tremove {
        /// The fid.
        pub fid: u32,
    }
}
