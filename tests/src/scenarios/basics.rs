//! Reference scenarios 1-5, 9-13, 22, 23, 25, 27, 28: data, metadata, errors, records.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zerofs_client::{NodeKind, OpenOptions, SetTime, Timestamp, ZeroFsError};

use crate::Fixture;

/// 1. write, exists, read, read_range, stat, shorter rewrite.
pub async fn write_read_roundtrip(fx: Fixture) {
    let c = fx.client().await;
    let p = fx.p("/hello.txt");
    assert!(!c.exists(&p).await.unwrap());
    c.write(&p, b"hello from zerofs").await.unwrap();
    assert!(c.exists(&p).await.unwrap());
    assert_eq!(&c.read(&p).await.unwrap()[..], b"hello from zerofs");
    assert_eq!(&c.read_range(&p, 6, 4).await.unwrap()[..], b"from");
    assert!(c.read_range(&p, 1000, 10).await.unwrap().is_empty());
    assert_eq!(
        &c.read_range(&p, 11, u32::MAX).await.unwrap()[..],
        b"zerofs"
    );
    let m = c.stat(&p).await.unwrap();
    assert_eq!(m.size, 17);
    assert!(m.is_file());
    assert_eq!(m.permissions(), 0o644);
    c.write(&p, b"short").await.unwrap();
    assert_eq!(&c.read(&p).await.unwrap()[..], b"short");
}

/// 2. append creates, returns offsets.
pub async fn append_offsets_and_content(fx: Fixture) {
    let c = fx.client().await;
    let p = fx.p("/log");
    assert_eq!(c.append(&p, b"one\n").await.unwrap(), 0);
    assert_eq!(c.append(&p, b"two\n").await.unwrap(), 4);
    assert_eq!(&c.read(&p).await.unwrap()[..], b"one\ntwo\n");
}

/// 3. A file of 2.5 write chunks round-trips (pipelined I/O).
pub async fn large_file_chunks_across_msize(fx: Fixture) {
    let c = fx.client().await;
    let caps = c.capabilities();
    let expect_v2 = matches!(
        fx.caps.generation,
        Some(zerofs_memserver::Generation::Gen2 | zerofs_memserver::Generation::Z)
    );
    assert_eq!(caps.extensions_v2, expect_v2, "{caps:?}");
    assert_eq!(
        caps.extensions_v1,
        expect_v2 || fx.caps.generation == Some(zerofs_memserver::Generation::Gen1)
    );
    let n = caps.max_write_chunk as usize * 5 / 2;
    let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
    let p = fx.p("/big.bin");
    c.write(&p, &data).await.unwrap();
    let back = c.read(&p).await.unwrap();
    assert_eq!(back.len(), n);
    assert!(back[..] == data[..]);
    assert_eq!(
        c.read_range(&p, 1000, 5000).await.unwrap()[..],
        data[1000..6000]
    );
    let f = c.open(&p, OpenOptions::read_only()).await.unwrap();
    assert!(f.read_at(7, n as u32).await.unwrap()[..] == data[7..]);
}

/// 4. OpenOptions semantics.
pub async fn open_options_semantics(fx: Fixture) {
    let c = fx.client().await;
    let p = fx.p("/o.txt");
    let f = c
        .open(&p, OpenOptions::read_write().create_new(true))
        .await
        .unwrap();
    f.write_at(0, b"content").await.unwrap();
    assert!(matches!(
        c.open(&p, OpenOptions::read_write().create_new(true)).await,
        Err(ZeroFsError::AlreadyExists { .. })
    ));
    assert!(matches!(
        c.open(fx.p("/missing"), OpenOptions::read_only()).await,
        Err(ZeroFsError::NotFound { .. })
    ));
    let t = c
        .open(&p, OpenOptions::write_only().truncate(true))
        .await
        .unwrap();
    assert_eq!(t.metadata().await.unwrap().size, 0);
    let d = fx.p("/adir");
    c.create_dir(&d, 0o755).await.unwrap();
    let wd = c.open(&d, OpenOptions::write_only()).await;
    assert!(
        matches!(wd, Err(ZeroFsError::IsADirectory { .. })),
        "{wd:?}"
    );
    assert!(matches!(
        c.open(&p, OpenOptions::default()).await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    // create without create_new opens what exists, without truncating.
    c.write(&p, b"keep").await.unwrap();
    let k = c
        .open(&p, OpenOptions::read_write().create(true))
        .await
        .unwrap();
    assert_eq!(&k.read_at(0, 10).await.unwrap()[..], b"keep");
}

/// 5. File handle positioned I/O, set_len, sync, close.
pub async fn file_handle_positioned_io(fx: Fixture) {
    let c = fx.client().await;
    let f = c.create(fx.p("/pos")).await.unwrap();
    f.write_at(0, b"0123456789").await.unwrap();
    f.write_at(4, b"XY").await.unwrap();
    assert_eq!(&f.read_at(0, 100).await.unwrap()[..], b"0123XY6789");
    assert_eq!(&f.read_at(8, 100).await.unwrap()[..], b"89");
    // A huge length reads to the end without reserving that much memory.
    assert_eq!(f.read_at(1, u32::MAX).await.unwrap().len(), 9);
    assert!(f.read_at(3, 0).await.unwrap().is_empty());
    assert_eq!(f.metadata().await.unwrap().size, 10);
    f.set_len(4).await.unwrap();
    assert_eq!(f.metadata().await.unwrap().size, 4);
    f.sync_data().await.unwrap();
    f.sync_all().await.unwrap();
    let m = f
        .set_attr(zerofs_client::SetAttrs {
            mode: Some(0o600),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(m.permissions(), 0o600);
    f.close().await;
    assert!(matches!(f.read_at(0, 1).await, Err(ZeroFsError::Closed)));
    assert!(matches!(
        f.write_at(0, b"x").await,
        Err(ZeroFsError::Closed)
    ));
    f.close().await;
}

/// 9. Symlink resolution: stat is literal, metadata/canonicalize follow, loops fail.
pub async fn symlink_resolution(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir_all(fx.p("/releases/v7"), 0o755).await.unwrap();
    c.write(fx.p("/releases/v7/app.conf"), b"conf")
        .await
        .unwrap();
    c.symlink("v7", fx.p("/releases/current")).await.unwrap();
    c.create_dir(fx.p("/etc"), 0o755).await.unwrap();
    c.symlink(
        format!("{}/releases/current/app.conf", fx.prefix),
        fx.p("/etc/app.conf"),
    )
    .await
    .unwrap();
    assert!(
        c.stat(fx.p("/releases/current"))
            .await
            .unwrap()
            .is_symlink()
    );
    // Capability check: diod walks through symlinked directories on its host.
    if !fx.caps.walks_follow_symlinks {
        assert!(matches!(
            c.stat(fx.p("/releases/current/app.conf")).await,
            Err(ZeroFsError::NotADirectory { .. })
        ));
    } else {
        fx.skip_part(
            "walks pass through symlinked directories (the server resolves paths on its \
             host), so the literal-stat ENOTDIR check is not run",
        );
    }
    let m = c.metadata(fx.p("/etc/app.conf")).await.unwrap();
    assert!(m.is_file());
    assert_eq!(m.size, 4);
    assert!(
        c.metadata(fx.p("/releases/current/app.conf"))
            .await
            .unwrap()
            .is_file()
    );
    assert_eq!(
        c.canonicalize(fx.p("/etc/app.conf")).await.unwrap(),
        std::path::PathBuf::from(fx.p("/releases/v7/app.conf"))
    );
    c.create_dir(fx.p("/other"), 0o755).await.unwrap();
    c.symlink("../../other", fx.p("/releases/v7/up"))
        .await
        .unwrap();
    assert_eq!(
        c.canonicalize(fx.p("/releases/v7/up")).await.unwrap(),
        std::path::PathBuf::from(fx.p("/other"))
    );
    assert!(c.metadata(fx.p("/releases/v7/up")).await.unwrap().is_dir());
    assert_eq!(
        c.read_link(fx.p("/releases/current")).await.unwrap(),
        std::path::PathBuf::from("v7")
    );
    c.symlink("b", fx.p("/a")).await.unwrap();
    c.symlink("a", fx.p("/b")).await.unwrap();
    assert!(matches!(
        c.metadata(fx.p("/a")).await,
        Err(ZeroFsError::TooManySymlinks { .. })
    ));
    assert!(matches!(
        c.metadata(fx.p("/releases/none")).await,
        Err(ZeroFsError::NotFound { .. })
    ));
    assert_eq!(
        c.canonicalize("/").await.unwrap(),
        std::path::PathBuf::from("/")
    );
}

/// 10. rename, remove_dir on non-empty, remove_dir_all, remove_file of a missing file.
pub async fn rename_remove_and_recursive_delete(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir_all(fx.p("/src/deep/er"), 0o755).await.unwrap();
    c.create_dir(fx.p("/dst"), 0o755).await.unwrap();
    c.write(fx.p("/src/f"), b"f").await.unwrap();
    c.write(fx.p("/src/deep/er/g"), b"g").await.unwrap();
    c.symlink("/nowhere", fx.p("/src/deep/link")).await.unwrap();
    c.rename(fx.p("/src/f"), fx.p("/dst/f2")).await.unwrap();
    assert_eq!(&c.read(fx.p("/dst/f2")).await.unwrap()[..], b"f");
    assert!(!c.exists(fx.p("/src/f")).await.unwrap());
    c.rename(fx.p("/dst/f2"), fx.p("/dst/f3")).await.unwrap();
    assert!(c.exists(fx.p("/dst/f3")).await.unwrap());
    assert!(matches!(
        c.remove_dir(fx.p("/src")).await,
        Err(ZeroFsError::DirectoryNotEmpty { .. })
    ));
    c.remove_dir_all(fx.p("/src")).await.unwrap();
    assert!(!c.exists(fx.p("/src")).await.unwrap());
    assert!(matches!(
        c.remove_file(fx.p("/src")).await,
        Err(ZeroFsError::NotFound { .. })
    ));
    assert!(
        matches!(c.rename(fx.p("/nope"), fx.p("/dst/x")).await, Err(ZeroFsError::NotFound { path }) if path.ends_with("/nope"))
    );
    c.remove_file(fx.p("/dst/f3")).await.unwrap();
    c.remove_dir(fx.p("/dst")).await.unwrap();
}

/// 11. chmod, chown, truncate, set_times.
pub async fn metadata_operations(fx: Fixture) {
    let c = fx.client().await;
    let p = fx.p("/m");
    c.write(&p, b"12345678").await.unwrap();
    assert_eq!(c.chmod(&p, 0o100600).await.unwrap().permissions(), 0o600);
    let me = c.stat(&p).await.unwrap();
    let m = c.chown(&p, Some(me.uid), Some(me.gid)).await.unwrap();
    assert_eq!((m.uid, m.gid), (me.uid, me.gid));
    assert_eq!(c.truncate(&p, 4).await.unwrap().size, 4);
    assert_eq!(c.truncate(&p, 6).await.unwrap().size, 6);
    let at = Timestamp::new(1_700_000_000, 42);
    let m = c
        .set_times(&p, None, Some(SetTime::At { time: at }))
        .await
        .unwrap();
    assert_eq!(m.mtime, at);
    let m = c.set_times(&p, Some(SetTime::Now), None).await.unwrap();
    assert!(m.atime.secs >= 1_700_000_000);
    assert_eq!(c.stat(&p).await.unwrap().mtime, at);
}

/// 12. statfs, sync, mknod.
pub async fn statfs_sync_and_mknod(fx: Fixture) {
    let c = fx.client().await;
    let s = c.statfs().await.unwrap();
    assert!(s.block_size > 0);
    assert!(s.max_name_len >= 255);
    c.sync().await.unwrap();
    c.create_dir(fx.p("/n"), 0o755).await.unwrap();
    let m = c
        .mknod(fx.p("/n/fifo"), NodeKind::Fifo, 0o644)
        .await
        .unwrap();
    assert_eq!(m.file_type, zerofs_client::FileType::Fifo);
    let listing = c.read_dir(fx.p("/n")).await.unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].file_type, zerofs_client::FileType::Fifo);
}

/// 13. Path validation before any round trip, and error mapping.
pub async fn path_validation_and_errors(fx: Fixture) {
    let c = fx.client().await;
    let e = c.stat(fx.p("/missing")).await.unwrap_err();
    assert!(matches!(e, ZeroFsError::NotFound { .. }));
    assert_eq!(e.to_errno(), 2);
    assert!(matches!(
        c.stat(fx.p("/a/../b")).await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    let long = fx.p(&format!("/{}", "n".repeat(256)));
    assert!(matches!(
        c.write(&long, b"x").await,
        Err(ZeroFsError::NameTooLong { .. })
    ));
    c.write(fx.p("/file"), b"x").await.unwrap();
    assert!(matches!(
        c.stat(fx.p("/file/below")).await,
        Err(ZeroFsError::NotADirectory { .. } | ZeroFsError::NotFound { .. })
    ));
    let below = c.create_dir(fx.p("/file/below"), 0o755).await;
    assert!(
        matches!(below, Err(ZeroFsError::NotADirectory { .. })),
        "{below:?}"
    );
    assert!(matches!(
        c.remove_file("/").await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    assert!(matches!(
        c.remove_dir_all("/").await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    assert!(matches!(
        c.open("/", OpenOptions::read_only()).await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    let nul = OsStr::from_bytes(b"/a\0b");
    assert!(matches!(
        c.stat(nul).await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    if fx.prefix.is_empty() {
        for alias in ["file", "//file", "/./file", "file/"] {
            assert!(c.stat(alias).await.unwrap().is_file(), "{alias}");
        }
    }
}

/// 22. ZeroFsError into std::io::Error keeps kind and the original.
pub async fn error_converts_to_io_error_losslessly(fx: Fixture) {
    let c = fx.client().await;
    let err = c.read(fx.p("/absent")).await.unwrap_err();
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        io.get_ref()
            .and_then(|e| e.downcast_ref::<ZeroFsError>())
            .map(ZeroFsError::to_errno),
        Some(2)
    );
    let xdev = ZeroFsError::Io {
        errno: 18,
        path: "/x".into(),
        message: "cross-device".into(),
    };
    let io: std::io::Error = xdev.clone().into();
    assert_eq!(
        io.get_ref().and_then(|e| e.downcast_ref::<ZeroFsError>()),
        Some(&xdev)
    );
    async fn via_question_mark(c: &zerofs_client::Client, p: &str) -> std::io::Result<usize> {
        Ok(c.read(p).await?.len())
    }
    assert_eq!(
        via_question_mark(&c, &fx.p("/absent"))
            .await
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::NotFound
    );
}

/// 23. Extreme timestamps convert without panicking.
pub async fn extreme_timestamps_decode_without_panic(_fx: Fixture) {
    for t in [
        Timestamp::new(i64::MAX, 2_000_000_000),
        Timestamp::new(i64::MIN, 999_999_999),
        Timestamp::new(0, u32::MAX),
    ] {
        let st = SystemTime::from(t);
        // Either represented exactly (nanos clamped) or saturated to the epoch.
        let back = Timestamp::from(st);
        assert!(
            back == Timestamp::new(t.secs, t.nanos.min(999_999_999)) || st == UNIX_EPOCH,
            "{t:?} -> {back:?}"
        );
    }
    assert_eq!(
        SystemTime::from(Timestamp::new(0, u32::MAX)),
        UNIX_EPOCH + Duration::new(0, 999_999_999)
    );
}

/// 25. serde round trip of Metadata, SystemTime conversions, set_times from SystemTime.
pub async fn serde_roundtrip_and_systemtime_conversions(fx: Fixture) {
    let c = fx.client().await;
    let p = fx.p("/serde");
    c.write(&p, b"x").await.unwrap();
    let m = c.stat(&p).await.unwrap();
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(
        serde_json::from_str::<zerofs_client::Metadata>(&json).unwrap(),
        m
    );
    let before = UNIX_EPOCH - Duration::from_nanos(500);
    assert_eq!(Timestamp::from(before), Timestamp::new(-1, 999_999_500));
    assert_eq!(SystemTime::from(Timestamp::from(before)), before);
    let when = UNIX_EPOCH + Duration::new(1_600_000_000, 123);
    let m = c
        .set_times(&p, None, Some(SetTime::from(when)))
        .await
        .unwrap();
    assert_eq!(m.modified(), when);
}

/// 27. Times before the epoch are refused client-side.
pub async fn set_times_rejects_pre_epoch(fx: Fixture) {
    let c = fx.client().await;
    let p = fx.p("/t");
    c.write(&p, b"x").await.unwrap();
    let bad = SetTime::At {
        time: Timestamp::new(-1, 0),
    };
    assert!(matches!(
        c.set_times(&p, Some(bad), None).await,
        Err(ZeroFsError::InvalidArgument { .. })
    ));
    let ok = SetTime::At {
        time: Timestamp::new(1_000_000, 0),
    };
    assert_eq!(
        c.set_times(&p, Some(ok), None).await.unwrap().atime.secs,
        1_000_000
    );
}

/// 28. Zero-length reads are empty.
pub async fn read_zero_length_returns_empty(fx: Fixture) {
    let c = fx.client().await;
    let p = fx.p("/z");
    c.write(&p, b"data").await.unwrap();
    assert!(c.read_range(&p, 0, 0).await.unwrap().is_empty());
    c.write(&p, b"").await.unwrap();
    assert!(c.read(&p).await.unwrap().is_empty());
}
