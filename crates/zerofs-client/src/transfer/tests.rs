use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

use super::*;

async fn server(generation: Generation) -> (ServerHandle, Arc<Client>) {
    let s = MemServer::start(Config::new(generation)).await.unwrap();
    let c = Client::connect(&s.target()).await.unwrap();
    (s, c)
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A local tree: files of several sizes, an empty dir, a symlink, a non-UTF-8 name, modes.
fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::write(root.join("small.txt"), b"hello").unwrap();
    std::fs::write(root.join("a/zero"), b"").unwrap();
    std::fs::write(root.join("a/b/big.bin"), data(3 * 65536 + 17, 3)).unwrap();
    std::fs::write(
        root.join(std::ffi::OsStr::from_bytes(b"raw-\xff\xfe")),
        b"raw",
    )
    .unwrap();
    std::os::unix::fs::symlink("a/b/big.bin", root.join("link")).unwrap();
    std::fs::set_permissions(
        root.join("small.txt"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::set_permissions(root.join("a/b"), std::fs::Permissions::from_mode(0o711)).unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(root.join("small.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
}

/// Every path below `root` with its kind, size, mode, mtime second and contents.
fn snapshot(root: &Path) -> Vec<(Vec<u8>, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let desc = if m.is_symlink() {
                format!("link {:?}", std::fs::read_link(&p).unwrap())
            } else if m.is_dir() {
                stack.push(p.clone());
                format!("dir {:o}", m.permissions().mode() & 0o7777)
            } else {
                let mtime = m
                    .modified()
                    .unwrap()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap();
                format!(
                    "file {:o} {} {:x}",
                    m.permissions().mode() & 0o7777,
                    mtime.as_secs(),
                    std::fs::read(&p)
                        .unwrap()
                        .iter()
                        .fold(0u64, |h, &b| h.wrapping_mul(1099511628211) ^ u64::from(b))
                )
            };
            out.push((rel, desc));
        }
    }
    out.sort();
    out
}

fn small_blocks() -> TransferOptions {
    TransferOptions {
        block_size: 64 << 10,
        concurrency: 3,
        ..TransferOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_round_trips_through_the_server_on_every_generation() {
    for generation in [Generation::Plain, Generation::Gen1, Generation::Z] {
        let (_s, c) = server(generation).await;
        let tmp = tempfile::tempdir().unwrap();
        let (src, back) = (tmp.path().join("src"), tmp.path().join("back"));
        make_tree(&src);
        let engine = Transfer::new(small_blocks());
        let up = engine
            .copy(Endpoint::local(&src), Endpoint::remote(&c, "/t"))
            .await
            .unwrap();
        assert_eq!(up.failed, 0, "{generation:?}: {:?}", up.failures);
        assert_eq!(up.files, 5);
        assert_eq!(up.bytes, 5 + 3 * 65536 + 17 + 3);
        let p = *engine.progress().borrow();
        assert_eq!((p.files_done, p.files_total), (5, 5));
        assert_eq!(p.bytes_done, p.bytes_total);
        assert!(p.scan_done);
        assert_eq!(
            c.read_link("/t/link").await.unwrap(),
            Path::new("a/b/big.bin")
        );
        assert!(c.stat("/t/empty").await.unwrap().is_dir());
        assert_eq!(c.stat("/t/small.txt").await.unwrap().permissions(), 0o640);
        assert_eq!(c.stat("/t/a/b").await.unwrap().permissions(), 0o711);
        // No temporary name is left over.
        let names: Vec<_> = c
            .read_dir("/t")
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert!(names.iter().all(|n| !n.contains("zfpart")), "{names:?}");

        let down = Transfer::new(small_blocks())
            .copy(Endpoint::remote(&c, "/t"), Endpoint::local(&back))
            .await
            .unwrap();
        assert_eq!(down.failed, 0, "{:?}", down.failures);
        assert_eq!(snapshot(&src), snapshot(&back), "{generation:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_copy_sync_and_dry_run() {
    let (_s, c) = server(Generation::Z).await;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let engine = Transfer::new(small_blocks());
    engine
        .copy(Endpoint::local(&src), Endpoint::remote(&c, "/t"))
        .await
        .unwrap();
    // Within the server.
    let r = engine
        .copy(Endpoint::remote(&c, "/t"), Endpoint::remote(&c, "/u"))
        .await
        .unwrap();
    assert_eq!((r.files, r.failed), (5, 0));
    assert_eq!(
        c.read("/u/a/b/big.bin").await.unwrap(),
        data(3 * 65536 + 17, 3)
    );

    // sync: unchanged files skipped, extras deleted, changes copied; a dry run changes nothing.
    c.write("/u/extra", b"x").await.unwrap();
    std::fs::write(src.join("a/zero"), b"now longer").unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let sync = |dry_run| TransferOptions {
        skip_unchanged: true,
        delete_extra: true,
        dry_run,
        on_event: Some(EventHook::new({
            let ev = ev.clone();
            move |e: &Event| ev.lock().unwrap().push(e.clone())
        })),
        ..small_blocks()
    };
    let r = Transfer::new(sync(true))
        .copy(Endpoint::local(&src), Endpoint::remote(&c, "/u"))
        .await
        .unwrap();
    assert_eq!((r.files, r.removed), (1, 1));
    assert!(c.exists("/u/extra").await.unwrap());
    assert_eq!(c.read("/u/a/zero").await.unwrap().len(), 0);
    assert!(events.lock().unwrap().contains(&Event::Remove {
        path: "/u/extra".into()
    }));
    let r = Transfer::new(sync(false))
        .copy(Endpoint::local(&src), Endpoint::remote(&c, "/u"))
        .await
        .unwrap();
    assert_eq!(
        (r.files, r.removed, r.failed),
        (1, 1, 0),
        "{:?}",
        r.failures
    );
    assert!(r.skipped >= 3, "{r:?}");
    assert!(!c.exists("/u/extra").await.unwrap());
    assert_eq!(&c.read("/u/a/zero").await.unwrap()[..], b"now longer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_blocks_are_holes_and_the_length_is_kept() {
    let (_s, c) = server(Generation::Z).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut content = vec![0u8; 5 * 65536];
    content[65536..65536 + 5].copy_from_slice(b"hello");
    std::fs::write(tmp.path().join("sparse"), &content).unwrap();
    let r = Transfer::new(small_blocks())
        .copy(
            Endpoint::local(tmp.path().join("sparse")),
            Endpoint::remote(&c, "/s"),
        )
        .await
        .unwrap();
    assert_eq!(r.failed, 0);
    assert_eq!(c.read("/s").await.unwrap(), content);
    let back = tmp.path().join("back");
    Transfer::new(small_blocks())
        .copy(Endpoint::remote(&c, "/s"), Endpoint::local(&back))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), content);
    use std::os::unix::fs::MetadataExt;
    // Only the one written block is allocated locally (tmpfs and ext4 both do holes).
    let blocks = std::fs::metadata(&back).unwrap().blocks();
    assert!(blocks * 512 < content.len() as u64, "{blocks} blocks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_copy_leaves_no_partial_file() {
    let (s, c) = server(Generation::Z).await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("f"), data(2 << 20, 1)).unwrap();
    // Slow writes, so the copy is mid-file when dropped.
    s.set_reply_delay_for(
        zerofs_memserver::zerofs_9p_proto::MessageType::Twrite,
        Some(Duration::from_millis(50)),
    );
    let engine = Transfer::new(small_blocks());
    let copy = engine.copy(
        Endpoint::local(tmp.path().join("f")),
        Endpoint::remote(&c, "/f"),
    );
    let mut progress = engine.progress();
    tokio::select! {
        _ = copy => panic!("finished despite the delay"),
        _ = async { while progress.borrow_and_update().bytes_done == 0 { progress.changed().await.unwrap(); } } => {}
    }
    s.set_reply_delay_for(zerofs_memserver::zerofs_9p_proto::MessageType::Twrite, None);
    engine.settle().await;
    assert!(
        c.read_dir("/").await.unwrap().is_empty(),
        "{:?}",
        c.read_dir("/").await.unwrap()
    );

    // The same downwards: the local temporary is gone at once.
    c.write("/g", &data(1 << 20, 2)).await.unwrap();
    s.set_reply_delay_for(
        zerofs_memserver::zerofs_9p_proto::MessageType::Tread,
        Some(Duration::from_millis(50)),
    );
    let dir = tmp.path().join("down");
    std::fs::create_dir(&dir).unwrap();
    let copy = engine.copy(Endpoint::remote(&c, "/g"), Endpoint::local(dir.join("g")));
    let cut = tokio::time::timeout(Duration::from_millis(120), copy).await;
    assert!(cut.is_err(), "the download finished before it was dropped");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_the_path_and_the_copy_goes_on() {
    let (_s, c) = server(Generation::Gen2).await;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    // A file where a directory must go.
    c.create_dir("/t", 0o755).await.unwrap();
    c.write("/t/a", b"in the way").await.unwrap();
    let r = Transfer::new(small_blocks())
        .copy(Endpoint::local(&src), Endpoint::remote(&c, "/t"))
        .await
        .unwrap();
    assert_eq!(r.failed, 1, "{:?}", r.failures);
    assert!(
        r.failures[0].to_string().contains("/t/a"),
        "{}",
        r.failures[0]
    );
    assert_eq!(r.files, 3, "a/ and what is below it failed");
    // A missing source is an error up front; a directory without `recursive` too.
    let e = Transfer::new(TransferOptions::default())
        .copy(
            Endpoint::remote(&c, "/nope"),
            Endpoint::local(tmp.path().join("x")),
        )
        .await
        .unwrap_err();
    assert_eq!(e.errno(), Some(2));
    assert!(e.to_string().contains("/nope"), "{e}");
    let e = Transfer::new(TransferOptions {
        recursive: false,
        ..TransferOptions::default()
    })
    .copy(Endpoint::local(&src), Endpoint::remote(&c, "/v"))
    .await
    .unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
}

/// A tree copy runs as a spawned task on a multi-threaded runtime (its future is `Send`, as
/// the Python binding needs): this test fails to compile when it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_copy_can_be_spawned() {
    let (_s, c) = server(Generation::Gen2).await;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let engine = Arc::new(Transfer::new(small_blocks()));
    let (e, from, to) = (
        engine.clone(),
        Endpoint::local(&src),
        Endpoint::remote(&c, "/spawned"),
    );
    let report = tokio::spawn(async move { e.copy(from, to).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((report.files, report.failed), (5, 0));
    assert_eq!(&c.read("/spawned/small.txt").await.unwrap()[..], b"hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_reuses_its_block_buffers_and_keeps_every_byte() {
    let (_s, c) = server(Generation::Gen2).await;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big");
    // 40 blocks of 64 KiB and a short tail: more blocks than buffers kept.
    let want = data(40 * 65536 + 123, 9);
    std::fs::write(&src, &want).unwrap();
    let engine = Transfer::new(TransferOptions {
        block_size: 64 << 10,
        ..TransferOptions::default()
    });
    let keep = engine.opts.blocks_per_file + 1;
    engine
        .copy(Endpoint::local(&src), Endpoint::remote(&c, "/big"))
        .await
        .unwrap();
    assert_eq!(&c.read("/big").await.unwrap()[..], &want[..]);
    // The block buffers came back for the next blocks (bounded by what is kept).
    let kept = engine.spare().len();
    assert!((1..=keep).contains(&kept), "{kept} buffers kept");
}
