//! The ZeroFS private messages over the wire: gen 1, gen 2 and `.Z`.

mod support;

use bytes::Bytes;
use support::*;
use zerofs_9p_proto::consts::{errno as e, fallocate as fa, open, setattr as sa};
use zerofs_9p_proto::*;
use zerofs_memserver::Generation;

/// Sends a `T*attr` request; the post-operation stat of its `R*attr` reply (panics on any
/// other reply).
async fn attr_call(c: &mut Client, msg: Message) -> Stat {
    let want = msg.msg_type().reply();
    let r = c.call(msg).await;
    match &r {
        Message::Rmkdirattr(a)
        | Message::Rsymlinkattr(a)
        | Message::Rmknodattr(a)
        | Message::Rlinkattr(a)
        | Message::Rsetattrattr(a)
            if Some(r.msg_type()) == want =>
        {
            a.stat
        }
        _ => panic!("{r:?}"),
    }
}

#[tokio::test]
async fn gen2_private_messages() {
    let (server, mut c) = setup(Generation::Gen2).await;
    mkdir(&mut c, 1, "d").await;
    // Twalkgetattr: all or nothing, stat of the last element (or of fid itself).
    let r = c
        .call(Message::Twalkgetattr(Twalk {
            fid: 1,
            newfid: 2,
            wnames: vec![b("d")],
        }))
        .await;
    let Message::Rwalkgetattr(w) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(w.stat.qid, w.wqids[0]);
    let r = c
        .call(Message::Twalkgetattr(Twalk {
            fid: 1,
            newfid: 3,
            wnames: vec![b("d"), b("nope")],
        }))
        .await;
    assert_eq!(errno(&r), e::ENOENT);
    assert_eq!(
        errno(&c.call(getattr(3, 1)).await),
        e::EBADF,
        "never created"
    );
    let Message::Rwalkgetattr(w) = c
        .call(Message::Twalkgetattr(Twalk {
            fid: 1,
            newfid: 3,
            wnames: vec![],
        }))
        .await
    else {
        panic!()
    };
    assert_eq!(w.stat.qid.path, 0);
    // Tlcreateattr leaves dfid alone; Tlopenat clones and opens.
    let r = c
        .call(Message::Tlcreateattr(Tlcreateattr {
            dfid: 2,
            newfid: 4,
            name: b("f"),
            flags: open::RDWR,
            mode: 0o640,
            gid: 0,
        }))
        .await;
    let Message::Rlcreateattr(cr) = &r else {
        panic!("{r:?}")
    };
    assert_eq!((cr.iounit, cr.stat.mode), (0, 0o100640));
    assert_eq!(
        errno(
            &c.call(Message::Tlcreateattr(Tlcreateattr {
                dfid: 2,
                newfid: 1,
                name: b("g"),
                flags: 0,
                mode: 0o640,
                gid: 0
            }))
            .await
        ),
        e::EINVAL
    );
    c.call(Message::Twrite(Twrite {
        fid: 4,
        offset: 0,
        data: b("hello"),
    }))
    .await;
    let Message::Rwalk(_) = c.call(walk(2, 5, &["f"])).await else {
        panic!()
    };
    assert!(matches!(
        c.call(Message::Tlopenat(Tlopenat {
            fid: 5,
            newfid: 6,
            flags: open::RDONLY
        }))
        .await,
        Message::Rlopenat(_)
    ));
    assert_eq!(
        c.call(read(6, 0, 10)).await,
        Message::Rread(Rread { data: b("hello") })
    );
    assert_eq!(
        errno(&c.call(read(5, 0, 10)).await),
        e::EBADF,
        "fid untouched"
    );
    // The *attr forms return the post-operation stat.
    let st = attr_call(&mut c, Message::Tmkdirattr(tmkdir(2, "sub", 0o700, 0))).await;
    assert_eq!((st.mode, st.nlink), (0o40700, 2));
    let symlink = Tsymlink {
        dfid: 2,
        name: b("s"),
        symtgt: b("f"),
        gid: 0,
    };
    let st = attr_call(&mut c, Message::Tsymlinkattr(symlink)).await;
    assert_eq!((st.mode, st.size), (0o120777, 1));
    let node = Tmknod {
        dfid: 2,
        name: b("p"),
        mode: 0o010600,
        major: 0,
        minor: 0,
        gid: 0,
    };
    let st = attr_call(&mut c, Message::Tmknodattr(node)).await;
    assert_eq!(st.mode, 0o010600);
    assert_eq!(
        errno(
            &c.call(Message::Tmknod(Tmknod {
                dfid: 2,
                name: b("q"),
                mode: 0o100600,
                major: 0,
                minor: 0,
                gid: 0
            }))
            .await
        ),
        e::EINVAL
    );
    let link = Tlink {
        dfid: 1,
        fid: 5,
        name: b("hard"),
    };
    assert_eq!(attr_call(&mut c, Message::Tlinkattr(link)).await.nlink, 2);
    let set = Tsetattr {
        fid: 5,
        valid: sa::SIZE | sa::MODE,
        mode: 0o600,
        size: 2,
        ..Tsetattr::default()
    };
    let st = attr_call(&mut c, Message::Tsetattrattr(set)).await;
    assert_eq!((st.size, st.mode), (2, 0o100600));
    server.shutdown().await;
}

#[tokio::test]
async fn legacy_rebind() {
    let (server, mut c) = setup(Generation::Gen1).await;
    let d = mkdir(&mut c, 1, "d").await;
    let out = mkdir(&mut c, 1, "out").await;
    // A second connection attached to /d may rebind under /d only.
    let mut v = connect(&server, "9P2000.L.zerofs").await;
    v.attach(1, "d").await;
    let inner = mkdir(&mut v, 1, "inner").await;
    let rebind = |fid, inode_id| {
        Message::Trebind(Trebind {
            fid,
            inode_id,
            n_uname: 0,
        })
    };
    assert!(matches!(v.call(rebind(2, inner.path)).await, Message::Rrebind(r) if r.qid == inner));
    assert_eq!(
        errno(&v.call(rebind(2, inner.path)).await),
        e::EINVAL,
        "fid in use"
    );
    assert_eq!(errno(&v.call(rebind(3, out.path)).await), e::EACCES);
    assert_eq!(errno(&v.call(rebind(3, 9999)).await), e::ENOENT);
    assert!(matches!(
        c.call(rebind(9, d.path)).await,
        Message::Rrebind(_)
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn z_private_messages() {
    let (server, mut c) = setup(Generation::Z).await;
    let d = mkdir(&mut c, 1, "d").await;
    file(&mut c, 2, "f", b"0123456789").await;
    // Tgetlineage / Tfsyncdur.
    let Message::Rgetlineage(l) = c.call(Message::Tgetlineage).await else {
        panic!()
    };
    assert_eq!((l.token, l.writer_epoch), (server.lineage(), 0));
    let sync = |token, datasync| {
        Message::Tfsyncdur(Tfsyncdur {
            fid: 2,
            datasync,
            token,
        })
    };
    assert_eq!(c.call(sync(l.token, 3)).await, Message::Rfsync);
    assert_eq!(c.call(sync(0, 0)).await, Message::Rfsync);
    assert_eq!(errno(&c.call(sync(l.token, 4)).await), e::EINVAL);
    assert_eq!(errno(&c.call(sync(l.token ^ 2, 0)).await), e::ESTALE);
    let new = server.rotate_lineage();
    assert_ne!(new, l.token);
    assert_eq!(errno(&c.call(sync(l.token, 0)).await), e::ESTALE);
    assert_eq!(
        errno(
            &c.call(Message::Tfsyncdur(Tfsyncdur {
                fid: 77,
                datasync: 0,
                token: 0
            }))
            .await
        ),
        e::EBADF
    );
    // Tlopenatread: prefetch with eof; clamped to msize - 29.
    let r = c.call(lopenatread(1, 3, 0, 100)).await;
    assert!(
        matches!(&r, Message::Rlopenatread(o) if !o.eof && o.data.is_empty()),
        "a directory: no data: {r:?}"
    );
    let Message::Rwalk(_) = c.call(walk(1, 4, &["f"])).await else {
        panic!()
    };
    let r = c.call(lopenatread(4, 5, 0, 100)).await;
    assert!(
        matches!(&r, Message::Rlopenatread(o) if o.eof && o.data.as_ref() == b"0123456789"),
        "{r:?}"
    );
    let r = c.call(lopenatread(4, 6, 0, 4)).await;
    assert!(
        matches!(&r, Message::Rlopenatread(o) if !o.eof && o.data.as_ref() == b"0123"),
        "{r:?}"
    );
    c.version(4096 + 29 + 3, "9P2000.L.Z").await;
    c.attach(1, "").await;
    c.call(walk(1, 4, &["f"])).await;
    let r = c.call(lopenatread(4, 5, 0, 1 << 20)).await;
    assert!(matches!(&r, Message::Rlopenatread(o) if o.eof), "{r:?}");
    // Tfallocate: write-open fid, the four modes.
    let fal = |fid, mode, offset, length| {
        Message::Tfallocate(Tfallocate {
            fid,
            offset,
            length,
            mode,
        })
    };
    assert_eq!(
        errno(&c.mutate(fal(5, 0, 0, 100)).await),
        e::EBADF,
        "read-only fid"
    );
    let Message::Rlopenat(_) = c
        .call(Message::Tlopenat(Tlopenat {
            fid: 4,
            newfid: 6,
            flags: open::WRONLY,
        }))
        .await
    else {
        panic!()
    };
    assert_eq!(
        errno(&c.mutate(fal(6, fa::PUNCH_HOLE, 0, 1)).await),
        e::EOPNOTSUPP
    );
    assert_eq!(c.mutate(fal(6, 0, 0, 100)).await, Message::Rfallocate);
    assert_eq!(
        c.mutate(fal(6, fa::PUNCH_HOLE | fa::KEEP_SIZE, 0, 5)).await,
        Message::Rfallocate
    );
    let Message::Rread(r) = c.call(read(5, 0, 200)).await else {
        panic!()
    };
    assert_eq!(r.data.len(), 100);
    assert_eq!(&r.data[..10], b"\0\0\0\0\x0056789");
    // .Z Trebind: user name or credential payload, REPLAY failures are ESTALE.
    let rebind = |fid, inode_id, root_inode, flags, uname: Bytes, n_uname| {
        Message::TrebindZ(TrebindZ {
            fid,
            inode_id,
            root_inode,
            flags,
            uname,
            n_uname,
        })
    };
    assert!(
        matches!(c.call(rebind(10, d.path, 0, 0, b("root"), 0)).await, Message::Rrebind(r) if r.qid == d)
    );
    let creds = Credentials {
        gid: 42,
        groups: vec![1, 2],
        incomplete: false,
    }
    .to_bytes();
    assert!(matches!(
        c.call(rebind(11, d.path, d.path, 1, creds.clone(), 1000))
            .await,
        Message::Rrebind(_)
    ));
    let mut bad = creds.to_vec();
    bad.push(0);
    assert_eq!(
        errno(
            &c.call(rebind(12, d.path, 0, 0, Bytes::from(bad), 1000))
                .await
        ),
        e::EINVAL
    );
    assert_eq!(
        errno(&c.call(rebind(12, 999, 0, 0, b("root"), 0)).await),
        e::ENOENT
    );
    assert_eq!(
        errno(&c.call(rebind(12, 999, 0, 1, b("root"), 0)).await),
        e::ESTALE
    );
    assert_eq!(
        errno(&c.call(rebind(12, 0, d.path, 1, b("root"), 0)).await),
        e::ESTALE,
        "outside the root"
    );
    assert_eq!(
        errno(&c.call(rebind(12, 0, 0, 2, b("root"), 0)).await),
        e::EINVAL,
        "OPENED without REPLAY"
    );
    assert_eq!(
        errno(&c.call(rebind(10, 0, 0, 0, b("root"), 0)).await),
        e::EINVAL,
        "fid in use"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn z_setattr_validation_and_open_checks() {
    let (server, mut c) = setup(Generation::Z).await;
    file(&mut c, 2, "f", b"abc").await;
    let set = |valid, atime_nsec| {
        Message::Tsetattr(Tsetattr {
            fid: 2,
            valid,
            atime_nsec,
            ..Tsetattr::default()
        })
    };
    assert_eq!(
        errno(&c.mutate(set(0x400, 0)).await),
        e::EINVAL,
        "unknown bit"
    );
    assert_eq!(
        errno(&c.mutate(set(sa::ATIME_SET, 0)).await),
        e::EINVAL,
        "SET without ATIME"
    );
    assert_eq!(
        errno(
            &c.mutate(set(sa::ATIME | sa::ATIME_SET, 1_000_000_000))
                .await
        ),
        e::EINVAL
    );
    assert_eq!(
        c.mutate(set(sa::ATIME | sa::ATIME_SET, 5)).await,
        Message::Rsetattr
    );
    assert_eq!(
        c.mutate(set(sa::ATIME_ACCESS | sa::ATIME, 0)).await,
        Message::Rsetattr
    );
    assert_eq!(
        errno(
            &c.mutate(set(sa::ATIME_ACCESS | sa::ATIME | sa::MTIME, 0))
                .await
        ),
        e::EINVAL
    );
    // Size through a read-only fid: EBADF.
    c.call(walk(1, 3, &["f"])).await;
    c.call(lopen(3, open::RDONLY)).await;
    let trunc = Message::Tsetattr(Tsetattr {
        fid: 3,
        valid: sa::SIZE,
        ..Tsetattr::default()
    });
    assert_eq!(errno(&c.mutate(trunc).await), e::EBADF);
    // Open-time permission checks and access mode 3.
    c.call(walk(1, 4, &["f"])).await;
    assert_eq!(errno(&c.call(lopen(4, 3)).await), e::EINVAL);
    let mut u = connect(&server, "9P2000.L.Z").await;
    u.attach_as(1, "", 1000).await.unwrap();
    u.call(walk(1, 2, &["f"])).await;
    assert_eq!(errno(&u.call(lopen(2, open::WRONLY)).await), e::EACCES);
    assert!(matches!(
        u.call(lopen(2, open::RDONLY)).await,
        Message::Rlopen(_)
    ));
    server.shutdown().await;
}
