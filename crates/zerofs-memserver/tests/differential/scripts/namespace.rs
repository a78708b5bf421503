//! Version negotiation, attach and walk.

use zerofs_9p_proto::consts::errno::*;

use super::*;
use crate::normalise::{Norm, err};
use crate::script::*;
use crate::servers::Kind::*;
use crate::steps::*;

const DIOD_VERSION: &str = "diod answers every version but exactly 9P2000.L with Rlerror(EIO)";
const DIOD_ANAME: &str =
    "diod only attaches to the exported path (EPERM otherwise); ZeroFS 0.19.1 ignores aname";

fn v(msize: u32, version: &str) -> Norm {
    Norm::Version {
        msize,
        version: version.into(),
    }
}

/// Version proposals, each on a fresh connection; msize caps; a second Tversion.
pub fn negotiation() -> Script {
    let mut s = Script::bare("version");
    for proposal in [
        &b"9P2000.L.zerofs2"[..],
        b"9P2000.L.Z",
        b"9P2000.L.zerofs",
        b"x9P2000.Ly",
    ] {
        s.push(reconnect());
        s.push(version(8192, proposal).differs(Diod, err(EIO), DIOD_VERSION));
    }
    for proposal in [
        &b"9P2000.u"[..],
        b"9P2000",
        b"",
        b"hello",
        b"9p2000.L",
        b"\xff\xfe9P2000.L",
    ] {
        s.push(reconnect());
        s.push(version(8192, proposal).differs(Diod, err(EIO), DIOD_VERSION));
    }
    s.extend([
        reconnect(),
        version(1 << 24, b"9P2000.L").differs(
            Diod,
            v(65536, "9P2000.L"),
            "diod caps msize at 64 KiB; ZeroFS 0.19.1 at 256 KiB",
        ),
        reconnect(),
        version(8192, b"9P2000.L"),
        version(1 << 24, b"9P2000.L").differs(
            Diod,
            v(8192, "9P2000.L"),
            "diod never raises the msize of a connection in a second Tversion",
        ),
        version(8192, b"9P2000.L"),
        version(8192, b"9P2000.u").differs(Diod, err(EIO), DIOD_VERSION),
        version(8192, b"9P2000.L"),
        attach("root"),
        getattr("root"),
    ]);
    s
}

/// Tattach: aname handling, uname mapping, fid in use; a second Tversion keeps or drops fids.
pub fn attaches() -> Script {
    let mut s = Script::bare("attach");
    s.extend([
        version(8192, b"9P2000.L"),
        attach("root"),
        getattr("root"),
        attach("root").differs(Diod, Norm::AnyOk, DIOD_FID_IN_USE),
        mkdir("root", "attach", 0o755),
        attach_as("empty", "root", Some(""), 0).differs(Diod, err(EPERM), DIOD_ANAME),
        attach_as("slash", "root", Some("/"), 0).differs(Diod, err(EPERM), DIOD_ANAME),
        attach_as("bogus", "root", Some("/no/such/dir"), 0).differs(Diod, err(EPERM), DIOD_ANAME),
        attach_as("named", "root", None, 0xFFFF_FFFF),
        getattr("named"),
        attach_as("nobody", "nobody", None, 0xFFFF_FFFF),
        attach_as("u1000", "someone", None, 1000),
        walk("u1000", "u1000-attach", &["attach"]),
        mkdir("u1000-attach", "denied", 0o755).differs(
            Diod,
            Norm::AnyOk,
            "diod (run as root, no user database) creates as uid 1000 without checking the \
             parent's permissions; ZeroFS checks them (EACCES)",
        ),
        mkdir("u1000", "attach-by-1000", 0o755),
        walk("u1000", "by1000", &["attach-by-1000"]),
        getattr("by1000"),
        walk("root", "a", &["attach"]),
        version(8192, b"9P2000.L"),
        getattr("a"),
        attach("root").differs(Diod, Norm::AnyOk, DIOD_FID_IN_USE),
        getattr("root"),
    ]);
    s
}

/// Walks: clone, multi-name, failures, `..`.
pub fn walks() -> Script {
    let mut s = Script::new("walk");
    s.extend([
        mkdir("d", "sub", 0o755),
        walk("d", "sub", &["sub"]),
        lcreate("sub", "file", 2, 0o644),
        clunk("sub"),
        walk("d", "clone", &[]),
        getattr("clone"),
        walk("root", "deep", &["walk", "sub", "file"]),
        getattr("deep"),
        walk("d", "missing", &["nope"]),
        getattr("missing").differs(Diod, err(EIO), DIOD_BAD_FID),
        walk("d", "partial", &["sub", "nope"]).differs(
            Diod,
            Norm::Walk(vec![0x80]),
            DIOD_PARTIAL_WALK,
        ),
        getattr("partial").differs(Diod, Norm::AnyOk, DIOD_PARTIAL_WALK),
        clunk("partial"),
        walk("d", "through", &["sub", "file", "x"]).differs(
            Diod,
            Norm::Walk(vec![0x80, 0]),
            DIOD_PARTIAL_WALK,
        ),
        walk("d", "up", &["sub", ".."]).differs(Diod, Norm::Walk(vec![0x80, 0x80]), ZEROFS_DOTS),
        getattr("up").differs(Diod, Norm::AnyOk, ZEROFS_DOTS),
        walk("root", "rootup", &[".."]).differs(Diod, Norm::Walk(vec![0x80]), ZEROFS_DOTS),
        getattr("rootup").differs(Diod, Norm::AnyOk, ZEROFS_DOTS),
        walk("root", "dot", &["walk", "."]).differs(
            Diod,
            Norm::Walk(vec![0x80, 0x80]),
            ZEROFS_DOTS,
        ),
        walk("d", "clone", &["sub"]).differs(Diod, Norm::Walk(vec![0x80]), DIOD_FID_IN_USE),
        walk("nofid", "x", &[]).differs(Diod, err(EIO), DIOD_BAD_FID),
        walk("d", "d", &["sub"]),
        getattr("d"),
        walk("root", "long", &["walk", &"n".repeat(256)]).differs(
            Diod,
            Norm::Walk(vec![0x80]),
            DIOD_PARTIAL_WALK,
        ),
        walk("root", "long2", &[&"n".repeat(256)]).differs(
            Diod,
            err(ENAMETOOLONG),
            ZEROFS_LONG_LOOKUP,
        ),
    ]);
    s
}
