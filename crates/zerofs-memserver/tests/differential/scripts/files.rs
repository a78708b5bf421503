//! Regular files: create/open, read/write, getattr/setattr.

use zerofs_9p_proto::Tsetattr;
use zerofs_9p_proto::consts::errno::*;
use zerofs_9p_proto::consts::open::*;
use zerofs_9p_proto::consts::setattr as sa;

use super::*;
use crate::normalise::{Data, Norm, err, file};
use crate::script::*;
use crate::servers::Kind::*;
use crate::steps::*;

const DIOD_CREATE: &str = "diod's Tlcreate without O_EXCL opens an existing file; ZeroFS 0.19.1 creates are always exclusive";

/// Tlcreate and Tlopen: exclusivity, flags, EBUSY, EISDIR, ENOTDIR.
pub fn create_open() -> Script {
    let mut s = Script::new("create_open");
    s.extend([
        walk("d", "c1", &[]),
        lcreate("c1", "f", RDWR, 0o644),
        getattr("c1"),
        lopen("c1", RDONLY).differs(Diod, err(EINVAL), DIOD_OPENED_FID),
        walk("d", "c2", &[]),
        lcreate("c2", "f", RDWR, 0o644).differs(
            Diod,
            Norm::Opened(zerofs_9p_proto::MessageType::Rlcreate, 0),
            DIOD_CREATE,
        ),
        walk("d", "c3", &[]),
        lcreate("c3", "f", RDWR | EXCL, 0o644),
        walk("d", "c4", &[]),
        lcreate("c4", "f", RDWR | CREAT | EXCL, 0o600),
        walk("d", "f1", &["f"]),
        lopen("f1", RDONLY),
        lopen("f1", RDONLY).differs(Diod, err(EINVAL), DIOD_OPENED_FID),
        clunk("f1"),
        walk("d", "f2", &["f"]),
        lopen("f2", WRONLY | NOCTTY | LARGEFILE | CLOEXEC | NOATIME),
        walk("d", "dir", &[]),
        lopen("dir", RDONLY),
        walk("d", "dirw", &[]),
        lopen("dirw", WRONLY).differs(Diod, err(EISDIR), DIOD_OPEN_FLAGS),
        walk("d", "dirrw", &[]),
        lopen("dirrw", RDWR).differs(Diod, err(EISDIR), DIOD_OPEN_FLAGS),
        walk("d", "dirdir", &[]),
        lopen("dirdir", RDONLY | DIRECTORY),
        walk("d", "fdir", &["f"]),
        lopen("fdir", RDONLY | DIRECTORY).differs(Diod, err(ENOTDIR), DIOD_OPEN_FLAGS),
        walk("d", "ff", &["f"]),
        lcreate("ff", "child", RDWR, 0o644).differs(Diod, err(ENOTDIR), DIOD_NOT_DIR),
        walk("d", "c5", &[]),
        lcreate("c5", &"x".repeat(256), RDWR, 0o644),
        walk("d", "c6", &[]),
        lcreate("c6", &"y".repeat(255), RDWR, 0o640),
        getattr("c6"),
        walk("d", "c7", &[]),
        lopen("c7", RDONLY),
        lcreate("c7", "g", RDWR, 0o644).differs(Diod, err(EINVAL), DIOD_OPENED_FID),
        lcreate("nofid", "h", RDWR, 0o644).differs(Diod, err(EIO), DIOD_BAD_FID),
        lopen("nofid", RDONLY).differs(Diod, err(EIO), DIOD_BAD_FID),
        walk("d", "c8", &[]),
        lcreate("c8", "ro", RDONLY, 0o444),
        getattr("c8"),
        walk("d", "c9", &[]),
        lcreate("c9", "modes", RDWR, 0o4755),
        getattr("c9"),
    ]);
    s
}

fn data(d: &[u8]) -> Norm {
    Norm::Data(Data(d.to_vec()))
}

/// Reads and writes: offsets, sparse files, EOF, zero lengths, access modes, O_TRUNC, O_APPEND.
pub fn read_write() -> Script {
    let mut s = Script::new("read_write");
    s.extend([
        walk("d", "w", &[]),
        lcreate("w", "data", RDWR, 0o644),
        write("w", 0, b"hello world"),
        read("w", 0, 100),
        read("w", 6, 5),
        read("w", 11, 10),
        read("w", 1000, 10),
        write("w", 20, b"tail"),
        read("w", 0, 100),
        getattr("w"),
        write("w", 5, b""),
        read("w", 0, 0),
        read("w", 3, 0),
        read("w", 0, 9000).differs(
            Diod,
            err(EIO),
            "diod refuses a Tread count above msize - 24 (EIO); ZeroFS 0.19.1 does not check it",
        ),
        write("w", 1 << 20, b"far"),
        getattr("w"),
        read("w", (1 << 20) - 2, 16),
        write("w", 3, b"LO"),
        read("w", 0, 12),
        walk("d", "ro", &["data"]),
        lopen("ro", RDONLY),
        write("ro", 0, b"nope").differs(Diod, err(EBADF), DIOD_ACCESS_MODE),
        read("ro", 0, 5).differs(Diod, data(b"helLO"), DIOD_ACCESS_MODE),
        walk("d", "wo", &["data"]),
        lopen("wo", WRONLY),
        read("wo", 0, 5).differs(Diod, err(EBADF), DIOD_ACCESS_MODE),
        write("wo", 0, b"J"),
        read("w", 0, 5).differs(Diod, data(b"JelLO"), DIOD_ACCESS_MODE),
        walk("d", "unopened", &["data"]),
        read("unopened", 0, 5),
        write("unopened", 0, b"x"),
        walk("d", "tr", &["data"]),
        lopen("tr", RDWR | TRUNC),
        getattr("tr").differs(Diod, file(0o644, 1, 0), DIOD_OPEN_FLAGS),
        walk("d", "ap", &[]),
        lcreate("ap", "log", WRONLY | APPEND, 0o644),
        write("ap", 0, b"one"),
        write("ap", 0, b"two"),
        walk("d", "apr", &["log"]),
        lopen("apr", RDONLY),
        read("apr", 0, 16).differs(Diod, data(b"onetwo"), DIOD_OPEN_FLAGS),
        walk("d", "dirfid", &[]),
        lopen("dirfid", RDONLY),
        read("dirfid", 0, 16),
        write("dirfid", 0, b"x").differs(Diod, err(EBADF), DIOD_ACCESS_MODE),
    ]);
    s
}

fn set(valid: u32) -> Tsetattr {
    attrs(valid)
}

/// Tgetattr masks and Tsetattr with every valid bit.
pub fn getattr_setattr() -> Script {
    const CHOWN: &str =
        "Linux (diod) clears set-user-ID/set-group-ID on chown; ZeroFS 0.19.1 keeps them";
    let mut s = Script::new("getattr_setattr");
    s.extend([
        walk("d", "f", &[]),
        lcreate("f", "file", RDWR, 0o644),
        write("f", 0, b"0123456789"),
        getattr_mask("f", 0),
        getattr_mask("f", 0x1),
        getattr_mask("f", 0x07ff),
        getattr_mask("f", u64::MAX),
        setattr(
            "f",
            "mode 0600",
            Tsetattr {
                mode: 0o600,
                ..set(sa::MODE)
            },
        ),
        getattr("f"),
        setattr(
            "f",
            "mode with type bits",
            Tsetattr {
                mode: 0o100640,
                ..set(sa::MODE)
            },
        ),
        getattr("f"),
        setattr(
            "f",
            "mode 07777",
            Tsetattr {
                mode: 0o7777,
                ..set(sa::MODE)
            },
        ),
        getattr("f"),
        setattr(
            "f",
            "uid 1000",
            Tsetattr {
                uid: 1000,
                ..set(sa::UID)
            },
        ),
        setattr(
            "f",
            "gid 1000",
            Tsetattr {
                gid: 1000,
                ..set(sa::GID)
            },
        ),
        getattr("f").differs(
            Diod,
            Norm::Attr(crate::normalise::Attr {
                uid: 1000,
                gid: 1000,
                ..attr_of(file(0o1777, 1, 10))
            }),
            CHOWN,
        ),
        setattr(
            "f",
            "uid+gid 0",
            Tsetattr {
                uid: 0,
                gid: 0,
                ..set(sa::UID | sa::GID)
            },
        ),
        setattr(
            "f",
            "mode 0644",
            Tsetattr {
                mode: 0o644,
                ..set(sa::MODE)
            },
        ),
        setattr(
            "f",
            "size 4",
            Tsetattr {
                size: 4,
                ..set(sa::SIZE)
            },
        ),
        getattr("f"),
        read("f", 0, 100),
        setattr(
            "f",
            "size 8",
            Tsetattr {
                size: 8,
                ..set(sa::SIZE)
            },
        ),
        read("f", 0, 100),
        setattr(
            "f",
            "size 0",
            Tsetattr {
                size: 0,
                ..set(sa::SIZE)
            },
        ),
        getattr("f"),
        setattr(
            "f",
            "atime+mtime set",
            Tsetattr {
                atime_sec: 1_000_000_000,
                atime_nsec: 5,
                mtime_sec: 1_200_000_000,
                mtime_nsec: 7,
                ..set(sa::ATIME | sa::ATIME_SET | sa::MTIME | sa::MTIME_SET)
            },
        ),
        getattr("f").times(),
        setattr("f", "atime+mtime now", set(sa::ATIME | sa::MTIME)),
        setattr("f", "ctime", set(sa::CTIME)),
        setattr("f", "nothing", set(0)),
        setattr(
            "f",
            "mtime_set without mtime",
            Tsetattr {
                mtime_sec: 5,
                ..set(sa::MTIME_SET)
            },
        ),
        setattr("f", "unknown bit", set(0x1000)),
        walk("d", "dir", &[]),
        setattr(
            "dir",
            "size on a dir",
            Tsetattr {
                size: 0,
                ..set(sa::SIZE)
            },
        )
        .differs(
            Diod,
            err(EISDIR),
            "diod truncates with truncate(2), EISDIR on a directory; ZeroFS 0.19.1 ignores it",
        ),
        setattr(
            "dir",
            "mode on a dir",
            Tsetattr {
                mode: 0o700,
                ..set(sa::MODE)
            },
        ),
        getattr("dir"),
        setattr(
            "nofid",
            "mode",
            Tsetattr {
                mode: 0o600,
                ..set(sa::MODE)
            },
        )
        .differs(Diod, err(EIO), DIOD_BAD_FID),
        getattr("nofid").differs(Diod, err(EIO), DIOD_BAD_FID),
    ]);
    s
}

fn attr_of(n: Norm) -> crate::normalise::Attr {
    match n {
        Norm::Attr(a) => a,
        _ => unreachable!("file() returns Norm::Attr"),
    }
}
