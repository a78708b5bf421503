//! [`StatFs`] and [`Capabilities`].

use zerofs_9p_proto::consts::READ_OVERHEAD;
use zerofs_9p_proto::{Dialect, Rstatfs};

/// File system statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StatFs {
    /// Block size.
    pub block_size: u32,
    /// Total blocks.
    pub blocks: u64,
    /// Free blocks.
    pub blocks_free: u64,
    /// Blocks available to unprivileged users.
    pub blocks_available: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub files_free: u64,
    /// File system id.
    pub filesystem_id: u64,
    /// Longest name component.
    pub max_name_len: u32,
}

impl From<&Rstatfs> for StatFs {
    fn from(r: &Rstatfs) -> StatFs {
        StatFs {
            block_size: r.bsize,
            blocks: r.blocks,
            blocks_free: r.bfree,
            blocks_available: r.bavail,
            files: r.files,
            files_free: r.ffree,
            filesystem_id: r.fsid,
            max_name_len: r.namelen,
        }
    }
}

/// What the current connection negotiated (a live snapshot: it may change on reconnect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Capabilities {
    /// The gen 1 ZeroFS messages are in use (`9P2000.L.zerofs` or later).
    pub extensions_v1: bool,
    /// The gen 2 ZeroFS messages are in use (`9P2000.L.zerofs2` or `9P2000.L.Z`).
    pub extensions_v2: bool,
    /// The negotiated msize.
    pub msize: u32,
    /// The largest payload one `Tread` returns.
    pub max_read_chunk: u32,
    /// The largest payload one `Twrite` carries.
    pub max_write_chunk: u32,
}

impl Capabilities {
    /// The capabilities of a session in `dialect` with `msize`.
    pub fn new(dialect: Dialect, msize: u32) -> Capabilities {
        Capabilities {
            extensions_v1: dialect.has_gen1(),
            extensions_v2: dialect.has_gen2(),
            msize,
            max_read_chunk: msize.saturating_sub(READ_OVERHEAD),
            max_write_chunk: dialect.max_write_payload(msize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_msize_and_dialect() {
        let c = Capabilities::new(Dialect::Zerofs2, 1 << 20);
        assert!(c.extensions_v1 && c.extensions_v2);
        assert_eq!(
            (c.max_read_chunk, c.max_write_chunk),
            ((1 << 20) - 11, (1 << 20) - 23)
        );
        let p = Capabilities::new(Dialect::Plain, 8192);
        assert!(!p.extensions_v1 && !p.extensions_v2);
        assert_eq!(
            Capabilities::new(Dialect::Z, 8192).max_write_chunk,
            8192 - 48
        );
    }

    #[test]
    fn statfs_takes_every_field() {
        let r = Rstatfs {
            ty: 1,
            bsize: 4096,
            blocks: 2,
            bfree: 3,
            bavail: 4,
            files: 5,
            ffree: 6,
            fsid: 7,
            namelen: 255,
        };
        let s = StatFs::from(&r);
        assert_eq!(
            (
                s.block_size,
                s.blocks,
                s.blocks_free,
                s.blocks_available,
                s.files,
                s.files_free,
                s.filesystem_id,
                s.max_name_len
            ),
            (4096, 2, 3, 4, 5, 6, 7, 255)
        );
    }
}
