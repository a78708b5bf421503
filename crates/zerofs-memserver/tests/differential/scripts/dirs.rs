//! Directory operations: readdir, rename, unlink, link, symlink, mknod.

use zerofs_9p_proto::consts::errno::*;
use zerofs_9p_proto::consts::mode::*;
use zerofs_9p_proto::consts::open::*;
use zerofs_9p_proto::consts::unlinkat::REMOVEDIR;

use super::*;
use crate::normalise::{Norm, dir, err};
use crate::script::*;
use crate::servers::Kind::*;
use crate::steps::*;

/// Treaddir: whole directory, small pages, continuation, end, errors.
pub fn readdir_paging() -> Script {
    let mut s = Script::new("readdir");
    s.extend([
        walk("d", "c", &[]),
        lcreate("c", "file-a", RDWR, 0o644),
        mkdir("d", "dir-b", 0o755),
        symlink("d", "link-c", "file-a"),
        mknod("d", "fifo-d", S_IFIFO | 0o644, 0, 0),
        walk("d", "c2", &[]),
        lcreate(
            "c2",
            "a-much-longer-file-name-to-change-entry-sizes",
            RDWR,
            0o644,
        ),
        walk("d", "r", &[]),
        lopen("r", RDONLY),
        readdir("r", Cookie::Start, 4000),
        readdir("r", Cookie::Continue, 4000),
        readdir_all("r", 64).differs(
            Diod,
            dir(&[
                (".", 4, 0x80),
                ("dir-b", 4, 0x80),
                ("fifo-d", 1, 0),
                ("file-a", 8, 0),
                ("link-c", 10, 2),
            ]),
            "diod loses the entry after a page that ends early (here `..` in 64-byte pages)",
        ),
        readdir_all("r", 100),
        readdir("r", Cookie::Start, 10),
        readdir("r", Cookie::Start, 0),
        walk("d", "unopened", &[]),
        readdir("unopened", Cookie::Start, 4000),
        walk("d", "file", &["file-a"]),
        lopen("file", RDONLY),
        readdir("file", Cookie::Start, 4000).differs(
            Diod,
            err(EINVAL),
            "diod answers Treaddir on a file with EINVAL; ZeroFS with ENOTDIR",
        ),
        mkdir("d", "empty", 0o755),
        walk("d", "e", &["empty"]),
        lopen("e", RDONLY),
        readdir_all("e", 4000),
    ]);
    s
}

/// Trename and Trenameat (Twalk + Trename on diod).
pub fn renames() -> Script {
    const RENAME_OVER: &str = "rename(2) of a directory over a file is ENOTDIR (diod); ZeroFS 0.19.1 \
                               replaces the file with the directory, so later steps see a directory";
    let mut s = Script::new("rename");
    s.extend([
        walk("d", "c", &[]),
        lcreate("c", "a", RDWR, 0o644),
        write("c", 0, b"content of a"),
        walk("d", "c2", &[]),
        lcreate("c2", "b", RDWR, 0o644),
        mkdir("d", "sub", 0o755),
        mkdir("d", "full", 0o755),
        walk("d", "full", &["full"]),
        mkdir("full", "inner", 0o755),
        walk("d", "sub", &["sub"]),
        renameat("d", "nothing", "d", "x").differs(
            Diod,
            err(EOPNOTSUPP),
            "diod does not implement Trenameat",
        ),
        walk("d", "fa", &["a"]),
        rename("fa", "sub", "moved"),
        walk("d", "gone", &["a"]),
        walk("sub", "m", &["moved"]),
        lopen("m", RDONLY),
        read("m", 0, 100),
        renameat_or_rename("sub", "moved", "d", "a2"),
        walk("d", "a2", &["a2"]),
        renameat_or_rename("d", "a2", "d", "b"),
        walk("d", "b", &["b"]),
        lopen("b", RDONLY),
        read("b", 0, 100),
        renameat_or_rename("d", "missing", "d", "x"),
        renameat_or_rename("d", "sub", "d", "full"),
        mkdir("d", "emptydir", 0o755),
        renameat_or_rename("d", "sub", "d", "emptydir"),
        walk("d", "chk", &["emptydir"]),
        renameat_or_rename("d", "b", "d", "full").differs(
            Diod,
            err(EISDIR),
            "rename(2) of a file over a directory is EISDIR (diod); ZeroFS 0.19.1 says ENOTEMPTY",
        ),
        renameat_or_rename("d", "full", "d", "b").differs(Diod, err(ENOTDIR), RENAME_OVER),
        renameat_or_rename("d", "b", "d", &"z".repeat(256)),
        renameat_or_rename("d", "b", "d", "b"),
        walk("d", "fb", &["b"]).differs(Diod, Norm::Walk(vec![0]), RENAME_OVER),
        rename("fb", "fb", "x").differs(Diod, err(ENOTDIR), RENAME_OVER),
        rename("fb", "d", "b2"),
        walk("d", "b2", &["b2"]).differs(Diod, Norm::Walk(vec![0]), RENAME_OVER),
        rename("nofid", "d", "q").differs(Diod, err(EIO), DIOD_BAD_FID),
    ]);
    s
}

/// Tunlinkat on files and directories, with the usual errors (Twalk + Tremove on diod).
pub fn unlinks() -> Script {
    const FLAGS: &str = "Tremove (diod's fallback) cannot refuse a directory without AT_REMOVEDIR \
                         or a file with it";
    let mut s = Script::new("unlink");
    s.extend([
        walk("d", "c", &[]),
        lcreate("c", "file", RDWR, 0o644),
        mkdir("d", "dir", 0o755),
        mkdir("d", "dir2", 0o755),
        mkdir("d", "full", 0o755),
        walk("d", "full", &["full"]),
        mkdir("full", "inner", 0o755),
        unlinkat("d", "nothing", 0).differs(
            Diod,
            err(EOPNOTSUPP),
            "diod does not implement Tunlinkat",
        ),
        unlinkat_or_remove("d", "file", 0),
        walk("d", "x", &["file"]),
        unlinkat_or_remove("d", "file", 0),
        unlinkat_or_remove("d", "dir", 0).differs(Diod, Norm::Done, FLAGS),
        unlinkat_or_remove("d", "dir2", REMOVEDIR),
        walk("d", "y", &["dir2"]),
        unlinkat_or_remove("d", "full", REMOVEDIR),
        walk("d", "c2", &[]),
        lcreate("c2", "f2", RDWR, 0o644),
        walk("d", "c3", &[]),
        lcreate("c3", "f3", RDWR, 0o644),
        unlinkat_or_remove("d", "f3", REMOVEDIR).differs(Diod, Norm::Done, FLAGS),
        write("c2", 0, b"still open"),
        unlinkat_or_remove("d", "f2", 0),
        read("c2", 0, 100).differs(Diod, Norm::AnyOk, DIOD_ORPHAN),
        getattr("c2"),
        unlinkat_or_remove("d", &"n".repeat(256), 0).differs(
            Diod,
            err(ENAMETOOLONG),
            ZEROFS_LONG_LOOKUP,
        ),
        unlinkat_or_remove("d", "missing", 0),
        unlinkat_or_remove("nofid", "x", 0).differs(Diod, err(EIO), DIOD_BAD_FID),
        unlinkat_or_remove("full", "inner", REMOVEDIR),
        unlinkat_or_remove("d", "full", REMOVEDIR),
        walk("d", "r", &[]),
        lopen("r", RDONLY),
        readdir_all("r", 4000).differs(Diod, dir(&[(".", 4, 0x80), ("..", 4, 0x80)]), FLAGS),
    ]);
    s
}

/// Tlink, Tsymlink, Treadlink.
pub fn links() -> Script {
    let mut s = Script::new("links");
    s.extend([
        walk("d", "c", &[]),
        lcreate("c", "target", RDWR, 0o644),
        write("c", 0, b"shared"),
        walk("d", "t", &["target"]),
        link("d", "t", "hard"),
        getattr("t"),
        walk("d", "h", &["hard"]),
        getattr("h"),
        lopen("h", RDONLY),
        read("h", 0, 100),
        link("d", "t", "hard"),
        link("d", "d", "dirlink").differs(
            Diod,
            err(EPERM),
            "link(2) of a directory is EPERM on Linux (diod); ZeroFS 0.19.1 answers EINVAL",
        ),
        link("t", "t", "x").differs(Diod, err(ENOTDIR), DIOD_NOT_DIR),
        link("d", "nofid", "x").differs(Diod, err(EIO), DIOD_BAD_FID),
        symlink("d", "sym", "target"),
        symlink("d", "dangling", "no/such/path"),
        symlink("d", "sym", "again"),
        symlink("d", &"s".repeat(256), "t"),
        walk("d", "s", &["sym"]),
        getattr("s"),
        readlink("s"),
        walk("d", "dl", &["dangling"]),
        readlink("dl"),
        readlink("t"),
        readlink("nofid").differs(Diod, err(EIO), DIOD_BAD_FID),
        walk("d", "through", &["sym", "x"]).differs(Diod, Norm::Walk(vec![2]), DIOD_PARTIAL_WALK),
        symlink("d", "empty", "").differs(
            Diod,
            err(ENOENT),
            "symlink(2) refuses an empty target (ENOENT) on Linux (diod); ZeroFS 0.19.1 stores it",
        ),
        walk("d", "r", &[]),
        lopen("r", RDONLY),
        readdir_all("r", 4000).differs(
            Diod,
            dir(&[
                (".", 4, 0x80),
                ("..", 4, 0x80),
                ("dangling", 10, 2),
                ("hard", 8, 0),
                ("sym", 10, 2),
                ("target", 8, 0),
            ]),
            "the empty symlink exists on ZeroFS only",
        ),
    ]);
    s
}

/// Tmknod: fifo, socket, devices, bad types.
pub fn mknods() -> Script {
    const TYPES: &str = "diod passes the mode to mknod(2): a regular file for S_IFREG or no type, \
                         EPERM for S_IFDIR; ZeroFS 0.19.1 answers EINVAL";
    let mut s = Script::new("mknod");
    s.extend([
        mknod("d", "fifo", S_IFIFO | 0o644, 0, 0),
        walk("d", "f", &["fifo"]),
        getattr("f"),
        mknod("d", "sock", S_IFSOCK | 0o600, 0, 0),
        walk("d", "s", &["sock"]),
        getattr("s"),
        mknod("d", "chr", S_IFCHR | 0o600, 1, 3),
        walk("d", "ch", &["chr"]),
        getattr("ch"),
        mknod("d", "blk", S_IFBLK | 0o600, 7, 0),
        mknod("d", "fifo", S_IFIFO | 0o644, 0, 0),
        walk("d", "r", &[]),
        lopen("r", RDONLY),
        readdir_all("r", 4000),
        mknod("d", "reg", S_IFREG | 0o644, 0, 0).differs(Diod, Norm::AnyOk, TYPES),
        mknod("d", "dir", S_IFDIR | 0o755, 0, 0).differs(Diod, err(EPERM), TYPES),
        mknod("d", "none", 0o644, 0, 0).differs(Diod, Norm::AnyOk, TYPES),
    ]);
    s
}
