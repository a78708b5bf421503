//! Locks, statfs, fsync, xattrs, Tflush, Tremove, malformed frames and error cases.

use zerofs_9p_proto::LockStatus::Blocked;
use zerofs_9p_proto::LockType::{self, Read as RD, Unlock as UN, Write as WR};
use zerofs_9p_proto::consts::errno::*;
use zerofs_9p_proto::consts::lock_flags::BLOCK;
use zerofs_9p_proto::consts::open::*;

use super::*;
use crate::normalise::{Norm, err};
use crate::script::*;
use crate::servers::Kind::*;
use crate::steps::*;

const A: (&str, u32) = ("client-a", 1);
const B: (&str, u32) = ("client-b", 2);
const A2: (&str, u32) = ("client-a", 7);

const LOCKS: &str = "ZeroFS 0.19.1 grants every lock and its Tgetlock always reports UNLCK with \
                     proc_id 0 and no client_id; diod reports conflicts as BLOCKED even without \
                     the BLOCK flag and its Tgetlock echoes the requester's owner (and WRLCK where \
                     the range is free of other owners' locks)";

fn gl(ty: LockType, range: (u64, u64), owner: (&str, u32)) -> Norm {
    Norm::GetLock {
        ty,
        start: range.0,
        length: range.1,
        proc_id: owner.1,
        client_id: owner.0.to_owned(),
    }
}

/// Tlock and Tgetlock: conflicts, blocking, unlock.
pub fn locks() -> Script {
    let mut s = Script::new("locks");
    s.extend([
        walk("d", "a", &[]),
        lcreate("a", "lockfile", RDWR, 0o644),
        walk("d", "b", &["lockfile"]),
        lopen("b", RDWR),
        lock("a", WR, 0, (0, 100), A),
        getlock("b", WR, (0, 10), B).differs(Diod, gl(WR, (0, 10), B), LOCKS),
        getlock("b", RD, (200, 10), B).differs(Diod, gl(WR, (200, 10), B), LOCKS),
        getlock("a", WR, (0, 10), A).differs(Diod, gl(UN, (0, 10), A), LOCKS),
        getlock("b", WR, (0, 10), A2).differs(Diod, gl(WR, (0, 10), A2), LOCKS),
        lock("b", WR, 0, (50, 10), B).differs(Diod, Norm::Lock(Blocked), LOCKS),
        lock("b", WR, BLOCK, (50, 10), B).differs(Diod, Norm::Lock(Blocked), LOCKS),
        lock("b", RD, 0, (100, 0), B).differs(Diod, Norm::Lock(Blocked), LOCKS),
        lock("b", RD, 0, (100, 0), B).differs(Diod, Norm::Lock(Blocked), LOCKS),
        getlock("a", WR, (150, 0), A).differs(Diod, gl(UN, (150, 0), A), LOCKS),
        lock("a", UN, 0, (0, 100), A),
        getlock("b", WR, (0, 10), B).differs(Diod, gl(UN, (0, 10), B), LOCKS),
        lock("b", WR, 0, (0, 10), B),
        lock("b", UN, 0, (0, 0), B),
        lock("a", RD, 0, (0, 0), A),
        lock("b", RD, 0, (0, 0), B),
        getlock("b", WR, (0, 0), B).differs(Diod, gl(UN, (0, 0), B), LOCKS),
        lock("a", UN, 0, (0, 0), A),
        lock("b", UN, 0, (0, 0), B),
        walk("d", "unopened", &["lockfile"]),
        lock("unopened", WR, 0, (0, 10), A).differs(
            Diod,
            err(EBADF),
            "diod needs an opened fid for Tlock (EBADF); ZeroFS 0.19.1 locks any fid",
        ),
        lock("nofid", WR, 0, (0, 10), A).differs(Diod, err(EIO), DIOD_BAD_FID),
        getlock("nofid", WR, (0, 10), A).differs(Diod, err(EIO), DIOD_BAD_FID),
    ]);
    s
}

/// Tstatfs and Tfsync.
pub fn statfs_fsync() -> Script {
    let mut s = Script::new("statfs_fsync");
    s.extend([
        statfs("root"),
        statfs("d"),
        statfs("nofid").differs(Diod, err(EIO), DIOD_BAD_FID),
        walk("d", "f", &[]),
        lcreate("f", "file", RDWR, 0o644),
        write("f", 0, b"durable"),
        fsync("f", 0),
        fsync("f", 1),
        walk("d", "unopened", &["file"]),
        fsync("unopened", 0).differs(
            Diod,
            err(EBADF),
            "diod needs an opened fid for Tfsync (EBADF); ZeroFS 0.19.1 syncs any fid",
        ),
        fsync("nofid", 0).differs(Diod, err(EIO), DIOD_BAD_FID),
        walk("d", "dir", &[]),
        lopen("dir", RDONLY),
        fsync("dir", 0),
    ]);
    s
}

/// Errors: bad fids, long names, existing names, non-directories.
pub fn errors() -> Script {
    let mut s = Script::new("errors");
    s.extend([
        clunk("nofid").differs(Diod, err(EIO), DIOD_CLUNK),
        getattr("nofid").differs(Diod, err(EIO), DIOD_BAD_FID),
        mkdir("nofid", "x", 0o755).differs(Diod, err(EIO), DIOD_BAD_FID),
        mkdir("d", "dir", 0o755),
        mkdir("d", "dir", 0o755),
        mkdir("d", &"m".repeat(256), 0o755),
        mkdir("d", &"m".repeat(255), 0o755),
        walk("d", "c", &[]),
        lcreate("c", "file", RDWR, 0o644),
        walk("d", "file", &["file"]),
        mkdir("file", "x", 0o755).differs(Diod, err(ENOTDIR), DIOD_NOT_DIR),
        walk("file", "x", &["x"]),
        symlink("file", "x", "y").differs(Diod, err(ENOTDIR), DIOD_NOT_DIR),
        mknod("file", "x", 0o010644, 0, 0).differs(Diod, err(ENOTDIR), DIOD_NOT_DIR),
        walk("d", "c2", &[]),
        clunk("c2"),
        clunk("c2").differs(Diod, err(EIO), DIOD_CLUNK),
        getattr("c2").differs(Diod, err(EIO), DIOD_BAD_FID),
        walk("root", "root", &[]),
        getattr("d"),
    ]);
    s
}

/// Frames a server cannot take: unknown or legacy types, replies sent as requests,
/// truncated bodies, bad enum values. Each on a fresh connection.
pub fn malformed() -> Script {
    const CLOSES: &str = "diod closes the connection on a frame it cannot decode; ZeroFS answers \
                          Rlerror(ENOSYS) and carries on";
    let frames: [(&str, u8, &'static [u8]); 8] = [
        ("Topen (legacy 112)", 112, &[1, 0, 0, 0, 0]),
        ("Tlerror (6)", 6, &[]),
        ("type 99 (unknown)", 99, &[]),
        ("Tgetattr with a truncated body", 24, &[1, 0, 0]),
        (
            "Tlock with lock type 7",
            52,
            &[
                1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
                0, 0, 0,
            ],
        ),
        (
            "Txattrcreate",
            32,
            &[1, 0, 0, 0, 1, 0, b'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        (
            "Tauth",
            102,
            &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        // Last: diod aborts on it, and nothing can follow.
        ("Rclunk sent as a request", 121, &[]),
    ];
    let mut s = Script::bare("malformed");
    s.extend([
        version(8192, b"9P2000.L"),
        attach("root"),
        oversize(300_000),
    ]);
    for (label, ty, body) in frames {
        s.extend([reconnect(), version(8192, b"9P2000.L"), attach("root")]);
        let step = raw(label, ty, body);
        let closes = match ty {
            32 => None,
            102 => None,
            52 => None,
            _ => Some(Norm::Closed),
        };
        s.push(match ty {
            32 => step.differs(Diod, Norm::AnyOk, "diod implements xattrs"),
            102 => step.differs(
                Diod,
                err(ENOENT),
                "diod answers Tauth with ENOENT when started without authentication (-n)",
            ),
            52 => step.differs(
                Diod,
                err(EBADF),
                "diod decodes Tlock with any type and fails it later",
            ),
            121 => step.differs(
                Diod,
                Norm::Closed,
                "diod aborts (assertion failure in srv.c) when a reply type arrives as a request",
            ),
            _ => step.differs(Diod, Norm::Closed, CLOSES),
        });
        let after = getattr("root");
        s.push(match closes {
            Some(closed) => after.differs(Diod, closed, CLOSES),
            None => after,
        });
    }
    s
}

/// Txattrwalk, Tflush of an idle tag, Tremove.
pub fn xattr_flush_remove() -> Script {
    const XATTR: &str =
        "diod implements xattrs; ZeroFS 0.19.1 answers every Txattrwalk with EOPNOTSUPP";
    const REMOVE: &str = "diod implements Tremove; ZeroFS 0.19.1 answers ENOSYS";
    let mut s = Script::new("xattr_flush_remove");
    s.extend([
        xattrwalk("d", "x1", "").differs(Diod, Norm::Xattr(0), XATTR),
        xattrwalk("d", "x2", "user.missing").differs(Diod, err(ENODATA), XATTR),
        xattrwalk("nofid", "x3", "user.a").differs(Diod, err(EIO), XATTR),
        flush_idle(4321).differs(
            Diod,
            Norm::Done,
            "diod answers Tflush with Rflush; ZeroFS 0.19.1 with EOPNOTSUPP",
        ),
        getattr("d"),
        walk("d", "c", &[]),
        lcreate("c", "victim", RDWR, 0o644),
        walk("d", "v", &["victim"]),
        remove("v").differs(Diod, Norm::Done, REMOVE),
        getattr("v").differs(Diod, err(EIO), REMOVE),
        walk("d", "again", &["victim"]).differs(Diod, err(ENOENT), REMOVE),
        remove("nofid").differs(Diod, err(EIO), REMOVE),
    ]);
    s
}
