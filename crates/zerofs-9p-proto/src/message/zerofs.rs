//! Bodies of the ZeroFS private messages (PROTOCOL.md §3), in type-id order.
//!
//! Private requests whose body equals a standard one reuse that struct: `Twalkgetattr` is a
//! [`Twalk`](super::Twalk), `Treaddirattr` a [`Treaddir`](super::Treaddir), `Tmkdirattr` a
//! [`Tmkdir`](super::Tmkdir), and so on.

use bytes::Bytes;

use crate::coding::{Data, Flag, Packed, record};
use crate::types::{DirEntryPlus, Qid, Stat};

record! {
    /// `Tfallocate` (`.Z`): allocate, punch or zero a range.
    pub struct Tfallocate {
        /// A fid opened for writing.
        pub fid: u32,
        /// First byte.
        pub offset: u64,
        /// Length of the range.
        pub length: u64,
        /// [`consts::fallocate`](crate::consts::fallocate) bits: 0, 0x03, 0x10 or 0x11.
        pub mode: u32,
    }
}

record! {
    /// `Tlopenatread` (`.Z`): clone, open and read the start of a file in one round trip.
    pub struct Tlopenatread {
        /// Source fid (left untouched).
        pub fid: u32,
        /// Fid to open.
        pub newfid: u32,
        /// Linux open flags.
        pub flags: u32,
        /// Most bytes to prefetch from offset 0.
        pub count: u32,
    }
}

record! {
    /// `Rlopenatread`.
    pub struct Rlopenatread {
        /// The opened file.
        pub qid: Qid,
        /// Largest atomic I/O size.
        pub iounit: u32,
        /// Whether `data` is the whole file.
        pub eof: bool as Flag,
        /// Prefetched bytes from offset 0 (a zero-copy slice of the frame when decoded).
        pub data: Bytes as Data,
    }
}

record! {
    /// `Tfsyncdur` (`.Z`): a durability barrier checked against a lineage token; answered by
    /// `Rfsync`.
    pub struct Tfsyncdur {
        /// The file.
        pub fid: u32,
        /// [`consts::fsyncdur`](crate::consts::fsyncdur) bits.
        pub datasync: u32,
        /// Lineage token (0: nothing pending).
        pub token: u64,
    }
}

record! {
    /// `Rgetlineage` (`.Z` layout).
    pub struct Rgetlineage {
        /// The live lineage token.
        pub token: u64,
        /// The writer epoch (0 on a standalone server).
        pub writer_epoch: u64,
    }
}

record! {
    /// `Tlopenat` (gen 2): clone `fid` to `newfid` and open `newfid`.
    pub struct Tlopenat {
        /// Source fid (left untouched).
        pub fid: u32,
        /// Fid to open.
        pub newfid: u32,
        /// Linux open flags.
        pub flags: u32,
    }
}

record! {
    /// `Tlcreateattr` (gen 2): create and open a child on `newfid`, leaving `dfid` unchanged.
    pub struct Tlcreateattr {
        /// Directory fid.
        pub dfid: u32,
        /// Fid for the new, opened file.
        pub newfid: u32,
        /// New file's name.
        pub name: Bytes,
        /// Linux open flags.
        pub flags: u32,
        /// Type and permission bits.
        pub mode: u32,
        /// Group.
        pub gid: u32,
    }
}

record! {
    /// `Rlcreateattr`: the new file's stat (its qid is inside).
    pub struct Rlcreateattr {
        /// Largest atomic I/O size.
        pub iounit: u32,
        /// The new file.
        pub stat: Stat,
    }
}

record! {
    /// The reply of `Tmkdirattr`, `Tsymlinkattr`, `Tmknodattr`, `Tlinkattr` and `Tsetattrattr`:
    /// the post-operation stat.
    pub struct AttrReply {
        /// The attributes after the operation.
        pub stat: Stat,
    }
}

record! {
    /// `Trebind` in the gen 1 / gen 2 layout: bind an unused fid to an inode.
    pub struct Trebind {
        /// Unused fid to bind.
        pub fid: u32,
        /// Inode id (`qid.path`) to bind it to.
        pub inode_id: u64,
        /// Numeric uid of the fid's owner.
        pub n_uname: u32,
    }
}

record! {
    /// `Trebind` in the `.Z` layout.
    pub struct TrebindZ {
        /// Unused fid to bind.
        pub fid: u32,
        /// Inode id to bind it to.
        pub inode_id: u64,
        /// Attach-root inode the original fid belonged to.
        pub root_inode: u64,
        /// [`consts::rebind`](crate::consts::rebind) bits.
        pub flags: u8,
        /// Attach user name, or a [`Credentials`](crate::Credentials) payload.
        pub uname: Bytes,
        /// Numeric uid.
        pub n_uname: u32,
    }
}

record! {
    /// `Rrebind`.
    pub struct Rrebind {
        /// The bound inode.
        pub qid: Qid,
    }
}

record! {
    /// `Rwalkgetattr`: the walked qids and the stat of the last one (all-or-nothing).
    pub struct Rwalkgetattr {
        /// The qids walked.
        pub wqids: Vec<Qid>,
        /// Attributes of the last element (of `fid` itself for a clone).
        pub stat: Stat,
    }
}

record! {
    /// `Rreaddirattr`: entries with their stats; an empty list means end of directory.
    pub struct Rreaddirattr {
        /// The entries.
        pub entries: Vec<DirEntryPlus> as Packed,
    }
}
