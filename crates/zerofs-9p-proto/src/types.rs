//! Shared wire records: qids, the ZeroFS stat block, directory entries, lock enumerations and
//! the `.Z` mutation envelope.

use core::fmt;

use bytes::{BufMut, Bytes};

use crate::coding::{Codec, Decoded, Limited, Source, byte_enum, record, take};
use crate::consts::{dirent, envelope, mode};

/// The type bits of a [`Qid`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QidType(pub u8);

impl QidType {
    /// Directory.
    pub const DIR: QidType = QidType(0x80);
    /// Append-only file.
    pub const APPEND: QidType = QidType(0x40);
    /// Exclusive-use file.
    pub const EXCL: QidType = QidType(0x20);
    /// Mount point.
    pub const MOUNT: QidType = QidType(0x10);
    /// Authentication file.
    pub const AUTH: QidType = QidType(0x08);
    /// Temporary file.
    pub const TMP: QidType = QidType(0x04);
    /// Symbolic link.
    pub const SYMLINK: QidType = QidType(0x02);
    /// Hard link.
    pub const LINK: QidType = QidType(0x01);
    /// Plain file (and, on ZeroFS, every other non-directory, non-symlink node).
    pub const FILE: QidType = QidType(0x00);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: QidType) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether this names a directory.
    pub const fn is_dir(self) -> bool {
        self.0 & Self::DIR.0 != 0
    }

    /// Whether this names a symbolic link.
    pub const fn is_symlink(self) -> bool {
        self.0 & Self::SYMLINK.0 != 0
    }
}

impl fmt::Debug for QidType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QidType({:#04x})", self.0)
    }
}

impl Codec for QidType {
    fn decode<'a>(input: &'a [u8], src: Source<'_>) -> Decoded<'a, Self> {
        u8::decode(input, src).map(|(rest, b)| (rest, QidType(b)))
    }
    fn encode<B: BufMut + ?Sized>(&self, buf: &mut B) {
        buf.put_u8(self.0);
    }
    fn encoded_len(&self) -> usize {
        1
    }
}

impl Limited for QidType {}

record! {
    /// A server's unique identification of a file (13 bytes).
    #[derive(Copy, Hash)]
    pub struct Qid {
        /// Type bits.
        pub ty: QidType,
        /// Version (ZeroFS: mtime seconds truncated to 32 bits).
        pub version: u32,
        /// Unique id (ZeroFS: the inode id, never reused).
        pub path: u64,
    }
}

record! {
    /// The 145-byte attribute block of `Rgetattr` (after `valid`) and of every ZeroFS `*attr`
    /// reply; identical in every ZeroFS dialect.
    #[derive(Copy, Hash)]
    pub struct Stat {
        /// The file's qid.
        pub qid: Qid,
        /// `st_mode`, including the `S_IF*` type bits.
        pub mode: u32,
        /// Owner.
        pub uid: u32,
        /// Group.
        pub gid: u32,
        /// Hard link count.
        pub nlink: u64,
        /// Device number of a device node.
        pub rdev: u64,
        /// Length in bytes.
        pub size: u64,
        /// Preferred I/O block size.
        pub blksize: u64,
        /// Allocated 512-byte blocks.
        pub blocks: u64,
        /// Access time, seconds.
        pub atime_sec: u64,
        /// Access time, nanoseconds.
        pub atime_nsec: u64,
        /// Modification time, seconds.
        pub mtime_sec: u64,
        /// Modification time, nanoseconds.
        pub mtime_nsec: u64,
        /// Change time, seconds.
        pub ctime_sec: u64,
        /// Change time, nanoseconds.
        pub ctime_nsec: u64,
        /// Birth time, seconds.
        pub btime_sec: u64,
        /// Birth time, nanoseconds.
        pub btime_nsec: u64,
        /// Generation number (`gen` on the wire).
        pub generation: u64,
        /// Data version.
        pub data_version: u64,
    }
}

impl Stat {
    /// Length of the encoded block.
    pub const LEN: usize = 145;

    /// The `S_IF*` type bits of `mode`.
    pub const fn file_type_bits(&self) -> u32 {
        self.mode & mode::S_IFMT
    }
}

record! {
    /// One entry of an `Rreaddir` payload: `qid[13] offset[8] type[1] name[s]`.
    pub struct DirEntry {
        /// The entry's qid.
        pub qid: Qid,
        /// Cookie to continue reading after this entry.
        pub offset: u64,
        /// `DT_*` type (see [`consts::dirent`](crate::consts::dirent)).
        pub ty: u8,
        /// Name bytes, exactly as on the wire.
        pub name: Bytes,
    }
}

impl DirEntry {
    /// The encoded length of an entry named `name_len` bytes.
    pub const fn len_for_name(name_len: usize) -> usize {
        13 + 8 + 1 + 2 + name_len
    }
}

record! {
    /// One entry of an `Rreaddirattr` payload: a [`DirEntry`] followed by its [`Stat`].
    pub struct DirEntryPlus {
        /// The entry's qid.
        pub qid: Qid,
        /// Cookie to continue reading after this entry.
        pub offset: u64,
        /// `DT_*` type.
        pub ty: u8,
        /// Name bytes, exactly as on the wire.
        pub name: Bytes,
        /// The entry's attributes.
        pub stat: Stat,
    }
}

impl DirEntryPlus {
    /// The encoded length of an entry named `name_len` bytes.
    pub const fn len_for_name(name_len: usize) -> usize {
        DirEntry::len_for_name(name_len) + Stat::LEN
    }
}

/// The `DT_*` value for the `S_IF*` type bits of a mode.
pub const fn dirent_type_for_mode(st_mode: u32) -> u8 {
    match st_mode & mode::S_IFMT {
        mode::S_IFDIR => dirent::DIR,
        mode::S_IFREG => dirent::REG,
        mode::S_IFLNK => dirent::LNK,
        mode::S_IFIFO => dirent::FIFO,
        mode::S_IFSOCK => dirent::SOCK,
        mode::S_IFCHR => dirent::CHR,
        mode::S_IFBLK => dirent::BLK,
        _ => dirent::UNKNOWN,
    }
}

byte_enum! {
    /// A POSIX byte-range lock type (`Tlock.type`, `Tgetlock.type`, `Rgetlock.type`).
    ///
    /// Exhaustive: the three values are fixed by 9P2000.L (Linux's `F_RDLCK`, `F_WRLCK`,
    /// `F_UNLCK`); no dialect changes them, and another byte is a decode error.
    #[derive(Default)]
    pub enum LockType {
        /// Shared read lock.
        #[default]
        Read = 0,
        /// Exclusive write lock.
        Write = 1,
        /// Unlock / no conflicting lock.
        Unlock = 2,
    }
}

byte_enum! {
    /// The outcome of a `Tlock` (`Rlock.status`).
    ///
    /// Exhaustive: the four statuses are fixed by 9P2000.L; another byte is a decode error.
    #[derive(Default)]
    pub enum LockStatus {
        /// The lock was granted (or released).
        #[default]
        Success = 0,
        /// A conflicting lock is held; retry later.
        Blocked = 1,
        /// The lock failed.
        Error = 2,
        /// The server is in its grace period.
        Grace = 3,
    }
}

/// The 16-byte id of a `.Z` mutation; all zeros disables de-duplication.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OpId(pub [u8; 16]);

impl OpId {
    /// The all-zero id: the server does not de-duplicate the operation.
    pub const NONE: OpId = OpId([0; 16]);

    /// Whether this is the all-zero "no de-duplication" id.
    pub fn is_none(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Debug for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

impl Codec for OpId {
    fn decode<'a>(input: &'a [u8], _src: Source<'_>) -> Decoded<'a, Self> {
        let (rest, raw) = take(input, 16)?;
        let mut id = [0; 16];
        id.copy_from_slice(raw);
        Ok((rest, OpId(id)))
    }
    fn encode<B: BufMut + ?Sized>(&self, buf: &mut B) {
        buf.put_slice(&self.0);
    }
    fn encoded_len(&self) -> usize {
        16
    }
}

impl Limited for OpId {}

record! {
    /// The 25-byte `.Z` mutation envelope that sits between the header and the body of covered
    /// requests (see [`Dialect::has_envelope`](crate::Dialect::has_envelope)).
    ///
    /// `flags` is kept raw: servers answer unknown bits with `ESTALE`, so the codec must carry
    /// them rather than refuse them.
    #[derive(Copy, Hash)]
    pub struct Envelope {
        /// Operation id, kept across resends.
        pub op_id: OpId,
        /// Bit 0 is RETRY; other bits are invalid.
        pub flags: u8,
        /// The writer epoch seen when the operation was first sent (0 standalone).
        pub origin_epoch: u64,
    }
}

impl Envelope {
    /// The all-zero envelope: no de-duplication.
    pub const NONE: Envelope = Envelope {
        op_id: OpId::NONE,
        flags: 0,
        origin_epoch: 0,
    };

    /// Whether the RETRY flag is set.
    pub const fn is_retry(&self) -> bool {
        self.flags & envelope::RETRY != 0
    }

    /// Whether the server should de-duplicate this operation (a non-zero op-id).
    pub fn deduplicates(&self) -> bool {
        !self.op_id.is_none()
    }
}

/// The credential payload a `.Z` `Trebind` may carry in `uname` instead of a user name.
///
/// Layout: `0xFF` sentinel, `0x01` version, `gid[4]`, `ngroups[1]` (bit 7 = list incomplete,
/// low 7 bits = count, at most 16), then `count` × `gid[4]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// Primary group.
    pub gid: u32,
    /// Supplementary groups (at most 16).
    pub groups: Vec<u32>,
    /// Whether the group list was truncated by the client.
    pub incomplete: bool,
}

impl Credentials {
    /// The most supplementary groups the payload carries.
    pub const MAX_GROUPS: usize = 16;

    /// Parses a credential payload; `None` if `raw` is not a well-formed one.
    pub fn parse(raw: &[u8]) -> Option<Credentials> {
        let (&[0xFF, 0x01, g0, g1, g2, g3, n], rest) = raw.split_first_chunk::<7>()? else {
            return None;
        };
        let count = usize::from(n & 0x7f);
        if count > Self::MAX_GROUPS || rest.len() != 4 * count {
            return None;
        }
        let groups = rest
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Some(Credentials {
            gid: u32::from_le_bytes([g0, g1, g2, g3]),
            groups,
            incomplete: n & 0x80 != 0,
        })
    }

    /// Encodes the payload (groups beyond 16 are dropped and the list marked incomplete).
    pub fn to_bytes(&self) -> Bytes {
        let count = self.groups.len().min(Self::MAX_GROUPS);
        let incomplete = self.incomplete || self.groups.len() > Self::MAX_GROUPS;
        let mut out = Vec::with_capacity(7 + 4 * count);
        out.extend_from_slice(&[0xFF, 0x01]);
        out.extend_from_slice(&self.gid.to_le_bytes());
        out.push(count as u8 | if incomplete { 0x80 } else { 0 });
        for g in &self.groups[..count] {
            out.extend_from_slice(&g.to_le_bytes());
        }
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip<T: Codec + PartialEq + fmt::Debug>(value: &T) {
        let mut buf = Vec::new();
        value.encode(&mut buf);
        assert_eq!(buf.len(), value.encoded_len());
        let frame = Bytes::from(buf);
        let (rest, back) = T::decode(&frame, Source::new(&frame)).unwrap();
        assert!(rest.is_empty());
        assert_eq!(&back, value);
    }

    #[test]
    fn stat_block_is_145_bytes() {
        let stat = Stat {
            size: 7,
            mode: mode::S_IFREG | 0o644,
            ..Stat::default()
        };
        assert_eq!(stat.encoded_len(), Stat::LEN);
        roundtrip(&stat);
    }

    #[test]
    fn dirent_lengths_match_the_layout() {
        let e = DirEntry {
            name: Bytes::from_static(b"abc"),
            ..DirEntry::default()
        };
        assert_eq!(e.encoded_len(), DirEntry::len_for_name(3));
        let p = DirEntryPlus {
            name: Bytes::from_static(b"abc"),
            ..DirEntryPlus::default()
        };
        assert_eq!(p.encoded_len(), 169 + 3);
        roundtrip(&e);
        roundtrip(&p);
    }

    #[test]
    fn lock_type_rejects_unknown_bytes() {
        let frame = Bytes::from_static(&[3]);
        assert!(LockType::decode(&frame, Source::new(&frame)).is_err());
        roundtrip(&LockType::Unlock);
        roundtrip(&LockStatus::Grace);
    }

    #[test]
    fn envelope_is_25_bytes() {
        let env = Envelope {
            op_id: OpId([7; 16]),
            flags: envelope::RETRY,
            origin_epoch: 9,
        };
        assert_eq!(env.encoded_len(), 25);
        assert!(env.is_retry() && env.deduplicates());
        assert!(!Envelope::NONE.deduplicates());
        roundtrip(&env);
    }

    #[test]
    fn credentials_round_trip_and_reject_bad_lengths() {
        let c = Credentials {
            gid: 42,
            groups: vec![1, 2, 3],
            incomplete: false,
        };
        let raw = c.to_bytes();
        assert_eq!(raw.len(), 7 + 12);
        assert_eq!(Credentials::parse(&raw), Some(c));
        assert_eq!(Credentials::parse(&raw[..raw.len() - 1]), None);
        assert_eq!(Credentials::parse(b"root"), None);
        let many = Credentials {
            gid: 0,
            groups: (0..20).collect(),
            incomplete: false,
        };
        let parsed = Credentials::parse(&many.to_bytes()).unwrap();
        assert_eq!(parsed.groups.len(), 16);
        assert!(parsed.incomplete);
    }

    #[test]
    fn dirent_type_follows_mode() {
        assert_eq!(dirent_type_for_mode(mode::S_IFDIR | 0o755), dirent::DIR);
        assert_eq!(dirent_type_for_mode(mode::S_IFLNK), dirent::LNK);
        assert_eq!(dirent_type_for_mode(0), dirent::UNKNOWN);
    }
}
