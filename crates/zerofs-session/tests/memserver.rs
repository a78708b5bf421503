//! Integration against the in-memory server at every generation: I/O, replay after dropped
//! connections, and a server restart (stop/resume listening).

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{InMemory, create_file, data, eventually, root_opts, settled, within};
use zerofs_memserver::{Config, Generation, MemServer};
use zerofs_session::proto::consts::{errno, open};
use zerofs_session::proto::{
    Dialect, LockStatus, LockType, Message, Rgetlock, Tgetattr, Tgetlock, Tlock, Tmkdir, Treaddir,
    Trename, Trenameat,
};
use zerofs_session::{Fid, Session, SessionError};

#[tokio::test(start_paused = true)]
async fn every_generation_survives_dropped_connections_and_restarts() {
    for g in Generation::ALL {
        let server = MemServer::start(Config::new(g)).await.unwrap();
        let s = Session::connect_with(InMemory(server.clone()), root_opts())
            .await
            .unwrap();
        let want = match g {
            Generation::Plain => Dialect::Plain,
            Generation::Gen1 => Dialect::Zerofs,
            Generation::Gen2 => Dialect::Zerofs2,
            Generation::Z => Dialect::Z,
        };
        assert_eq!(s.dialect(), want, "{g:?}");
        let base = s.outstanding_fids();

        let file = create_file(&s, "big").await;
        let payload = data(700_000, 3);
        assert_eq!(
            within(s.write(&file, 0, payload.clone())).await.unwrap(),
            700_000,
            "{g:?}"
        );
        assert_eq!(
            within(s.read(&file, 0, 800_000)).await.unwrap(),
            payload,
            "{g:?}"
        );

        // Connection drop: the open fid is replayed and keeps working.
        server.drop_connections();
        assert_eq!(
            within(s.read(&file, 1000, 5000)).await.unwrap(),
            payload.slice(1000..6000),
            "{g:?}"
        );
        let more = data(10_000, 9);
        assert_eq!(
            within(s.write(&file, 700_000, more.clone())).await.unwrap(),
            10_000
        );

        // Restart: stop listening, drop, resume later; waiting calls complete afterwards.
        server.stop_listening().await;
        server.drop_connections();
        let reader = {
            let s = s.clone();
            let id = file.id();
            tokio::spawn(async move {
                s.call(Message::Tgetattr(Tgetattr {
                    fid: id,
                    request_mask: 0x3fff,
                }))
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        server.resume_listening().await.unwrap();
        match within(reader).await.unwrap().unwrap() {
            Message::Rgetattr(r) => assert_eq!(r.stat.size, 710_000, "{g:?}"),
            m => panic!("{m:?}"),
        }
        assert!(s.stats().reconnects >= 2, "{g:?}");

        drop(file);
        assert!(
            settled(|| s.outstanding_fids() == base).await,
            "{g:?}: fids back to baseline"
        );
        server.shutdown().await;
    }
}

/// The soak: ≥10,000 mixed operations from 32 tasks while the server drops every
/// connection at least 50 times and restarts at least 5 times; nothing fails, nothing hangs,
/// listings resume, fids return to baseline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_plain() {
    soak(Generation::Plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_gen1() {
    soak(Generation::Gen1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_gen2() {
    soak(Generation::Gen2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_z() {
    soak(Generation::Z).await;
}

/// One generation's soak (a test per generation, so each has its own time budget).
async fn soak(g: Generation) {
    {
        let server = MemServer::start(Config::new(g)).await.unwrap();
        let s = Session::connect(&server.target(), root_opts())
            .await
            .unwrap();
        let base = s.outstanding_fids();
        let names: Vec<&'static str> = (0..32)
            .map(|i| &*Box::leak(format!("f{i}").into_boxed_str()))
            .collect();
        for n in &names {
            drop(create_file(&s, n).await);
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let dropper = {
            let stop = stop.clone();
            let server = server.clone();
            tokio::spawn(async move {
                let mut drops = 0u32;
                let mut restarts = 0u32;
                while drops < 50 || !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(2 + u64::from(drops % 7))).await;
                    if drops % 10 == 9 {
                        // A server restart: the listener goes away with every connection,
                        // then comes back on the same address with the same filesystem.
                        server.stop_listening().await;
                        server.drop_connections();
                        tokio::time::sleep(Duration::from_millis(3)).await;
                        server.resume_listening().await.expect("resume listening");
                        restarts += 1;
                    } else {
                        server.drop_connections();
                    }
                    drops += 1;
                    if drops > 5000 {
                        break;
                    }
                }
                (drops, restarts)
            })
        };
        let mut tasks = Vec::new();
        for (t, name) in names.iter().copied().enumerate() {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let path = [Bytes::from_static(name.as_bytes())];
                let (file, _) = s.walk(s.root(), &path).await.expect("walk");
                s.lopen(&file, open::RDWR).await.expect("open");
                let block = data(3000, t as u8);
                let dir = s.clone_fid(s.root()).await.expect("clone root");
                s.lopen(&dir, open::RDONLY | open::DIRECTORY)
                    .await
                    .expect("open dir");
                for i in 0..320u64 {
                    if i % 40 == 39 {
                        // A paged listing through one open directory fid, across drops and
                        // restarts: every file is seen exactly once.
                        assert_eq!(list_all(&s, &dir).await, 32, "task {t} listing");
                    }
                    match i % 4 {
                        0 => assert_eq!(
                            s.write(&file, (i % 8) * 3000, block.clone())
                                .await
                                .expect("write"),
                            3000
                        ),
                        1 => {
                            let got = s.read(&file, 0, 3000).await.expect("read");
                            assert_eq!(got, block);
                        }
                        2 => drop(s.walk_getattr(s.root(), &path).await.expect("walk_getattr")),
                        _ => drop(s.clone_fid(&file).await.expect("clone")),
                    }
                }
            }));
        }
        for t in tasks {
            within(t).await.expect("task");
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (drops, restarts) = within(dropper).await.unwrap();
        assert!(drops >= 50, "{g:?}: {drops} drops");
        assert!(restarts >= 5, "{g:?}: {restarts} restarts");
        assert!(
            eventually(|| s.outstanding_fids() == base).await,
            "{g:?}: fids {} vs {base}",
            s.outstanding_fids()
        );
        assert!(
            s.stats().reconnects >= 10,
            "{g:?}: {} reconnects",
            s.stats().reconnects
        );
        server.shutdown().await;
    }
}

/// Pages through an opened directory with small `Treaddir` counts and returns how many distinct
/// `f*` files it saw; panics if one shows up twice.
async fn list_all(s: &Session, dir: &Fid) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut offset = 0;
    for _ in 0..1000 {
        let reply = s
            .call(Message::Treaddir(Treaddir {
                fid: dir.id(),
                offset,
                count: 200,
            }))
            .await
            .expect("readdir");
        let Message::Rreaddir(page) = reply else {
            panic!("unexpected {reply:?}")
        };
        let Some(last) = page.entries.last() else {
            return seen.len();
        };
        offset = last.offset;
        for e in &page.entries {
            if e.name.starts_with(b"f") {
                assert!(seen.insert(e.name.clone()), "{:?} listed twice", e.name);
            }
        }
    }
    panic!("listing did not end")
}

fn getattr(fid: &Fid) -> Message {
    Message::Tgetattr(Tgetattr {
        fid: fid.id(),
        request_mask: 0x3fff,
    })
}

fn name(n: &'static str) -> Bytes {
    Bytes::from_static(n.as_bytes())
}

fn lock(fid: &Fid, ty: LockType) -> Message {
    Message::Tlock(Tlock {
        fid: fid.id(),
        ty,
        flags: 0,
        start: 0,
        length: 100,
        proc_id: 7,
        client_id: name("session-a"),
    })
}

async fn getlock(s: &Session, fid: &Fid) -> Rgetlock {
    let m = Message::Tgetlock(Tgetlock {
        fid: fid.id(),
        ty: LockType::Write,
        start: 0,
        length: 100,
        proc_id: 9,
        client_id: name("session-b"),
    });
    match within(s.call(m)).await.unwrap() {
        Message::Rgetlock(r) => r,
        m => panic!("{m:?}"),
    }
}

/// Waits until `s` has completed `n` reconnects (replay included); needs a paused clock.
async fn reconnected(s: &Session, n: u64) {
    assert!(
        settled(|| s.stats().reconnects >= n).await,
        "reconnect {n} did not happen"
    );
}

/// A lock held through an open fid is re-taken on replay: another session still sees it after
/// every connection was dropped; a released lock is not re-taken.
#[tokio::test(start_paused = true)]
async fn held_locks_are_retaken_after_a_reconnect() {
    for g in Generation::ALL {
        let server = MemServer::start(Config::new(g)).await.unwrap();
        let a = Session::connect_with(InMemory(server.clone()), root_opts())
            .await
            .unwrap();
        let b = Session::connect_with(InMemory(server.clone()), root_opts())
            .await
            .unwrap();
        let fa = create_file(&a, "locked").await;
        match a.call(lock(&fa, LockType::Write)).await.unwrap() {
            Message::Rlock(r) => assert_eq!(r.status, LockStatus::Success, "{g:?}"),
            m => panic!("{m:?}"),
        }
        let (fb, _) = b.walk(b.root(), &[name("locked")]).await.unwrap();
        b.lopen(&fb, open::RDWR).await.unwrap();
        assert_eq!(getlock(&b, &fb).await.ty, LockType::Write, "{g:?}");

        server.drop_connections();
        reconnected(&a, 1).await;
        reconnected(&b, 1).await;
        let seen = getlock(&b, &fb).await;
        assert_eq!(seen.ty, LockType::Write, "{g:?}: the lock was re-taken");
        assert_eq!(
            (seen.start, seen.length, seen.proc_id),
            (0, 100, 7),
            "{g:?}"
        );
        let e = b.call(lock(&fb, LockType::Write)).await.unwrap_err();
        assert!(
            matches!(e, SessionError::Server(errno::EAGAIN)),
            "{g:?}: {e}"
        );

        // Unlocked: the next replay must not take it again.
        a.call(lock(&fa, LockType::Unlock)).await.unwrap();
        assert_eq!(getlock(&b, &fb).await.ty, LockType::Unlock, "{g:?}");
        server.drop_connections();
        reconnected(&a, 2).await;
        reconnected(&b, 2).await;
        within(a.call(getattr(&fa))).await.unwrap();
        assert_eq!(getlock(&b, &fb).await.ty, LockType::Unlock, "{g:?}");
        assert_eq!(a.stats().fids_stale, 0, "{g:?}");
        server.shutdown().await;
    }
}

/// Renames (`Trenameat` of a parent directory, `Trename` of a file) rewrite the recorded
/// paths of affected fids, so a plain server's re-walk replay still finds the files.
#[tokio::test(start_paused = true)]
async fn renamed_files_are_found_again_after_a_reconnect() {
    for g in Generation::ALL {
        let server = MemServer::start(Config::new(g)).await.unwrap();
        let s = Session::connect_with(InMemory(server.clone()), root_opts())
            .await
            .unwrap();
        let mkdir = Message::Tmkdir(Tmkdir {
            dfid: s.root().id(),
            name: name("d"),
            mode: 0o755,
            gid: 0,
        });
        s.call(mkdir).await.unwrap();
        let (dir, _) = s.walk(s.root(), &[name("d")]).await.unwrap();
        let file = s.clone_fid(&dir).await.unwrap();
        s.lcreate(&file, name("a"), open::RDWR | open::CREAT, 0o644, 0)
            .await
            .unwrap();
        let payload = data(5000, 1);
        s.write(&file, 0, payload.clone()).await.unwrap();
        let (plain, _) = s.walk(s.root(), &[name("d"), name("a")]).await.unwrap();

        // d → e (every fid under d moves), then e/a → b (the file moves up).
        let renameat = Message::Trenameat(Trenameat {
            olddirfid: s.root().id(),
            oldname: name("d"),
            newdirfid: s.root().id(),
            newname: name("e"),
        });
        s.call(renameat).await.unwrap();
        let rename = Message::Trename(Trename {
            fid: plain.id(),
            dfid: s.root().id(),
            name: name("b"),
        });
        s.call(rename).await.unwrap();

        server.drop_connections();
        reconnected(&s, 1).await;
        assert_eq!(
            within(s.read(&file, 0, 10_000)).await.unwrap(),
            payload,
            "{g:?}"
        );
        within(s.call(getattr(&plain))).await.unwrap();
        within(s.call(getattr(&dir))).await.unwrap();
        assert_eq!(s.stats().fids_stale, 0, "{g:?}: nothing went stale");
        // The new names are the real ones.
        let (b, _) = s.walk(s.root(), &[name("b")]).await.unwrap();
        assert_eq!(b.qid().map(|q| q.path), file.qid().map(|q| q.path), "{g:?}");
        assert!(s.walk(s.root(), &[name("e")]).await.is_ok(), "{g:?}");
        assert!(s.walk(s.root(), &[name("d")]).await.is_err(), "{g:?}");
        server.shutdown().await;
    }
}

/// An attach fid that was itself opened (a listing of the export root) is reopened by replay.
#[tokio::test(start_paused = true)]
async fn an_opened_attach_fid_is_reopened_by_replay() {
    for g in Generation::ALL {
        let server = MemServer::start(Config::new(g)).await.unwrap();
        let s = Session::connect_with(InMemory(server.clone()), root_opts())
            .await
            .unwrap();
        drop(create_file(&s, "entry").await);
        let (top, _) = s.attach("root", "", 0).await.unwrap();
        s.lopen(&top, open::RDONLY | open::DIRECTORY).await.unwrap();
        let list = |fid: u32| {
            Message::Treaddir(Treaddir {
                fid,
                offset: 0,
                count: 8192,
            })
        };
        let before = match s.call(list(top.id())).await.unwrap() {
            Message::Rreaddir(r) => r.entries.len(),
            m => panic!("{m:?}"),
        };
        assert!(before >= 1, "{g:?}");
        server.drop_connections();
        reconnected(&s, 1).await;
        match within(s.call(list(top.id()))).await {
            Ok(Message::Rreaddir(r)) => assert_eq!(r.entries.len(), before, "{g:?}"),
            other => panic!("{g:?}: {other:?}"),
        }
        // Walks from the session root (re-walked before the reopen) still work.
        within(s.walk(s.root(), &[name("entry")])).await.unwrap();
        server.shutdown().await;
    }
}

/// The same session logic over TCP (`host:port` and `tcp://` forms) and a unix socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_unix_transports_reach_the_memserver() {
    let server = MemServer::start(Config::new(Generation::Gen2).ephemeral_unix())
        .await
        .unwrap();
    let tcp = server.tcp_addr().unwrap();
    let targets = [
        format!("{tcp}"),
        format!("tcp://{tcp}"),
        server.unix_target().unwrap(),
    ];
    for (i, target) in targets.iter().enumerate() {
        let s = Session::connect(target, root_opts()).await.unwrap();
        let file = create_file(&s, ["t0", "t1", "t2"][i]).await;
        let payload = data(300_000, i as u8);
        assert_eq!(s.write(&file, 0, payload.clone()).await.unwrap(), 300_000);
        server.drop_connections();
        // Real sockets: the clock cannot be paused, so this waits on the wall clock.
        assert!(eventually(|| s.stats().reconnects >= 1).await, "{target}");
        assert_eq!(
            within(s.read(&file, 0, 400_000)).await.unwrap(),
            payload,
            "{target}"
        );
        assert!(s.stats().bytes_sent > 300_000, "{target}");
    }
    server.shutdown().await;
}

/// `lcreateattr` against a real gen-2 server, and the memserver's refusals of `Txattrwalk`
/// (EOPNOTSUPP, no fid left) and `Tremove` (ENOSYS: the fid is clunked instead).
#[tokio::test(start_paused = true)]
async fn lcreateattr_xattrwalk_and_remove_against_the_memserver() {
    let server = MemServer::start(Config::new(Generation::Gen2))
        .await
        .unwrap();
    let s = Session::connect_with(InMemory(server.clone()), root_opts())
        .await
        .unwrap();
    let base = s.outstanding_fids();
    let (file, r) = s
        .lcreateattr(
            s.root(),
            name("made"),
            open::RDWR | open::CREAT,
            0o100600,
            0,
        )
        .await
        .unwrap();
    assert_eq!(r.stat.mode & 0o777, 0o600);
    assert_eq!(s.write(&file, 0, data(1000, 5)).await.unwrap(), 1000);
    server.drop_connections();
    reconnected(&s, 1).await;
    assert_eq!(within(s.read(&file, 0, 2000)).await.unwrap(), data(1000, 5));

    let e = s.xattrwalk(&file, name("user.x")).await.unwrap_err();
    assert_eq!(e.errno(), errno::EOPNOTSUPP, "{e}");
    assert_eq!(s.outstanding_fids(), base + 1);

    let clunks = server
        .counters()
        .frames(zerofs_session::proto::MessageType::Tclunk);
    let e = s.remove(file).await.unwrap_err();
    assert_eq!(e.errno(), errno::ENOSYS, "{e}");
    assert!(settled(|| s.outstanding_fids() == base).await);
    assert_eq!(
        server
            .counters()
            .frames(zerofs_session::proto::MessageType::Tclunk),
        clunks + 1,
        "the fid ZeroFS kept is clunked"
    );
    server.shutdown().await;
}
