//! Scenarios beyond the reference suite: reconnect, dialect fallback, targets,
//! cancellation storms, many tasks, non-UTF-8 names everywhere.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use zerofs_9p_proto::MessageType;
use zerofs_client::{Client, OpenOptions, ZeroFsError};
use zerofs_memserver::{Config, Generation, MemServer};

use crate::Fixture;
use crate::fixture::{fids_settle, quiesced_fids, remaining_entries};

/// Open File and Dir handles survive dropped connections and a server that stops and
/// resumes listening, including I/O in flight at the drop; the listing continues.
pub async fn reconnect_with_open_handles(fx: Fixture) {
    // Capability check: dropping connections and pausing the listener on cue needs the
    // memserver's fault injection. Real servers get the same checks from
    // `server_restart_mid_workload` (kill -9 and restart) and `proxy_cuts_connections`.
    let Some(server) = fx.server.clone() else {
        fx.skip(
            "needs the memserver's fault injection; covered on real servers by \
             server_restart_mid_workload and proxy_cuts_connections",
        );
        return;
    };
    let c = fx.client().await;
    c.create_dir(fx.p("/r"), 0o755).await.unwrap();
    let data: Vec<u8> = (0..2 * 1024 * 1024)
        .map(|i: usize| (i % 241) as u8)
        .collect();
    c.write(fx.p("/r/big"), &data).await.unwrap();
    for i in 0..4 {
        c.write(fx.p(&format!("/r/e{i}")), b"e").await.unwrap();
    }
    let f = c
        .open(fx.p("/r/big"), OpenOptions::read_write())
        .await
        .unwrap();
    let d = c.open_dir(fx.p("/r")).await.unwrap();
    let first = d.next_batch(Some(2)).await.unwrap();
    assert_eq!(first.len(), 2);
    // A read in flight when the connection drops completes with the right bytes.
    server.set_reply_delay_for(MessageType::Tread, Some(Duration::from_millis(20)));
    let reading = {
        let f = f.clone();
        tokio::spawn(async move { f.read_at(0, 2 * 1024 * 1024).await })
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    server.drop_connections();
    server.set_reply_delay_for(MessageType::Tread, None);
    assert!(reading.await.unwrap().unwrap()[..] == data[..]);
    f.write_at(0, b"AFTER").await.unwrap();
    assert_eq!(
        &c.read_range(fx.p("/r/big"), 0, 5).await.unwrap()[..],
        b"AFTER"
    );
    // Server down for a while: calls wait, then complete once it listens again.
    server.stop_listening().await;
    server.drop_connections();
    let waiting = {
        let f = f.clone();
        tokio::spawn(async move { f.read_at(0, 5).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    server.resume_listening().await.unwrap();
    assert_eq!(&waiting.await.unwrap().unwrap()[..], b"AFTER");
    let rest = remaining_entries(&d).await.unwrap().len();
    assert_eq!(first.len() + rest, 5, "the listing resumes where it was");
    // Rewinding the listing after the reconnect lists everything again.
    d.rewind().await.unwrap();
    let again = remaining_entries(&d).await.unwrap().len();
    assert_eq!(again, 5, "rewind after a reconnect");
    assert!(d.metadata_at(b"e0").await.unwrap().is_file());
    assert!(c.traffic_stats().operations > 0);
    let mut up = c.is_connected();
    for _ in 0..100 {
        if up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        up = c.is_connected();
    }
    assert!(up);
}

/// The client negotiates the server's best dialect and never sends a message it does not
/// grant (plain servers see no private message; gen 1 no gen 2 message).
pub async fn dialect_fallback(fx: Fixture) {
    let c = fx.client().await;
    let caps = c.capabilities();
    let Some(g) = fx.caps.generation else {
        fx.skip("the server's generation is unknown, so the expected dialect is too");
        return;
    };
    assert_eq!(caps.extensions_v1, g != Generation::Plain);
    assert_eq!(
        caps.extensions_v2,
        matches!(g, Generation::Gen2 | Generation::Z)
    );
    // Capability check: which messages were sent is read from the memserver's counters.
    let Some(server) = fx.faults("checking which messages were sent") else {
        return;
    };
    c.create_dir_all(fx.p("/a/b"), 0o755).await.unwrap();
    c.write(fx.p("/a/b/f"), b"x").await.unwrap();
    c.symlink("f", fx.p("/a/b/l")).await.unwrap();
    c.metadata(fx.p("/a/b/l")).await.unwrap();
    c.chmod(fx.p("/a/b/f"), 0o600).await.unwrap();
    c.read_dir(fx.p("/a/b")).await.unwrap();
    c.open_dir(fx.p("/a"))
        .await
        .unwrap()
        .next_batch(None)
        .await
        .unwrap();
    c.remove_dir_all(fx.p("/a")).await.unwrap();
    let counters = server.counters();
    let private = |lo: u8, hi: u8| {
        counters
            .by_type()
            .iter()
            .filter(|(t, _)| (lo..=hi).contains(&t.id()))
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    match g {
        Generation::Plain => assert_eq!(private(228, 255), 0),
        Generation::Gen1 => {
            assert_eq!(private(228, 249), 0);
            assert!(counters.frames(MessageType::Twalkgetattr) > 0);
            assert!(counters.frames(MessageType::Treaddirattr) > 0);
        }
        Generation::Gen2 | Generation::Z => {
            assert!(
                counters.frames(MessageType::Tmkdirattr)
                    + counters.frames(MessageType::Tlcreateattr)
                    > 0
            );
            assert!(counters.frames(MessageType::Tsetattrattr) > 0);
        }
    }
}

/// Every target form reaches the server: tcp://, host:port, localhost, `[::1]:port` (where
/// IPv6 loopback exists), unix:, unix://, a bare path.
pub async fn tcp_target_parsing(fx: Fixture) {
    // Capability check: the scenario starts its own memserver listeners (TCP, unix, IPv6)
    // to dial every target form; an external server offers one fixed address.
    let (Some(g), Some(_)) = (fx.caps.generation, fx.server.as_ref()) else {
        fx.skip(
            "starts its own memserver listeners to dial every target form; the external \
             run dials its target through the other scenarios",
        );
        return;
    };
    let server = MemServer::start(Config::new(g).ephemeral_unix())
        .await
        .unwrap();
    let addr = server.tcp_addr().unwrap();
    let sock = server.unix_path().unwrap().to_owned();
    let forms = [
        format!("tcp://{addr}"),
        format!("{addr}"),
        format!("localhost:{}", addr.port()),
        format!("tcp://localhost:{}", addr.port()),
        format!("unix:{}", sock.display()),
        format!("unix://{}", sock.display()),
        sock.display().to_string(),
    ];
    for t in &forms {
        let c = Client::connect(t)
            .await
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        c.write("/seen", t.as_bytes()).await.unwrap();
        assert_eq!(&c.read("/seen").await.unwrap()[..], t.as_bytes());
    }
    match MemServer::start(Config::new(g).tcp(Some("[::1]:0".parse().unwrap()))).await {
        Ok(v6) => {
            let port = v6.tcp_addr().unwrap().port();
            for t in [format!("[::1]:{port}"), format!("tcp://[::1]:{port}")] {
                let c = Client::connect(&t)
                    .await
                    .unwrap_or_else(|e| panic!("{t}: {e}"));
                assert!(c.stat("/").await.unwrap().is_dir());
            }
        }
        // Capability check: this host has no IPv6 loopback.
        Err(e) => {
            eprintln!("no IPv6 loopback: {e}");
            fx.skip_part("this host has no IPv6 loopback; [::1] targets not dialled");
        }
    }
    assert!(matches!(
        Client::connect("[::1").await,
        Err(ZeroFsError::ConnectFailed { .. })
    ));
}

/// Thousands of futures dropped at random points: fids return to the baseline and the
/// client keeps working.
pub async fn cancellation_storm(fx: Fixture) {
    let c = fx.client().await;
    c.create_dir(fx.p("/storm"), 0o755).await.unwrap();
    let data = vec![7u8; 300_000];
    c.write(fx.p("/storm/big"), &data).await.unwrap();
    let f = c
        .open(fx.p("/storm/big"), OpenOptions::read_write())
        .await
        .unwrap();
    let d = c.open_dir(fx.p("/storm")).await.unwrap();
    // Open the listing fid now so the baseline counts it.
    d.next_batch(Some(1)).await.unwrap();
    let base = quiesced_fids(&c).await;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..40 {
        let mut futs = Vec::new();
        for i in 0..50 {
            let r = next();
            let budget = Duration::from_micros(r % 800);
            let (c, f, d, fx) = (c.clone(), f.clone(), d.clone(), &fx);
            let name = fx.p(&format!("/storm/n{}", (round * 50 + i) % 97));
            futs.push(async move {
                let op = async move {
                    match r % 12 {
                        0 => drop(c.read(fx.p("/storm/big")).await),
                        1 => drop(c.write(&name, b"payload").await),
                        2 => drop(c.stat(&name).await),
                        3 => drop(c.create_dir(&name, 0o755).await),
                        4 => drop(c.remove_dir_all(&name).await),
                        5 => drop(c.read_dir(fx.p("/storm")).await),
                        6 => drop(f.read_at(r % 1000, 200_000).await),
                        7 => drop(f.write_at(r % 1000, &[1u8; 70_000]).await),
                        8 => drop(d.next_batch(Some(3)).await),
                        9 => drop(c.open(&name, OpenOptions::read_write().create(true)).await),
                        10 => drop(c.metadata(fx.p("/storm/big")).await),
                        _ => drop(c.symlink("big", &name).await),
                    }
                };
                let _ = tokio::time::timeout(budget, op).await;
            });
        }
        join_all(futs).await;
    }
    assert_eq!(fids_settle(&c, base).await, base);
    assert_eq!(c.stat(fx.p("/storm/big")).await.unwrap().size, 300_000);
    assert!(c.read_dir(fx.p("/storm")).await.is_ok());
}

/// 64 tasks doing mixed work through one client.
pub async fn concurrent_many_tasks(fx: Fixture) {
    let c = fx.client().await;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let c: Arc<Client> = c.clone();
            let dir = fx.p(&format!("/task{i}"));
            tokio::spawn(async move {
                c.create_dir_all(format!("{dir}/sub"), 0o755).await.unwrap();
                for j in 0..5u64 {
                    assert_eq!(
                        c.append(format!("{dir}/log"), &[b'a' + j as u8; 10])
                            .await
                            .unwrap(),
                        j * 10
                    );
                }
                c.rename(format!("{dir}/log"), format!("{dir}/sub/log"))
                    .await
                    .unwrap();
                let f = c
                    .open(format!("{dir}/sub/log"), OpenOptions::read_only())
                    .await
                    .unwrap();
                assert_eq!(&f.read_at(20, 10).await.unwrap()[..], &[b'c'; 10]);
                assert_eq!(c.read_dir(format!("{dir}/sub")).await.unwrap().len(), 1);
                c.remove_dir_all(&dir).await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for i in 0..64 {
        assert!(!c.exists(fx.p(&format!("/task{i}"))).await.unwrap());
    }
}

fn raw(s: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(s))
}

/// Non-UTF-8 bytes in every kind of path argument and result.
pub async fn non_utf8_names_everywhere(fx: Fixture) {
    let c = fx.client().await;
    let p = |tail: &[u8]| {
        let mut v = fx.p("").into_bytes();
        v.extend_from_slice(tail);
        raw(&v)
    };
    c.create_dir_all(p(b"/\xff\x80dir/\xfe"), 0o755)
        .await
        .unwrap();
    c.write(p(b"/\xff\x80dir/\xfe/f\xe9"), b"latin1")
        .await
        .unwrap();
    assert_eq!(
        c.append(p(b"/\xff\x80dir/\xfe/f\xe9"), b"!").await.unwrap(),
        6
    );
    c.symlink(raw(b"\xfe/f\xe9"), p(b"/\xff\x80dir/l\xc0"))
        .await
        .unwrap();
    assert_eq!(
        c.read_link(p(b"/\xff\x80dir/l\xc0")).await.unwrap(),
        raw(b"\xfe/f\xe9")
    );
    assert_eq!(
        c.canonicalize(p(b"/\xff\x80dir/l\xc0")).await.unwrap(),
        p(b"/\xff\x80dir/\xfe/f\xe9")
    );
    assert_eq!(c.metadata(p(b"/\xff\x80dir/l\xc0")).await.unwrap().size, 7);
    c.hard_link(p(b"/\xff\x80dir/\xfe/f\xe9"), p(b"/\xff\x80dir/h\x81"))
        .await
        .unwrap();
    c.rename(p(b"/\xff\x80dir/h\x81"), p(b"/\xff\x80dir/\xfe/h\x82"))
        .await
        .unwrap();
    let mut names: Vec<Vec<u8>> = c
        .read_dir(p(b"/\xff\x80dir/\xfe"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name_bytes)
        .collect();
    names.sort();
    assert_eq!(names, vec![b"f\xe9".to_vec(), b"h\x82".to_vec()]);
    let e = c.stat(p(b"/\xff\x80dir/missing\xff")).await.unwrap_err();
    assert!(matches!(&e, ZeroFsError::NotFound { path } if path.contains('\u{fffd}')));
    c.remove_dir_all(p(b"/\xff\x80dir")).await.unwrap();
    assert!(!c.exists(p(b"/\xff\x80dir")).await.unwrap());
}
