//! [`DirEntry`] and [`NodeKind`].

use zerofs_9p_proto::consts::mode;

use super::metadata::{FileType, Metadata};

/// One entry of a directory listing (`.` and `..` are never returned).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DirEntry {
    /// The name, lossily decoded as UTF-8 (for display).
    pub name: String,
    /// The exact name bytes: authoritative, and what to pass to the `Dir::*_at` methods.
    pub name_bytes: Vec<u8>,
    /// Whether `name_bytes` is valid UTF-8 (then `name` is exact).
    pub name_is_utf8: bool,
    /// The entry's kind.
    pub file_type: FileType,
    /// Inode id.
    pub ino: u64,
    /// Full attributes, when the server sent them with the listing (ZeroFS dialects).
    pub metadata: Option<Metadata>,
}

impl DirEntry {
    /// An entry named `name_bytes`.
    pub(crate) fn new(
        name_bytes: &[u8],
        file_type: FileType,
        ino: u64,
        metadata: Option<Metadata>,
    ) -> DirEntry {
        let (name, name_is_utf8) = match std::str::from_utf8(name_bytes) {
            Ok(s) => (s.to_owned(), true),
            Err(_) => (String::from_utf8_lossy(name_bytes).into_owned(), false),
        };
        DirEntry {
            name,
            name_bytes: name_bytes.to_vec(),
            name_is_utf8,
            file_type,
            ino,
            metadata,
        }
    }
}

/// The kind of special node `mknod` creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum NodeKind {
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Block device.
    BlockDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Character device.
    CharDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
}

impl NodeKind {
    /// The `mode`, `major` and `minor` fields of `Tmknod` for permission bits `perm`.
    pub(crate) fn to_wire(self, perm: u32) -> (u32, u32, u32) {
        let perm = perm & 0o7777;
        match self {
            NodeKind::Fifo => (mode::S_IFIFO | perm, 0, 0),
            NodeKind::Socket => (mode::S_IFSOCK | perm, 0, 0),
            NodeKind::BlockDevice { major, minor } => (mode::S_IFBLK | perm, major, minor),
            NodeKind::CharDevice { major, minor } => (mode::S_IFCHR | perm, major, minor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_exact_bytes() {
        let e = DirEntry::new(b"\xff\xfe-x", FileType::File, 7, None);
        assert!(!e.name_is_utf8);
        assert_eq!(e.name_bytes, b"\xff\xfe-x");
        assert!(e.name.ends_with("-x"));
        let u = DirEntry::new("é".as_bytes(), FileType::Dir, 8, None);
        assert!(u.name_is_utf8);
        assert_eq!(u.name, "é");
    }

    #[test]
    fn node_kinds_encode_type_bits() {
        assert_eq!(
            NodeKind::Fifo.to_wire(0o100644),
            (mode::S_IFIFO | 0o644, 0, 0)
        );
        assert_eq!(
            NodeKind::CharDevice { major: 1, minor: 3 }.to_wire(0o600),
            (mode::S_IFCHR | 0o600, 1, 3)
        );
        assert_eq!(
            NodeKind::BlockDevice { major: 8, minor: 1 }
                .to_wire(0o600)
                .0
                & mode::S_IFMT,
            mode::S_IFBLK
        );
        assert_eq!(NodeKind::Socket.to_wire(0o777).0, mode::S_IFSOCK | 0o777);
    }
}
