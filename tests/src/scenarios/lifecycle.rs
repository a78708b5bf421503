//! Reference scenarios 14-21: close, leaks, concurrency, cursor, identity, timeouts.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use zerofs_client::{Client, ConnectOptions, OpenOptions, ZeroFsError};

use crate::Fixture;
use crate::fixture::{fids_settle, quiesced_fids};

/// 14. Client close is idempotent; handles opened before keep working.
pub async fn close_semantics_and_handle_independence(fx: Fixture) {
    let c = fx.client().await;
    c.write(fx.p("/keep"), b"still here").await.unwrap();
    let f = c
        .open(fx.p("/keep"), OpenOptions::read_only())
        .await
        .unwrap();
    let d = c.open_dir(&fx.p("/")).await.unwrap();
    c.close().await;
    c.close().await;
    assert!(matches!(
        c.read(fx.p("/keep")).await,
        Err(ZeroFsError::Closed)
    ));
    assert!(matches!(
        c.stat(fx.p("/keep")).await,
        Err(ZeroFsError::Closed)
    ));
    assert!(matches!(c.open_dir("/").await, Err(ZeroFsError::Closed)));
    assert!(!c.is_connected());
    assert_eq!(&f.read_at(0, 100).await.unwrap()[..], b"still here");
    assert!(d.metadata_at(b"keep").await.unwrap().is_file());
    assert!(c.capabilities().msize >= 4096);
}

/// 15. Futures dropped mid-flight leak no fid.
pub async fn cancelled_futures_leak_nothing(fx: Fixture) {
    let c = fx.client().await;
    c.write(fx.p("/f"), b"data").await.unwrap();
    let base = quiesced_fids(&c).await;
    for i in 0..50 {
        let _ = tokio::time::timeout(Duration::ZERO, c.read(fx.p("/f"))).await;
        let _ = tokio::time::timeout(Duration::ZERO, c.stat(fx.p("/f"))).await;
        let _ = tokio::time::timeout(Duration::ZERO, c.write(fx.p(&format!("/w{i}")), b"x")).await;
        let _ = tokio::time::timeout(Duration::ZERO, c.read_dir(fx.p("/"))).await;
        let _ = tokio::time::timeout(Duration::ZERO, c.create_dir(fx.p(&format!("/d{i}")), 0o755))
            .await;
        let _ = tokio::time::timeout(Duration::ZERO, c.symlink("f", fx.p(&format!("/l{i}")))).await;
        // Also drop them after the first await point.
        let _ = tokio::time::timeout(Duration::from_micros(200), c.read(fx.p("/f"))).await;
    }
    assert_eq!(fids_settle(&c, base).await, base);
    assert_eq!(&c.read(fx.p("/f")).await.unwrap()[..], b"data");
}

/// 16. Handles dropped without close release their fids.
pub async fn handle_fids_are_recycled(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir(fx.p("/d"), 0o755).await.unwrap();
    c.write(fx.p("/d/f"), b"abc").await.unwrap();
    let base = quiesced_fids(&c).await;
    for i in 0..300 {
        let f = c
            .open(fx.p("/d/f"), OpenOptions::read_only())
            .await
            .unwrap();
        assert_eq!(f.read_at(0, 3).await.unwrap().len(), 3);
        if i % 2 == 0 {
            f.close().await;
        }
        drop(f);
        let d = c.open_dir(fx.p("/d")).await.unwrap();
        assert_eq!(d.next_batch(None).await.unwrap().len(), 1);
        drop(d);
    }
    assert_eq!(fids_settle(&c, base).await, base);
}

/// 17. read_at racing close: right bytes or Closed, no leak.
pub async fn concurrent_close_does_not_corrupt_or_leak(fx: Fixture) {
    let c = fx.client().await;
    c.write(fx.p("/r"), b"0123456789").await.unwrap();
    let base = quiesced_fids(&c).await;
    for _ in 0..100 {
        let f = c.open(fx.p("/r"), OpenOptions::read_only()).await.unwrap();
        let reader = {
            let f = f.clone();
            tokio::spawn(async move { f.read_at(2, 5).await })
        };
        let closer = {
            let f = f.clone();
            tokio::spawn(async move { f.close().await })
        };
        closer.await.unwrap();
        match reader.await.unwrap() {
            Ok(b) => assert_eq!(&b[..], b"23456"),
            Err(e) => assert!(matches!(e, ZeroFsError::Closed), "{e}"),
        }
    }
    assert_eq!(fids_settle(&c, base).await, base);
    assert_eq!(c.read(fx.p("/r")).await.unwrap().len(), 10);
}

/// 18. One client shared by 16 tasks.
pub async fn concurrent_shared_client(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir(fx.p("/shared"), 0o755).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let c: Arc<Client> = c.clone();
            let p = fx.p(&format!("/shared/t{i}"));
            tokio::spawn(async move {
                let data = vec![i as u8; 1000 + i * 37];
                c.write(&p, &data).await.unwrap();
                assert_eq!(c.read(&p).await.unwrap()[..], data[..]);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(c.read_dir(fx.p("/shared")).await.unwrap().len(), 16);
}

/// 19. FileCursor: write_all, seek, read_to_end, tokio::io::copy.
pub async fn file_cursor_async_io_and_seek(fx: Fixture) {
    let c = fx.client().await;
    let data: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|i: usize| (i % 253) as u8)
        .collect();
    let f = c.create(fx.p("/cur")).await.unwrap();
    let mut w = f.cursor();
    w.write_all(&data).await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(w.position(), data.len() as u64);
    let mut r = f.cursor();
    r.seek(std::io::SeekFrom::Start(0)).await.unwrap();
    let mut back = Vec::new();
    r.read_to_end(&mut back).await.unwrap();
    assert!(back == data);
    assert_eq!(
        r.seek(std::io::SeekFrom::End(-5)).await.unwrap(),
        data.len() as u64 - 5
    );
    let mut tail = Vec::new();
    r.read_to_end(&mut tail).await.unwrap();
    assert_eq!(tail[..], data[data.len() - 5..]);
    r.seek(std::io::SeekFrom::Start(10)).await.unwrap();
    assert_eq!(r.seek(std::io::SeekFrom::Current(5)).await.unwrap(), 15);
    let mut five = [0u8; 5];
    r.read_exact(&mut five).await.unwrap();
    assert_eq!(five[..], data[15..20]);
    assert!(r.seek(std::io::SeekFrom::Current(-100)).await.is_err());
    let g = c.create(fx.p("/copy")).await.unwrap();
    let mut src = f.cursor();
    let mut dst = g.cursor();
    assert_eq!(
        tokio::io::copy(&mut src, &mut dst).await.unwrap(),
        data.len() as u64
    );
    assert!(c.read(fx.p("/copy")).await.unwrap()[..] == data[..]);
}

/// 20. uid/gid, aname confinement, msize.
pub async fn connect_with_options_identity_aname_and_msize(fx: Fixture) {
    // Capability check: only servers where aname selects a subtree can confine a client.
    if !fx.caps.aname_subtree {
        fx.skip_part(
            "aname does not select a subtree on this server: confinement not checked, \
             identity and msize are",
        );
    }
    let admin = fx.client().await;
    admin.create_dir(fx.p("/vol"), 0o777).await.unwrap();
    admin.chmod(fx.p("/vol"), 0o777).await.unwrap();
    let aname = if fx.caps.aname_subtree {
        fx.p("/vol")
    } else {
        fx.options.aname.clone()
    };
    let opts = ConnectOptions {
        uid: Some(0),
        gid: Some(4242),
        aname,
        msize: 256 * 1024,
        ..fx.options.clone()
    };
    let confined = fx.client_with(opts).await;
    let msize = confined.capabilities().msize;
    assert!((4096..=256 * 1024).contains(&msize), "{msize}");
    let inside = if fx.caps.aname_subtree {
        "/inside.txt".to_owned()
    } else {
        fx.p("/vol/inside.txt")
    };
    confined.write(&inside, b"in").await.unwrap();
    assert_eq!(confined.stat(&inside).await.unwrap().gid, 4242);
    assert_eq!(
        &admin.read(fx.p("/vol/inside.txt")).await.unwrap()[..],
        b"in"
    );
    if fx.caps.aname_subtree {
        assert!(!confined.exists("/vol").await.unwrap());
    }
}

/// 21. A server that never answers: the connect timeout fires as ConnectFailed.
pub async fn connect_timeout_expires(_fx: Fixture) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..4 {
            if let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        }
    });
    let opts = ConnectOptions {
        connect_timeout_ms: Some(150),
        ..ConnectOptions::default()
    };
    let err = Client::connect_with(&format!("127.0.0.1:{}", addr.port()), opts)
        .await
        .unwrap_err();
    assert!(matches!(err, ZeroFsError::ConnectFailed { .. }), "{err}");
    assert_eq!(err.to_errno(), 5);
    hold.abort();
    let refused = Client::connect("unix:/nonexistent/dir/sock")
        .await
        .unwrap_err();
    assert!(matches!(refused, ZeroFsError::ConnectFailed { .. }));
    assert!(matches!(
        Client::connect("host:notaport").await,
        Err(ZeroFsError::ConnectFailed { .. })
    ));
}
