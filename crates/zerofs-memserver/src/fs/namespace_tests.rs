//! Unit tests of the namespace operations.

use zerofs_9p_proto::consts::mode;

use super::tests::{chmod, plain, root, user, z};
use super::*;

#[test]
fn creates_are_exclusive_and_validate_names() {
    let mut fs = plain();
    fs.create_file(&root(), ROOT, b"f", 0o100644, 7).unwrap();
    assert_eq!(
        fs.create_file(&root(), ROOT, b"f", 0o644, 0),
        Err(Errno::EEXIST)
    );
    assert_eq!(fs.mkdir(&root(), ROOT, b"f", 0o755, 0), Err(Errno::EEXIST));
    assert_eq!(fs.symlink(&root(), ROOT, b"f", b"x", 0), Err(Errno::EEXIST));
    assert_eq!(
        fs.mkdir(&root(), ROOT, &[b'x'; 256], 0o755, 0),
        Err(Errno::ENAMETOOLONG)
    );
    assert!(fs.mkdir(&root(), ROOT, &[b'x'; 255], 0o755, 0).is_ok());
    assert_eq!(fs.mkdir(&root(), ROOT, b"..", 0o755, 0), Err(Errno::EEXIST));
    assert_eq!(fs.mkdir(&root(), ROOT, b"", 0o755, 0), Err(Errno::ENOENT));
    let f = fs.lookup(&root(), ROOT, b"f").unwrap();
    let st = fs.stat(f).unwrap();
    assert_eq!(
        st.mode,
        mode::S_IFREG | 0o644,
        "type bits of the request are dropped"
    );
    assert_eq!(st.gid, 7);
    // ZeroFS checks write+search permission on the "directory" before its type: even root
    // lacks search permission on a file without x bits.
    assert_eq!(
        fs.create_file(&root(), f, b"x", 0o644, 0),
        Err(Errno::EACCES)
    );
    chmod(&mut fs, &root(), f, 0o755);
    assert_eq!(
        fs.create_file(&root(), f, b"x", 0o644, 0),
        Err(Errno::ENOTDIR)
    );
}

#[test]
fn write_permission_on_the_directory_for_create_unlink_rename() {
    let mut fs = plain();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o755, 0).unwrap();
    fs.create_file(&root(), d, b"f", 0o666, 0).unwrap();
    let u = user(1000);
    assert_eq!(fs.create_file(&u, d, b"g", 0o644, 1000), Err(Errno::EACCES));
    assert_eq!(fs.mkdir(&u, d, b"g", 0o755, 1000), Err(Errno::EACCES));
    assert_eq!(fs.unlinkat(&u, d, b"f", false), Err(Errno::EACCES));
    assert_eq!(fs.rename(&u, d, b"f", d, b"g"), Err(Errno::EACCES));
    assert_eq!(
        fs.link(&u, d, b"g", fs.lookup(&u, d, b"f").unwrap()),
        Err(Errno::EACCES)
    );
}

#[test]
fn sticky_root_protects_other_users_entries() {
    let mut fs = plain();
    fs.create_file(&user(1), ROOT, b"mine", 0o644, 1).unwrap();
    assert_eq!(
        fs.unlinkat(&user(2), ROOT, b"mine", false),
        Err(Errno::EACCES)
    );
    assert_eq!(
        fs.rename(&user(2), ROOT, b"mine", ROOT, b"theirs"),
        Err(Errno::EACCES)
    );
    assert!(fs.unlinkat(&user(1), ROOT, b"mine", false).is_ok());
}

#[test]
fn unlinkat_checks_type_and_emptiness() {
    let mut fs = plain();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o755, 0).unwrap();
    fs.create_file(&root(), d, b"f", 0o644, 0).unwrap();
    assert_eq!(fs.unlinkat(&root(), ROOT, b"d", false), Err(Errno::EISDIR));
    assert_eq!(fs.unlinkat(&root(), d, b"f", true), Err(Errno::ENOTDIR));
    assert_eq!(
        fs.unlinkat(&root(), ROOT, b"d", true),
        Err(Errno::ENOTEMPTY)
    );
    assert_eq!(
        fs.unlinkat(&root(), ROOT, b"missing", false),
        Err(Errno::ENOENT)
    );
    assert_eq!(fs.stat(ROOT).unwrap().nlink, 3);
    fs.unlinkat(&root(), d, b"f", false).unwrap();
    fs.unlinkat(&root(), ROOT, b"d", true).unwrap();
    assert_eq!(fs.stat(ROOT).unwrap().nlink, 2);
    assert_eq!(fs.stat(d), Err(Errno::ENOENT));
}

#[test]
fn hard_links_count_and_outlive_names() {
    let mut fs = plain();
    let f = fs.create_file(&root(), ROOT, b"f", 0o644, 0).unwrap();
    fs.write(&root(), f, 0, b"data").unwrap();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o755, 0).unwrap();
    fs.link(&root(), d, b"g", f).unwrap();
    assert_eq!(fs.stat(f).unwrap().nlink, 2);
    assert_eq!(fs.link(&root(), d, b"g", f), Err(Errno::EEXIST));
    assert_eq!(
        fs.link(&root(), ROOT, b"dl", d),
        Err(Errno::EINVAL),
        "no links to directories"
    );
    let s = fs.symlink(&root(), ROOT, b"s", b"f", 0).unwrap();
    assert_eq!(
        fs.link(&root(), ROOT, b"sl", s),
        Err(Errno::EINVAL),
        "nor to symlinks (ZeroFS)"
    );
    assert_eq!(
        fs.link(&root(), f, b"x", f),
        Err(Errno::EACCES),
        "permission before type, as ZeroFS"
    );
    fs.unlinkat(&root(), ROOT, b"f", false).unwrap();
    assert_eq!(fs.stat(f).unwrap().nlink, 1);
    assert_eq!(fs.read(&root(), f, 0, 10).unwrap().to_vec(), b"data");
    assert!(fs.is_under(f, d));
    fs.unlinkat(&root(), d, b"g", false).unwrap();
    assert_eq!(fs.stat(f), Err(Errno::ENOENT));
}

#[test]
fn symlinks_and_special_nodes() {
    let mut fs = plain();
    let s = fs.symlink(&root(), ROOT, b"s", b"../x\xff", 0).unwrap();
    let st = fs.stat(s).unwrap();
    assert_eq!(st.mode, mode::S_IFLNK | 0o777);
    assert_eq!(st.size, 5);
    assert!(st.qid.ty.is_symlink());
    assert_eq!(fs.readlink(s).unwrap().as_ref(), b"../x\xff");
    assert_eq!(fs.readlink(ROOT), Err(Errno::EINVAL));
    let c = fs
        .mknod(&root(), ROOT, b"c", Special::Char(4, 0x1234), 0o620, 0)
        .unwrap();
    let st = fs.stat(c).unwrap();
    assert_eq!(st.mode, mode::S_IFCHR | 0o620);
    assert_eq!(st.rdev, (4 << 8) | 0x1234, "seed-era packing");
    assert_eq!(st.qid.ty, zerofs_9p_proto::QidType::FILE);
    let mut zfs = z();
    let c = zfs
        .mknod(&root(), ROOT, b"c", Special::Block(8, 0x1234), 0o600, 0)
        .unwrap();
    assert_eq!(
        zfs.stat(c).unwrap().rdev,
        0x34 | (8 << 8) | (0x1200 << 12),
        "new_encode_dev"
    );
    let big = zfs
        .mknod(&root(), ROOT, b"big", Special::Char(0x1000, 0), 0o600, 0)
        .unwrap();
    assert_eq!(zfs.stat(big).map(|s| s.rdev), Err(Errno(75)));
    for (n, sp, bits) in [
        (&b"p"[..], Special::Fifo, mode::S_IFIFO),
        (b"k", Special::Socket, mode::S_IFSOCK),
    ] {
        let i = fs.mknod(&root(), ROOT, n, sp, 0o644, 0).unwrap();
        assert_eq!(fs.stat(i).unwrap().mode, bits | 0o644);
        assert_eq!(
            fs.write(&root(), i, 0, b"x"),
            Err(Errno::EISDIR),
            "ZeroFS writes only regular files"
        );
    }
}

#[test]
fn rename_semantics() {
    let mut fs = plain();
    let a = fs.mkdir(&root(), ROOT, b"a", 0o755, 0).unwrap();
    let b = fs.mkdir(&root(), ROOT, b"b", 0o755, 0).unwrap();
    let f = fs.create_file(&root(), a, b"f", 0o644, 0).unwrap();
    let g = fs.create_file(&root(), b, b"g", 0o644, 0).unwrap();
    // Replace an existing file.
    fs.rename(&root(), a, b"f", b, b"g").unwrap();
    assert_eq!(fs.lookup(&root(), b, b"g"), Ok(f));
    assert_eq!(fs.stat(g), Err(Errno::ENOENT));
    assert_eq!(fs.rename(&root(), a, b"f", b, b"h"), Err(Errno::ENOENT));
    // Directories: into itself, over a non-empty directory, dots.
    let c = fs.mkdir(&root(), a, b"c", 0o755, 0).unwrap();
    assert_eq!(fs.rename(&root(), ROOT, b"a", c, b"x"), Err(Errno::EINVAL));
    assert_eq!(fs.rename(&root(), ROOT, b"a", a, b"x"), Err(Errno::EINVAL));
    assert_eq!(
        fs.rename(&root(), ROOT, b"b", ROOT, b"a"),
        Err(Errno::ENOTEMPTY)
    );
    assert_eq!(
        fs.rename(&root(), ROOT, b"..", ROOT, b"z"),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        fs.rename(&root(), ROOT, b"a", ROOT, b"."),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        fs.rename(&root(), ROOT, b"a", ROOT, &[b'n'; 256]),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        fs.rename(&root(), ROOT, b"missing", ROOT, b"missing"),
        Ok(()),
        "same name: no-op"
    );
    // Moving a directory moves a link of its parents.
    assert_eq!(fs.stat(a).unwrap().nlink, 3);
    fs.rename(&root(), a, b"c", b, b"c2").unwrap();
    assert_eq!(fs.stat(a).unwrap().nlink, 2);
    assert_eq!(fs.stat(b).unwrap().nlink, 3);
    assert_eq!(fs.walk_step(&root(), c, b"..", ROOT), Err(Errno::ENOENT));
    assert!(fs.is_under(c, b) && !fs.is_under(c, a));
    // Two names of one inode: nothing happens.
    fs.link(&root(), b, b"g2", f).unwrap();
    fs.rename(&root(), b, b"g", b, b"g2").unwrap();
    assert_eq!(fs.stat(f).unwrap().nlink, 2);
}

#[test]
fn rename_within_a_directory_keeps_the_cookie() {
    let mut fs = plain();
    for n in [&b"a"[..], b"b", b"c"] {
        fs.create_file(&root(), ROOT, n, 0o644, 0).unwrap();
    }
    let before = fs.readdir(&root(), ROOT, 0, 100).unwrap();
    fs.rename(&root(), ROOT, b"a", ROOT, b"z").unwrap();
    let after = fs.readdir(&root(), ROOT, 0, 100).unwrap();
    assert_eq!(before[2].cookie, after[2].cookie);
    assert_eq!(after[2].name.as_ref(), b"z");
}

#[test]
fn mkdir_inherits_setgid() {
    let mut fs = plain();
    let d = fs.mkdir(&root(), ROOT, b"d", 0o2775, 50).unwrap();
    let e = fs.mkdir(&root(), d, b"e", 0o755, 50).unwrap();
    assert_eq!(fs.stat(e).unwrap().mode & 0o7777, 0o2755);
}
