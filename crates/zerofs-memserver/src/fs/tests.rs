//! Unit tests of the filesystem semantics.

use zerofs_9p_proto::consts::{fallocate as fa, mode};

use super::dir::COOKIE_FIRST;
use super::*;

// The fixture below is shared with `namespace_tests`.

/// The credentials of uid 0.
pub(super) fn root() -> Creds {
    Creds::from_uid(0)
}

/// The credentials of `uid`.
pub(super) fn user(uid: u32) -> Creds {
    Creds::from_uid(uid)
}

/// An empty filesystem with every 1.2+ behaviour on.
pub(super) fn z() -> Fs {
    Fs::new(
        Profile {
            dots: true,
            lookup_name_len: true,
            new_rdev: true,
            fixed_files: true,
        },
        0,
        0,
    )
}

/// `who` sets the permission bits of `ino` to `mode`; panics if refused.
pub(super) fn chmod(fs: &mut Fs, who: &Creds, ino: u64, mode: u32) {
    let change = SetAttr {
        mode: Some(mode),
        ..SetAttr::default()
    };
    fs.setattr(who, ino, &change)
        .unwrap_or_else(|e| panic!("chmod {ino} to {mode:o}: {e:?}"));
}

/// An empty filesystem behaving like 0.19.1.
pub(super) fn plain() -> Fs {
    Fs::new(Profile::default(), 0, 0)
}

#[test]
fn root_is_inode_zero_sticky_and_world_writable() {
    let fs = plain();
    let st = fs.stat(ROOT).unwrap();
    assert_eq!(st.qid.path, 0);
    assert!(st.qid.ty.is_dir());
    assert_eq!(st.mode, mode::S_IFDIR | 0o1777);
    assert_eq!(st.nlink, 2);
    assert_eq!(st.blksize, 4096);
}

#[test]
fn inode_ids_are_never_reused() {
    let mut fs = plain();
    let a = fs.create_file(&root(), ROOT, b"a", 0o644, 0).unwrap();
    fs.unlinkat(&root(), ROOT, b"a", false).unwrap();
    let b = fs.create_file(&root(), ROOT, b"a", 0o644, 0).unwrap();
    assert!(b > a);
    assert_eq!(fs.stat(a), Err(Errno::ENOENT));
}

#[test]
fn lookup_and_walk_steps() {
    let mut fs = z();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o755, 0).unwrap();
    let e = fs.mkdir(&root(), d, b"e", 0o755, 0).unwrap();
    let f = fs.create_file(&root(), e, b"f", 0o644, 0).unwrap();
    assert_eq!(fs.lookup(&root(), ROOT, b"d"), Ok(d));
    assert_eq!(fs.lookup(&root(), ROOT, b"nope"), Err(Errno::ENOENT));
    assert_eq!(fs.lookup(&root(), f, b"x"), Err(Errno::ENOTDIR));
    assert_eq!(
        fs.lookup(&root(), ROOT, &[b'y'; 256]),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(fs.walk_step(&root(), e, b"..", ROOT), Ok(d));
    assert_eq!(fs.walk_step(&root(), e, b".", ROOT), Ok(e));
    assert_eq!(
        fs.walk_step(&root(), d, b"..", d),
        Ok(d),
        ".. stays at the attach root"
    );
    assert_eq!(fs.walk_step(&root(), ROOT, b"..", ROOT), Ok(ROOT));
    // 0.19.1 has no dot entries and no name-length check in lookups.
    let mut p = plain();
    let d = p.mkdir(&root(), ROOT, b"d", 0o755, 0).unwrap();
    assert_eq!(p.walk_step(&root(), d, b"..", ROOT), Err(Errno::ENOENT));
    assert_eq!(p.walk_step(&root(), d, b".", ROOT), Err(Errno::ENOENT));
    assert_eq!(p.lookup(&root(), ROOT, &[b'y'; 256]), Err(Errno::ENOENT));
}

#[test]
fn search_permission_on_walk_and_root_needs_some_x_bit() {
    let mut fs = z();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o700, 0).unwrap();
    fs.create_file(&root(), d, b"f", 0o644, 0).unwrap();
    assert_eq!(fs.lookup(&user(1000), d, b"f"), Err(Errno::EACCES));
    assert!(fs.lookup(&root(), d, b"f").is_ok());
    chmod(&mut fs, &root(), d, 0o600);
    assert_eq!(
        fs.lookup(&root(), d, b"f"),
        Err(Errno::EACCES),
        "root needs some x bit"
    );
    chmod(&mut fs, &root(), d, 0o701);
    assert!(fs.lookup(&user(1000), d, b"f").is_ok(), "other x bit");
}

#[test]
fn owner_group_other_classes_decide_alone() {
    let mut fs = plain();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o707, 5).unwrap();
    // uid 5 is in group 5 (gid = uid), but the owner class (root-owned, uid 0) does not apply;
    // the group class has no bits: denied although "other" allows.
    assert_eq!(
        fs.create_file(&user(5), d, b"x", 0o644, 5),
        Err(Errno::EACCES)
    );
    assert!(fs.create_file(&user(6), d, b"x", 0o644, 6).is_ok());
}

#[test]
fn readdir_lists_dots_first_then_entries_in_batches() {
    let mut fs = plain();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o755, 0).unwrap();
    for i in 0..5 {
        fs.create_file(&root(), d, format!("f{i}").as_bytes(), 0o644, 0)
            .unwrap();
    }
    let all = fs.readdir(&root(), d, 0, 1000).unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(
        (all[0].name.as_ref(), all[0].cookie, all[0].ino),
        (&b"."[..], COOKIE_DOT, d)
    );
    assert_eq!(
        (all[1].name.as_ref(), all[1].cookie, all[1].ino),
        (&b".."[..], COOKIE_DOTDOT, ROOT)
    );
    assert_eq!(all[2].cookie, COOKIE_FIRST);
    let page = fs.readdir(&root(), d, 1, 2).unwrap();
    assert_eq!(
        page.iter().map(|i| i.cookie).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let rest = fs.readdir(&root(), d, 3, 1000).unwrap();
    assert_eq!(rest.len(), 4);
    assert!(
        fs.readdir(&root(), d, rest[3].cookie, 1000)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        fs.readdir(&root(), ROOT, 0, 10).unwrap()[1].ino,
        ROOT,
        "root's .. is itself"
    );
    let f = fs.lookup(&root(), d, b"f0").unwrap();
    assert_eq!(fs.readdir(&root(), f, 0, 10), Err(Errno::ENOTDIR));
    chmod(&mut fs, &root(), d, 0o311);
    assert_eq!(fs.readdir(&user(9), d, 0, 10), Err(Errno::EACCES));
}

#[test]
fn read_write_sparse_and_permissions() {
    let mut fs = plain();
    let f = fs.create_file(&user(1), ROOT, b"f", 0o044, 1).unwrap();
    fs.write(&user(1), f, 1 << 40, b"far").unwrap();
    assert_eq!(fs.stat(f).unwrap().size, (1 << 40) + 3);
    assert_eq!(fs.stat(f).unwrap().blocks, ((1u64 << 40) + 3).div_ceil(512));
    assert_eq!(
        fs.read(&user(1), f, 5, 4).map(|d| d.to_vec()),
        Err(Errno::EACCES),
        "the owner class decides: no r bit for the owner"
    );
    chmod(&mut fs, &user(1), f, 0o644);
    assert_eq!(fs.read(&user(1), f, 5, 4).unwrap().to_vec(), vec![0; 4]);
    assert_eq!(fs.read(&user(1), f, 1 << 40, 100).unwrap().to_vec(), b"far");
    assert!(fs.read(&user(1), f, 1 << 41, 100).unwrap().is_empty());
    assert_eq!(fs.write(&user(2), f, 0, b"x"), Err(Errno::EACCES));
    assert_eq!(fs.read(&root(), ROOT, 0, 1).err(), Some(Errno::EISDIR));
    assert_eq!(fs.write(&root(), f, u64::MAX, b"x"), Err(Errno::EFBIG));
}

#[test]
fn writes_by_others_clear_setuid_and_stamp_times() {
    let mut fs = plain();
    let f = fs.create_file(&user(1), ROOT, b"f", 0o6777, 1).unwrap();
    let t0 = fs.get(f).unwrap().mtime;
    fs.write(&user(2), f, 0, b"x").unwrap();
    let n = fs.get(f).unwrap();
    assert_eq!(n.perm, 0o777);
    assert!(n.mtime >= t0 && n.ctime >= t0);
}

#[test]
fn ancestors_need_search_permission() {
    let mut fs = plain();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o777, 0).unwrap();
    let f = fs.create_file(&user(1), d, b"f", 0o666, 1).unwrap();
    chmod(&mut fs, &root(), d, 0o776);
    assert_eq!(fs.read(&user(1), f, 0, 1).err(), Some(Errno::EACCES));
    assert_eq!(fs.write(&user(1), f, 0, b"x"), Err(Errno::EACCES));
    assert_eq!(
        fs.setattr(
            &user(1),
            f,
            &SetAttr {
                size: Some(1),
                ..SetAttr::default()
            }
        ),
        Err(Errno::EACCES)
    );
}

#[test]
fn setattr_every_bit() {
    let mut fs = plain();
    let f = fs.create_file(&user(1), ROOT, b"f", 0o644, 1).unwrap();
    let at = Time {
        sec: 1_700_000_000,
        nsec: 42,
    };
    fs.setattr(
        &user(1),
        f,
        &SetAttr {
            mode: Some(0o100600),
            size: Some(10),
            atime: SetTime::At(at),
            mtime: SetTime::At(at),
            ..SetAttr::default()
        },
    )
    .unwrap();
    let st = fs.stat(f).unwrap();
    assert_eq!(
        (
            st.mode & 0o7777,
            st.size,
            st.atime_sec,
            st.atime_nsec,
            st.mtime_sec,
            st.mtime_nsec
        ),
        (0o600, 10, at.sec, 42, at.sec, 42)
    );
    assert_eq!(st.qid.version, at.sec as u32, "qid.version = mtime seconds");
    assert!(st.ctime_sec > at.sec, "ctime is the server's now");
    fs.setattr(
        &user(1),
        f,
        &SetAttr {
            atime: SetTime::Now,
            mtime: SetTime::Now,
            ..SetAttr::default()
        },
    )
    .unwrap();
    assert!(fs.stat(f).unwrap().mtime_sec > at.sec);
    // Ownership rules: a non-owner cannot chmod; the owner cannot give the file away or move
    // it to a group it is not in.
    let refused = [
        (
            2,
            SetAttr {
                mode: Some(0o777),
                ..SetAttr::default()
            },
        ),
        (
            1,
            SetAttr {
                uid: Some(2),
                ..SetAttr::default()
            },
        ),
        (
            1,
            SetAttr {
                gid: Some(9),
                ..SetAttr::default()
            },
        ),
    ];
    for (uid, change) in refused {
        assert_eq!(
            fs.setattr(&user(uid), f, &change),
            Err(Errno::EPERM),
            "uid {uid}: {change:?}"
        );
    }
    assert!(
        fs.setattr(
            &user(1),
            f,
            &SetAttr {
                uid: Some(1),
                gid: Some(1),
                ..SetAttr::default()
            }
        )
        .is_ok()
    );
    assert_eq!(
        fs.setattr(
            &user(2),
            f,
            &SetAttr {
                mtime: SetTime::At(at),
                ..SetAttr::default()
            }
        ),
        Err(Errno::EPERM)
    );
    assert_eq!(
        fs.setattr(
            &user(2),
            f,
            &SetAttr {
                mtime: SetTime::Now,
                ..SetAttr::default()
            }
        ),
        Err(Errno::EACCES)
    );
    assert_eq!(
        fs.setattr(
            &user(2),
            f,
            &SetAttr {
                size: Some(0),
                ..SetAttr::default()
            }
        ),
        Err(Errno::EACCES)
    );
    fs.setattr(
        &root(),
        f,
        &SetAttr {
            uid: Some(3),
            gid: Some(4),
            mode: Some(0o6755),
            ..SetAttr::default()
        },
    )
    .unwrap();
    let st = fs.stat(f).unwrap();
    assert_eq!((st.uid, st.gid, st.mode & 0o7777), (3, 4, 0o6755));
    fs.setattr(
        &user(3),
        f,
        &SetAttr {
            gid: Some(3),
            ..SetAttr::default()
        },
    )
    .unwrap();
    assert_eq!(
        fs.stat(f).unwrap().mode & 0o7777,
        0o755,
        "non-root chown clears setuid/setgid"
    );
    fs.setattr(
        &root(),
        f,
        &SetAttr {
            size: Some(3),
            ..SetAttr::default()
        },
    )
    .unwrap();
    assert_eq!(fs.stat(f).unwrap().size, 3);
    // A directory's size cannot change (ZeroFS ignores it).
    fs.setattr(
        &root(),
        ROOT,
        &SetAttr {
            size: Some(99),
            ..SetAttr::default()
        },
    )
    .unwrap();
    assert_eq!(fs.stat(ROOT).unwrap().size, 0);
}

#[test]
fn fallocate_modes() {
    let mut fs = plain();
    let f = fs.create_file(&root(), ROOT, b"f", 0o644, 0).unwrap();
    fs.write(&root(), f, 0, &[1; 100]).unwrap();
    fs.fallocate(f, 90, 20, 0).unwrap();
    assert_eq!(fs.stat(f).unwrap().size, 110);
    fs.fallocate(f, 10, 10, fa::PUNCH_HOLE | fa::KEEP_SIZE)
        .unwrap();
    let data = fs.read(&root(), f, 0, 200).unwrap().to_vec();
    assert_eq!((data[9], data[10], data[19], data[20]), (1, 0, 0, 1));
    fs.fallocate(f, 100, 50, fa::ZERO_RANGE | fa::KEEP_SIZE)
        .unwrap();
    assert_eq!(fs.stat(f).unwrap().size, 110);
    fs.fallocate(f, 0, 200, fa::ZERO_RANGE).unwrap();
    assert_eq!(fs.stat(f).unwrap().size, 200);
    assert!(
        fs.read(&root(), f, 0, 200)
            .unwrap()
            .to_vec()
            .iter()
            .all(|&b| b == 0)
    );
    for bad in [fa::PUNCH_HOLE, fa::KEEP_SIZE, 0x08, 0x20] {
        assert_eq!(
            fs.fallocate(f, 0, 1, bad),
            Err(Errno::EOPNOTSUPP),
            "{bad:#x}"
        );
    }
    assert_eq!(fs.fallocate(f, 0, 0, 0), Err(Errno::EINVAL));
    assert_eq!(fs.fallocate(ROOT, 0, 1, 0), Err(Errno::EISDIR));
}

#[test]
fn statfs_values() {
    let mut fs = plain();
    let f = fs.create_file(&root(), ROOT, b"f", 0o644, 0).unwrap();
    fs.write(&root(), f, 0, &[1; 5000]).unwrap();
    let s = fs.statfs();
    assert_eq!(s.ty, 0x5A45524F);
    assert_eq!(s.bsize, 4096);
    assert_eq!(s.blocks, 1 << 51);
    assert_eq!(s.bfree, (1 << 51) - 2);
    assert_eq!(s.bavail, s.bfree);
    assert_eq!(s.ffree, (1 << 48) - 2);
    assert_eq!(s.files, 2 + s.ffree);
    assert_eq!(s.namelen, 255);
    assert_eq!(z().statfs().files, 1 << 48);
}

#[test]
fn is_under_follows_the_tree() {
    let mut fs = plain();
    let a = fs.mkdir(&root(), ROOT, b"a", 0o755, 0).unwrap();
    let b = fs.mkdir(&root(), a, b"b", 0o755, 0).unwrap();
    let other = fs.mkdir(&root(), ROOT, b"o", 0o755, 0).unwrap();
    let f = fs.create_file(&root(), b, b"f", 0o644, 0).unwrap();
    assert!(fs.is_under(f, a) && fs.is_under(b, a) && fs.is_under(a, a) && fs.is_under(f, ROOT));
    assert!(!fs.is_under(f, other) && !fs.is_under(a, b));
    assert!(!fs.is_under(999, ROOT));
}
