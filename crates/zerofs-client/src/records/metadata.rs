//! [`Metadata`] and [`FileType`]: attributes as the server reports them.

use std::time::SystemTime;

use zerofs_9p_proto::Stat;
use zerofs_9p_proto::consts::mode;

use super::time::Timestamp;

/// The kind of a file system node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum FileType {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Anything else.
    Unknown,
}

impl FileType {
    /// The type named by the `S_IF*` bits of a mode.
    pub const fn from_mode(st_mode: u32) -> FileType {
        match st_mode & mode::S_IFMT {
            mode::S_IFREG => FileType::File,
            mode::S_IFDIR => FileType::Dir,
            mode::S_IFLNK => FileType::Symlink,
            mode::S_IFIFO => FileType::Fifo,
            mode::S_IFSOCK => FileType::Socket,
            mode::S_IFCHR => FileType::CharDevice,
            mode::S_IFBLK => FileType::BlockDevice,
            _ => FileType::Unknown,
        }
    }

    /// Whether this is a regular file.
    pub fn is_file(self) -> bool {
        self == FileType::File
    }

    /// Whether this is a directory.
    pub fn is_dir(self) -> bool {
        self == FileType::Dir
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(self) -> bool {
        self == FileType::Symlink
    }

    /// Whether this is a named pipe (as `std::os::unix::fs::FileTypeExt`).
    pub fn is_fifo(self) -> bool {
        self == FileType::Fifo
    }

    /// Whether this is a unix socket.
    pub fn is_socket(self) -> bool {
        self == FileType::Socket
    }

    /// Whether this is a character device.
    pub fn is_char_device(self) -> bool {
        self == FileType::CharDevice
    }

    /// Whether this is a block device.
    pub fn is_block_device(self) -> bool {
        self == FileType::BlockDevice
    }

    /// The type named by a readdir `DT_*` byte.
    pub const fn from_dirent(ty: u8) -> FileType {
        use zerofs_9p_proto::consts::dirent;
        match ty {
            dirent::REG => FileType::File,
            dirent::DIR => FileType::Dir,
            dirent::LNK => FileType::Symlink,
            dirent::FIFO => FileType::Fifo,
            dirent::SOCK => FileType::Socket,
            dirent::CHR => FileType::CharDevice,
            dirent::BLK => FileType::BlockDevice,
            _ => FileType::Unknown,
        }
    }
}

/// A node's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Metadata {
    /// Inode id (`qid.path`); stable, never reused by ZeroFS.
    pub ino: u64,
    /// The node's kind.
    pub file_type: FileType,
    /// Full `st_mode`, type bits included.
    pub mode: u32,
    /// Hard link count.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Length in bytes (symlinks: target length; directories: 0 on ZeroFS).
    pub size: u64,
    /// Preferred I/O block size.
    pub block_size: u64,
    /// Allocated 512-byte blocks.
    pub blocks: u64,
    /// Device number of a device node.
    pub rdev: u64,
    /// Last access.
    pub atime: Timestamp,
    /// Last modification.
    pub mtime: Timestamp,
    /// Last status change.
    pub ctime: Timestamp,
    /// Creation (reserved: ZeroFS reports 0).
    pub btime: Timestamp,
    /// Data version (reserved: ZeroFS reports 0).
    pub data_version: u64,
}

impl Metadata {
    /// The metadata of a wire stat block.
    pub fn from_stat(stat: &Stat) -> Metadata {
        Metadata {
            ino: stat.qid.path,
            file_type: FileType::from_mode(stat.mode),
            mode: stat.mode,
            nlink: stat.nlink,
            uid: stat.uid,
            gid: stat.gid,
            size: stat.size,
            block_size: stat.blksize,
            blocks: stat.blocks,
            rdev: stat.rdev,
            atime: Timestamp::from_wire(stat.atime_sec, stat.atime_nsec),
            mtime: Timestamp::from_wire(stat.mtime_sec, stat.mtime_nsec),
            ctime: Timestamp::from_wire(stat.ctime_sec, stat.ctime_nsec),
            btime: Timestamp::from_wire(stat.btime_sec, stat.btime_nsec),
            data_version: stat.data_version,
        }
    }

    /// The length in bytes (`size`), as `std::fs::Metadata::len`.
    #[allow(clippy::len_without_is_empty)] // std's Metadata has no is_empty either
    pub fn len(&self) -> u64 {
        self.size
    }

    /// The node's kind (the `file_type` field), as `std::fs::Metadata::file_type`.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.file_type == FileType::File
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type == FileType::Dir
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.file_type == FileType::Symlink
    }

    /// The permission bits (`mode & 0o7777`).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }

    /// The modification time.
    pub fn modified(&self) -> SystemTime {
        self.mtime.into()
    }

    /// The access time.
    pub fn accessed(&self) -> SystemTime {
        self.atime.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_stat_maps_every_field() {
        let stat = Stat {
            mode: mode::S_IFREG | 0o4644,
            nlink: 2,
            uid: 7,
            gid: 8,
            size: 17,
            blksize: 4096,
            blocks: 1,
            mtime_sec: 1_700_000_000,
            mtime_nsec: 42,
            ..Stat::default()
        };
        let m = Metadata::from_stat(&stat);
        assert!(m.is_file() && !m.is_dir() && !m.is_symlink());
        assert_eq!((m.len(), m.file_type()), (17, FileType::File));
        assert!(m.file_type().is_file() && !m.file_type().is_dir());
        assert_eq!(m.permissions(), 0o4644);
        assert_eq!(
            (m.nlink, m.uid, m.gid, m.size, m.block_size, m.blocks),
            (2, 7, 8, 17, 4096, 1)
        );
        assert_eq!(m.mtime, Timestamp::new(1_700_000_000, 42));
    }

    #[test]
    fn file_types_from_mode_and_dirent_agree() {
        use zerofs_9p_proto::dirent_type_for_mode;
        for bits in [
            mode::S_IFREG,
            mode::S_IFDIR,
            mode::S_IFLNK,
            mode::S_IFIFO,
            mode::S_IFSOCK,
            mode::S_IFCHR,
            mode::S_IFBLK,
        ] {
            let from_mode = FileType::from_mode(bits);
            assert_ne!(from_mode, FileType::Unknown);
            assert_eq!(FileType::from_dirent(dirent_type_for_mode(bits)), from_mode);
        }
        assert_eq!(FileType::from_mode(0), FileType::Unknown);
        let preds: [fn(FileType) -> bool; 7] = [
            FileType::is_file,
            FileType::is_dir,
            FileType::is_symlink,
            FileType::is_fifo,
            FileType::is_socket,
            FileType::is_char_device,
            FileType::is_block_device,
        ];
        let kinds = [
            FileType::File,
            FileType::Dir,
            FileType::Symlink,
            FileType::Fifo,
            FileType::Socket,
            FileType::CharDevice,
            FileType::BlockDevice,
        ];
        for (i, k) in kinds.into_iter().enumerate() {
            for (j, pred) in preds.iter().enumerate() {
                assert_eq!(pred(k), i == j, "{k:?} predicate {j}");
            }
            assert!(preds.iter().all(|p| !p(FileType::Unknown)));
        }
    }
}
