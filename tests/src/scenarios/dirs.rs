//! Reference scenarios 6-8, 24, 26: directories, listing, `*_at` operations.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use futures::TryStreamExt;
use zerofs_client::{FileType, OpenOptions, SetAttrs, ZeroFsError};

use crate::Fixture;

/// 6. create_dir_all, read_dir with inline metadata, next_batch, rewind.
pub async fn directories_and_listing(fx: Fixture) {
    let c = fx.client().await;
    let d = fx.p("/a/b/c");
    c.create_dir_all(&d, 0o755).await.unwrap();
    c.create_dir_all(&d, 0o755).await.unwrap();
    assert!(matches!(
        c.create_dir(&d, 0o755).await,
        Err(ZeroFsError::AlreadyExists { .. })
    ));
    c.write(fx.p("/a/b/f1"), b"one").await.unwrap();
    c.write(fx.p("/a/b/f2"), b"two!").await.unwrap();
    let mut list = c.read_dir(fx.p("/a/b")).await.unwrap();
    list.sort_by(|x, y| x.name.cmp(&y.name));
    let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["c", "f1", "f2"]);
    assert_eq!(list[0].file_type, FileType::Dir);
    let v1 = c.capabilities().extensions_v1;
    assert_eq!(
        list[2].metadata.map(|m| m.size),
        if v1 { Some(4) } else { None }
    );
    let dir = c.open_dir(fx.p("/a/b")).await.unwrap();
    assert_eq!(dir.next_batch(Some(2)).await.unwrap().len(), 2);
    assert_eq!(dir.next_batch(Some(0)).await.unwrap().len(), 0);
    assert_eq!(dir.next_batch(Some(100)).await.unwrap().len(), 1);
    assert!(dir.next_batch(None).await.unwrap().is_empty());
    assert!(dir.next_batch(None).await.unwrap().is_empty());
    dir.rewind().await.unwrap();
    let mut all = 0;
    for _ in 0..10 {
        let b = dir.next_batch(None).await.unwrap();
        if b.is_empty() {
            break;
        }
        all += b.len();
    }
    assert_eq!(all, 3);
    assert!(dir.metadata().await.unwrap().is_dir());
    assert!(matches!(
        c.open_dir(fx.p("/a/b/f1")).await,
        Err(ZeroFsError::NotADirectory { .. })
    ));
    assert!(matches!(
        c.read_dir(fx.p("/a/b/f1")).await,
        Err(ZeroFsError::NotADirectory { .. })
    ));
    dir.close().await;
    assert!(matches!(
        dir.next_batch(None).await,
        Err(ZeroFsError::Closed)
    ));
}

/// 7. Non-UTF-8 names through Dir::*_at and raw paths.
pub async fn non_utf8_names_via_dir_at(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir(fx.p("/raw"), 0o755).await.unwrap();
    let dir = c.open_dir(fx.p("/raw")).await.unwrap();
    let name: &[u8] = b"\xff\xfe-not-utf8";
    let f = dir
        .open_at(name, OpenOptions::read_write().create_new(true))
        .await
        .unwrap();
    f.write_at(0, b"bytes").await.unwrap();
    let list = c.read_dir(fx.p("/raw")).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(!list[0].name_is_utf8);
    assert_eq!(list[0].name_bytes, name);
    assert_eq!(dir.metadata_at(&list[0].name_bytes).await.unwrap().size, 5);
    let again = dir
        .open_at(&list[0].name_bytes, OpenOptions::read_only())
        .await
        .unwrap();
    assert_eq!(&again.read_at(0, 10).await.unwrap()[..], b"bytes");
    let mut raw = fx.p("/raw/").into_bytes();
    raw.extend_from_slice(name);
    let raw = Path::new(OsStr::from_bytes(&raw));
    assert_eq!(c.stat(raw).await.unwrap().size, 5);
    assert_eq!(&c.read(raw).await.unwrap()[..], b"bytes");
    assert_eq!(c.canonicalize(raw).await.unwrap(), raw);
    let target: &[u8] = b"\xc3\x28-target";
    dir.symlink_at(b"link\xfa", target).await.unwrap();
    assert_eq!(dir.read_link_at(b"link\xfa").await.unwrap(), target);
    dir.remove_file_at(b"link\xfa").await.unwrap();
    dir.remove_file_at(name).await.unwrap();
    assert!(c.read_dir(fx.p("/raw")).await.unwrap().is_empty());
}

/// 8. create_dir_at, rename_at, link_at, set_attr_at, open_dir_at, remove_dir_at.
pub async fn dir_at_suite_create_rename_remove(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir(fx.p("/x"), 0o755).await.unwrap();
    c.create_dir(fx.p("/y"), 0o755).await.unwrap();
    let x = c.open_dir(fx.p("/x")).await.unwrap();
    let y = c.open_dir(fx.p("/y")).await.unwrap();
    assert_eq!(
        x.create_dir_at(b"sub", 0o700).await.unwrap().permissions(),
        0o700
    );
    x.open_at(b"f", OpenOptions::write_only().create_new(true))
        .await
        .unwrap()
        .write_at(0, b"f")
        .await
        .unwrap();
    x.rename_at(b"f", &x, b"g").await.unwrap();
    x.rename_at(b"g", &y, b"h").await.unwrap();
    assert_eq!(&c.read(fx.p("/y/h")).await.unwrap()[..], b"f");
    let m = x.link_at(&y, b"h", b"hl").await.unwrap();
    assert_eq!(m.nlink, 2);
    let m = x
        .set_attr_at(
            b"hl",
            SetAttrs {
                mode: Some(0o600),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(m.permissions(), 0o600);
    let sub = x.open_dir_at(b"sub").await.unwrap();
    assert!(sub.next_batch(None).await.unwrap().is_empty());
    x.remove_dir_at(b"sub").await.unwrap();
    assert!(matches!(
        x.open_dir_at(b"hl").await,
        Err(ZeroFsError::NotADirectory { .. })
    ));
    assert!(matches!(
        x.metadata_at(b"..").await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    assert!(matches!(
        x.remove_file_at(b"a/b").await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    assert!(matches!(
        x.remove_dir_at(b"hl").await,
        Err(ZeroFsError::NotADirectory { .. })
    ));
    y.close().await;
    assert!(matches!(
        x.rename_at(b"hl", &y, b"z").await,
        Err(ZeroFsError::Closed)
    ));
    let other = fx.client().await.open_dir(fx.p("/x")).await.unwrap();
    assert!(matches!(
        x.rename_at(b"hl", &other, b"z").await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    let m = x.metadata_at(b"hl").await.unwrap();
    assert!(m.is_file());
}

/// 24. Dir::entries streams every entry.
pub async fn dir_entries_stream(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir(fx.p("/s"), 0o755).await.unwrap();
    for i in 0..5 {
        c.write(fx.p(&format!("/s/e{i}")), b"x").await.unwrap();
    }
    let dir = c.open_dir(fx.p("/s")).await.unwrap();
    let mut names: Vec<String> = dir
        .entries()
        .map_ok(|e| e.name)
        .try_collect()
        .await
        .unwrap();
    names.sort();
    assert_eq!(names, ["e0", "e1", "e2", "e3", "e4"]);
}

/// 26. create_dir_all accepts a symlink to a directory, not to a file.
pub async fn create_dir_all_accepts_symlink_to_dir(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir(fx.p("/real"), 0o755).await.unwrap();
    c.symlink("real", fx.p("/ln")).await.unwrap();
    c.create_dir_all(fx.p("/ln"), 0o755).await.unwrap();
    c.write(fx.p("/file"), b"x").await.unwrap();
    c.symlink("file", fx.p("/lf")).await.unwrap();
    assert!(matches!(
        c.create_dir_all(fx.p("/lf"), 0o755).await,
        Err(ZeroFsError::NotADirectory { .. })
    ));
    assert!(matches!(
        c.create_dir_all(fx.p("/file"), 0o755).await,
        Err(ZeroFsError::NotADirectory { .. })
    ));
    let sub = c.create_dir_all(fx.p("/file/sub"), 0o755).await;
    assert!(
        matches!(sub, Err(ZeroFsError::NotADirectory { .. })),
        "{sub:?}"
    );
    c.create_dir_all("/", 0o755).await.unwrap();
}
