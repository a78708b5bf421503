//! Filesystem operations over the wire, standard and private, per generation.

mod support;

use bytes::Bytes;
use support::*;
use zerofs_9p_proto::consts::{errno as e, open};
use zerofs_9p_proto::*;
use zerofs_memserver::{Config, Generation, MemServer};

#[tokio::test]
async fn walk_semantics_per_generation() {
    for g in Generation::ALL {
        let (server, mut c) = setup(g).await;
        mkdir(&mut c, 1, "a").await;
        // Partial walk: 0.19.1 fails it, 1.2+ answer the prefix and create no newfid.
        let r = c.call(walk(1, 2, &["a", "missing", "x"])).await;
        if g == Generation::Plain {
            assert_eq!(errno(&r), e::ENOENT);
        } else {
            assert!(
                matches!(&r, Message::Rwalk(w) if w.wqids.len() == 1),
                "{g}: {r:?}"
            );
        }
        assert_eq!(errno(&c.call(getattr(2, 1)).await), e::EBADF, "{g}");
        assert_eq!(
            errno(&c.call(walk(1, 2, &["missing"])).await),
            e::ENOENT,
            "first component fails"
        );
        // `..` at the attach root stays there on 1.2+; 0.19.1 has no `..`.
        let r = c.call(walk(1, 3, &["a", ".."])).await;
        if g == Generation::Plain {
            assert_eq!(errno(&r), e::ENOENT);
        } else {
            let Message::Rwalk(w) = &r else {
                panic!("{r:?}")
            };
            assert_eq!(w.wqids[1].path, 0);
            let r = c.call(walk(1, 4, &[".."])).await;
            assert!(
                matches!(&r, Message::Rwalk(w) if w.wqids[0].path == 0),
                "{r:?}"
            );
        }
        // newfid in use → EINVAL; clone; walking a fid onto itself.
        assert!(matches!(c.call(walk(1, 5, &[])).await, Message::Rwalk(w) if w.wqids.is_empty()));
        assert_eq!(errno(&c.call(walk(1, 5, &["a"])).await), e::EINVAL);
        assert!(matches!(
            c.call(walk(5, 5, &["a"])).await,
            Message::Rwalk(_)
        ));
        // Long names: ENAMETOOLONG on 1.2+, ENOENT on 0.19.1.
        let long = "n".repeat(256);
        let want = if g == Generation::Plain {
            e::ENOENT
        } else {
            e::ENAMETOOLONG
        };
        assert_eq!(errno(&c.call(walk(1, 6, &[&long])).await), want);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn attach_to_a_subtree() {
    let (server, mut c) = setup(Generation::Gen2).await;
    let vol = mkdir(&mut c, 1, "vol").await;
    file(&mut c, 2, "plainfile", b"").await;
    let mut v = connect(&server, "9P2000.L.zerofs2").await;
    assert_eq!(v.attach(1, "/vol/").await.path, vol.path);
    assert!(
        matches!(v.call(walk(1, 2, &[".."])).await, Message::Rwalk(w) if w.wqids[0].path == vol.path)
    );
    assert_eq!(v.attach_as(3, "/nope", 0).await, Err(e::ENOENT));
    assert_eq!(v.attach_as(3, "plainfile", 0).await, Err(e::ENOTDIR));
    assert_eq!(v.attach_as(1, "", 0).await, Err(e::EINVAL), "fid in use");
    // 0.19.1 ignores aname.
    let plain = MemServer::start(Config::new(Generation::Plain))
        .await
        .unwrap();
    let mut p = Client::to(&plain).await;
    p.version(65536, "9P2000.L").await;
    assert_eq!(p.attach(1, "/whatever").await.path, 0);
    server.shutdown().await;
    plain.shutdown().await;
}

#[tokio::test]
async fn open_read_write_and_io_sizes() {
    for g in Generation::ALL {
        let (server, mut c) = setup(g).await;
        c.version(8192, "9P2000.L").await;
        c.set_dialect(Dialect::Plain);
        if g != Generation::Plain {
            c.attach(1, "").await; // 0.19.1 kept fid 1 across the Tversion
        }
        file(&mut c, 2, "f", &[7u8; 20000]).await;
        // Reads clamp to msize - 11 on 1.2+, not on 0.19.1.
        let Message::Rread(r) = c.call(read(2, 0, 20000)).await else {
            panic!()
        };
        assert_eq!(
            r.data.len(),
            if g == Generation::Plain {
                20000
            } else {
                8192 - 11
            },
            "{g}"
        );
        // iounit, EBUSY on re-open, O_TRUNC does not truncate.
        assert!(matches!(
            c.call(walk(1, 3, &["f"])).await,
            Message::Rwalk(_)
        ));
        let r = c.call(lopen(3, open::RDONLY | open::TRUNC)).await;
        let Message::Rlopen(o) = &r else {
            panic!("{g}: {r:?}")
        };
        assert_eq!(o.iounit, if g == Generation::Plain { 262_144 } else { 0 });
        assert_eq!(errno(&c.call(lopen(3, 0)).await), e::EBUSY);
        let Message::Rgetattr(a) = c.call(getattr(3, 0x3fff)).await else {
            panic!()
        };
        assert_eq!(
            a.stat.size, 20000,
            "{g}: O_TRUNC on Tlopen does not truncate"
        );
        assert_eq!(a.valid, 0x3fff);
        // Writing through a read-only fid: EBADF on 1.2+, allowed by 0.19.1.
        let w = c
            .mutate(Message::Twrite(Twrite {
                fid: 3,
                offset: 0,
                data: b("x"),
            }))
            .await;
        if g == Generation::Plain {
            assert!(matches!(w, Message::Rwrite(_)));
        } else {
            assert_eq!(errno(&w), e::EBADF, "{g}");
        }
        // I/O on an unopened fid is EBADF everywhere.
        assert!(matches!(
            c.call(walk(1, 4, &["f"])).await,
            Message::Rwalk(_)
        ));
        assert_eq!(errno(&c.call(read(4, 0, 1)).await), e::EBADF);
        // Tlcreate on an opened fid: EBUSY.
        let r = c
            .mutate(Message::Tlcreate(Tlcreate {
                fid: 3,
                name: b("g"),
                flags: 0,
                mode: 0o644,
                gid: 0,
            }))
            .await;
        assert_eq!(errno(&r), e::EBUSY);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn readdir_pages_with_stable_cookies() {
    let (server, mut c) = setup(Generation::Gen2).await;
    mkdir(&mut c, 1, "d").await;
    assert!(matches!(
        c.call(walk(1, 2, &["d"])).await,
        Message::Rwalk(_)
    ));
    for i in 0..10 {
        mkdir(&mut c, 2, &format!("e{i}")).await;
    }
    assert!(matches!(
        c.call(walk(1, 3, &["d"])).await,
        Message::Rwalk(_)
    ));
    assert!(matches!(
        c.call(lopen(3, open::RDONLY | open::DIRECTORY)).await,
        Message::Rlopen(_)
    ));
    let mut names = Vec::new();
    let mut cookie = 0;
    for round in 0..50 {
        let count = DirEntry::len_for_name(2) as u32 * 3;
        let Message::Rreaddir(r) = c
            .call(Message::Treaddir(Treaddir {
                fid: 3,
                offset: cookie,
                count,
            }))
            .await
        else {
            panic!()
        };
        if r.entries.is_empty() {
            break;
        }
        if round == 1 {
            // Concurrent change: remove a listed entry and one not yet listed, add one.
            c.mutate(unlinkat(2, "e0", 0x200)).await;
            c.mutate(unlinkat(2, "e9", 0x200)).await;
            mkdir(&mut c, 2, "new").await;
        }
        cookie = r.entries.last().unwrap().offset;
        names.extend(
            r.entries
                .iter()
                .map(|e| String::from_utf8_lossy(&e.name).into_owned()),
        );
    }
    let want: Vec<String> = [
        ".", "..", "e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "new",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(names, want);
    // readdirattr carries stats; the first entries are . (the dir) and .. (the root).
    let Message::Rreaddirattr(r) = c
        .call(Message::Treaddirattr(Treaddir {
            fid: 3,
            offset: 0,
            count: 4096,
        }))
        .await
    else {
        panic!()
    };
    assert_eq!(r.entries[0].offset, 1);
    assert_eq!(r.entries[1].stat.qid.path, 0);
    assert_eq!(r.entries[2].stat.mode & 0o170000, 0o040000);
    // A directory not opened: EBADF.
    assert_eq!(errno(&c.call(readdir(2, 0, 100)).await), e::EBADF);
    server.shutdown().await;
}

#[tokio::test]
async fn permissions_follow_the_attached_uid() {
    let (server, mut c) = setup(Generation::Gen2).await;
    let r = c
        .call(Message::Tmkdir(tmkdir(1, "private", 0o700, 0)))
        .await;
    assert!(matches!(r, Message::Rmkdir(_)));
    let mut u = connect(&server, "9P2000.L.zerofs2").await;
    u.attach_as(1, "", 1000).await.unwrap();
    let r = u.call(walk(1, 2, &["private", "x"])).await;
    assert!(
        matches!(&r, Message::Rwalk(w) if w.wqids.len() == 1),
        "search refused after the first step: {r:?}"
    );
    assert!(matches!(
        u.call(walk(1, 2, &["private"])).await,
        Message::Rwalk(_)
    ));
    assert_eq!(errno(&u.call(walk(2, 3, &["x"])).await), e::EACCES);
    let r = u
        .call(Message::Tmkdir(tmkdir(1, "mine", 0o755, 1000)))
        .await;
    let Message::Rmkdir(q) = r else {
        panic!("{r:?}")
    };
    let Message::Rgetattr(a) = c.call(getattr(1, 0x7ff)).await else {
        panic!()
    };
    assert_eq!(a.stat.nlink, 4);
    let Message::Rwalkgetattr(w) = c
        .call(Message::Twalkgetattr(Twalk {
            fid: 1,
            newfid: 5,
            wnames: vec![b("mine")],
        }))
        .await
    else {
        panic!()
    };
    assert_eq!((w.stat.uid, w.stat.gid, w.stat.qid), (1000, 1000, q.qid));
    // Someone else's entry in the sticky root cannot be removed by uid 1000.
    assert_eq!(
        errno(&u.call(unlinkat(1, "private", 0x200)).await),
        e::EACCES
    );
    server.shutdown().await;
}

#[tokio::test]
async fn locks_over_the_wire() {
    let (server, mut a) = setup(Generation::Plain).await;
    file(&mut a, 2, "f", b"x").await;
    let mut other = connect(&server, "9P2000.L").await;
    other.attach(1, "").await;
    other.call(walk(1, 2, &["f"])).await;
    let lock = |ty, start, length| {
        Message::Tlock(Tlock {
            fid: 2,
            ty,
            flags: 0,
            start,
            length,
            proc_id: 7,
            client_id: b("a"),
        })
    };
    let getlock = |ty, start, length| {
        Message::Tgetlock(Tgetlock {
            fid: 2,
            ty,
            start,
            length,
            proc_id: 8,
            client_id: b("b"),
        })
    };
    assert_eq!(
        a.call(lock(LockType::Write, 10, 10)).await,
        Message::Rlock(Rlock {
            status: LockStatus::Success
        })
    );
    let r = other.call(getlock(LockType::Read, 0, 0)).await;
    assert_eq!(
        r,
        Message::Rgetlock(Rgetlock {
            ty: LockType::Write,
            start: 10,
            length: 10,
            proc_id: 7,
            client_id: b("a")
        })
    );
    let r = other.call(getlock(LockType::Write, 0, 10)).await;
    assert_eq!(
        r,
        Message::Rgetlock(Rgetlock {
            ty: LockType::Unlock,
            start: 0,
            length: 10,
            proc_id: 0,
            client_id: Bytes::new()
        })
    );
    assert_eq!(
        errno(&other.call(lock(LockType::Read, 15, 1)).await),
        e::EAGAIN
    );
    assert_eq!(
        other.call(lock(LockType::Unlock, 0, 0)).await,
        Message::Rlock(Rlock {
            status: LockStatus::Success
        })
    );
    // Clunk releases the fid's locks.
    a.call(clunk(2)).await;
    assert_eq!(
        other.call(lock(LockType::Write, 0, 0)).await,
        Message::Rlock(Rlock {
            status: LockStatus::Success
        })
    );
    server.shutdown().await;
}
