//! Issue 14: what users of `std::fs` / `tokio::fs` expect, under std's names.

use std::path::PathBuf;

use futures::TryStreamExt;
use zerofs_client::{FileType, NodeKind, SetTime, ZeroFsError};

use crate::Fixture;

/// `write` takes any bytes; `read_to_string`; `copy` (contents, length, permissions,
/// truncation of a longer target, errors).
pub async fn std_like_read_write_copy(fx: Fixture) {
    let c = fx.client().await;
    let (a, b) = (fx.p("/a.txt"), fx.p("/b.txt"));
    c.write(&a, "text").await.unwrap();
    assert_eq!(c.read_to_string(&a).await.unwrap(), "text");
    c.write(&a, String::from("a string")).await.unwrap();
    c.write(&b, vec![0xffu8, 0xfe]).await.unwrap();
    assert!(matches!(
        c.read_to_string(&b).await,
        Err(ZeroFsError::InvalidArgument { message }) if message.contains("UTF-8")
    ));
    // Larger than one read chunk, with a pattern that shows misplaced bytes.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let src = fx.p("/src.bin");
    c.write(&src, &data).await.unwrap();
    c.chmod(&src, 0o640).await.unwrap();
    c.write(&b, vec![7u8; 400_000]).await.unwrap();
    assert_eq!(c.copy(&src, &b).await.unwrap(), data.len() as u64);
    assert_eq!(&c.read(&b).await.unwrap()[..], &data[..]);
    assert_eq!(c.stat(&b).await.unwrap().permissions(), 0o640);
    let fresh = fx.p("/fresh.bin");
    assert_eq!(c.copy(&a, &fresh).await.unwrap(), 8);
    assert_eq!(c.read_to_string(&fresh).await.unwrap(), "a string");
    c.write(&a, "").await.unwrap();
    assert_eq!(c.copy(&a, &fresh).await.unwrap(), 0);
    assert_eq!(c.stat(&fresh).await.unwrap().len(), 0);
    c.create_dir(fx.p("/dir"), 0o755).await.unwrap();
    assert!(matches!(
        c.copy(fx.p("/dir"), fx.p("/x")).await,
        Err(ZeroFsError::IsADirectory { .. })
    ));
    assert!(matches!(
        c.copy(fx.p("/missing"), fx.p("/x")).await,
        Err(ZeroFsError::NotFound { .. })
    ));
}

/// `Metadata::len`/`file_type`/`is_*`/`accessed`/`modified`, `FileType::is_*` (a fifo
/// included), `symlink_metadata` (no follow) and `set_permissions`.
pub async fn std_like_metadata_aliases(fx: Fixture) {
    let c = fx.client().await;
    let f = fx.p("/f");
    c.write(&f, "12345").await.unwrap();
    let m = c.metadata(&f).await.unwrap();
    assert_eq!(m.len(), 5);
    assert!(m.file_type().is_file() && !m.file_type().is_dir());
    assert_eq!(m.modified(), std::time::SystemTime::from(m.mtime));
    c.symlink("f", fx.p("/l")).await.unwrap();
    let link = c.symlink_metadata(fx.p("/l")).await.unwrap();
    assert!(link.file_type().is_symlink() && link.is_symlink());
    assert_eq!(link, c.stat(fx.p("/l")).await.unwrap());
    assert!(c.metadata(fx.p("/l")).await.unwrap().file_type().is_file());
    c.set_permissions(&f, 0o600).await.unwrap();
    assert_eq!(c.stat(&f).await.unwrap().permissions(), 0o600);
    c.set_permissions(&f, 0o100644).await.unwrap();
    assert_eq!(c.stat(&f).await.unwrap().permissions(), 0o644);
    c.create_dir(fx.p("/d"), 0o755).await.unwrap();
    let d = c.stat(fx.p("/d")).await.unwrap();
    assert!(d.file_type().is_dir() && d.is_dir() && !d.is_file());
    // accessed()/modified() are the times the server holds, as SystemTime.
    let (at, mt) = (
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000),
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000),
    );
    c.set_times(&f, Some(SetTime::from(at)), Some(SetTime::from(mt)))
        .await
        .unwrap();
    let m = c.metadata(&f).await.unwrap();
    assert_eq!((m.accessed(), m.modified()), (at, mt));
    let fifo = c
        .mknod(fx.p("/d/fifo"), NodeKind::Fifo, 0o644)
        .await
        .unwrap();
    let t = c
        .symlink_metadata(fx.p("/d/fifo"))
        .await
        .unwrap()
        .file_type();
    assert!(fifo.file_type().is_fifo() && t.is_fifo());
    assert!(!t.is_file() && !t.is_socket() && !t.is_char_device() && !t.is_block_device());
}

/// `walk`: every entry below a directory once, with its depth, each directory before its
/// contents, symlinks not followed; errors for a file and a missing path.
pub async fn walk_recursive_tree(fx: Fixture) {
    let c = fx.client().await;
    let root = fx.p("/w");
    c.create_dir_all(fx.p("/w/a/b"), 0o755).await.unwrap();
    c.create_dir(fx.p("/w/c"), 0o755).await.unwrap();
    c.write(fx.p("/w/a/b/f1"), "1").await.unwrap();
    c.write(fx.p("/w/a/f2"), "2").await.unwrap();
    c.symlink("a", fx.p("/w/l")).await.unwrap();
    let found: Vec<_> = c.walk(&root).unwrap().try_collect().await.unwrap();
    let rel = |p: &PathBuf| {
        p.strip_prefix(&root)
            .expect("under the walked path")
            .to_string_lossy()
            .into_owned()
    };
    let mut got: Vec<(String, usize, FileType)> = found
        .iter()
        .map(|e| (rel(&e.path), e.depth, e.entry.file_type))
        .collect();
    // Pre-order: a directory comes before everything below it.
    let index = |name: &str| got.iter().position(|g| g.0 == name).unwrap();
    assert!(index("a") < index("a/b") && index("a/b") < index("a/b/f1"));
    assert!(index("a") < index("a/f2"));
    got.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        got,
        [
            ("a".to_string(), 1, FileType::Dir),
            ("a/b".to_string(), 2, FileType::Dir),
            ("a/b/f1".to_string(), 3, FileType::File),
            ("a/f2".to_string(), 2, FileType::File),
            ("c".to_string(), 1, FileType::Dir),
            ("l".to_string(), 1, FileType::Symlink),
        ]
    );
    let on_file: Result<Vec<_>, _> = c.walk(fx.p("/w/a/f2")).unwrap().try_collect().await;
    assert!(
        matches!(on_file, Err(ZeroFsError::NotADirectory { .. })),
        "{on_file:?}"
    );
    let missing: Result<Vec<_>, _> = c.walk(fx.p("/nope")).unwrap().try_collect().await;
    assert!(
        matches!(missing, Err(ZeroFsError::NotFound { .. })),
        "{missing:?}"
    );
    c.close().await;
    assert!(matches!(c.walk(&root), Err(ZeroFsError::Closed)));
}

/// Advisory locks between two clients: try_lock, conflicting_lock, a waiting lock that is
/// granted once the holder unlocks, and disjoint byte ranges.
pub async fn advisory_locks(fx: Fixture) {
    use std::time::Duration;
    use zerofs_client::{LockKind, OpenOptions};
    let (a, b) = (fx.client().await, fx.client().await);
    let p = fx.p("/locked");
    a.write(&p, "0123456789").await.unwrap();
    let fa = a.open(&p, OpenOptions::read_write()).await.unwrap();
    let fb = b.open(&p, OpenOptions::read_write()).await.unwrap();
    assert!(fa.try_lock().await.unwrap());
    if fb.try_lock().await.unwrap() {
        // POSIX record locks belong to a process: a server that is one process (diod) does
        // not see its two connections conflict. The memserver and ZeroFS must.
        assert!(
            fx.server.is_none(),
            "the memserver enforces locks between connections"
        );
        fx.skip("the server does not make locks of two connections conflict");
        return;
    }
    assert!(!fb.try_lock_shared().await.unwrap());
    let held = fb
        .conflicting_lock(LockKind::Shared, 0, 0)
        .await
        .unwrap()
        .expect("a's lock conflicts");
    assert_eq!(held.kind, LockKind::Exclusive);
    let waiter = {
        let fb = fb.clone();
        tokio::spawn(async move { fb.lock().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished(), "b waits while a holds the lock");
    fa.unlock().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("b gets the lock once a releases it")
        .unwrap()
        .unwrap();
    assert!(!fa.try_lock_shared().await.unwrap());
    fb.unlock().await.unwrap();
    assert_eq!(
        fb.conflicting_lock(LockKind::Exclusive, 0, 0)
            .await
            .unwrap(),
        None
    );
    // Disjoint ranges do not conflict; overlapping ones do.
    assert!(
        fa.lock_range(LockKind::Exclusive, 0, 5, false)
            .await
            .unwrap()
    );
    let ranged = fb
        .lock_range(LockKind::Exclusive, 5, 5, false)
        .await
        .unwrap();
    if ranged {
        assert!(!fb.lock_range(LockKind::Shared, 4, 2, false).await.unwrap());
    } else {
        // diod takes flock(2) locks: whole files, whatever the range.
        assert!(fx.server.is_none(), "the memserver keeps byte ranges apart");
        fx.skip_part("the server locks whole files, not byte ranges");
    }
    assert!(fa.try_lock_shared().await.is_ok());
    fa.close().await;
    assert!(matches!(fa.lock().await, Err(ZeroFsError::Closed)));
}
