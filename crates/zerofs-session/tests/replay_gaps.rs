//! Replay gaps on plain 9P2000.L (no `Trebind`, no de-duplication): a directory rename that
//! applied but whose reply was lost is proven applied by the qids of the handles beneath it,
//! reported as done, and the paths replay keeps for those handles follow it. The memserver is
//! reached through its in-memory connector (no sockets).

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{data, in_memory, root_opts, within};
use zerofs_memserver::{Generation, ReplyLoss};
use zerofs_session::proto::consts::open;
use zerofs_session::proto::{Message, MessageType, Tmkdir, Trename, Trenameat};
use zerofs_session::{Fid, Session};

fn name(n: &'static str) -> Bytes {
    Bytes::from_static(n.as_bytes())
}

/// `d/` with the file `d/sub/x` in it; returns (the dir handle on `d`, the open file).
async fn tree(s: &Session) -> (Fid, Fid) {
    for (dir, n) in [(None, "d"), (Some("d"), "sub")] {
        let parent = match dir {
            None => s.clone_fid(s.root()).await.unwrap(),
            Some(p) => s.walk(s.root(), &[name(p)]).await.unwrap().0,
        };
        let mkdir = Message::Tmkdir(Tmkdir {
            dfid: parent.id(),
            name: name(n),
            mode: 0o755,
            gid: 0,
        });
        s.call(mkdir).await.unwrap();
    }
    let (file, _) = s.walk(s.root(), &[name("d"), name("sub")]).await.unwrap();
    s.lcreate(&file, name("x"), open::RDWR | open::CREAT, 0o644, 0)
        .await
        .unwrap();
    s.write(&file, 0, data(5000, 9)).await.unwrap();
    let (dir, _) = s.walk(s.root(), &[name("d")]).await.unwrap();
    (dir, file)
}

/// The handles beneath the moved directory work now, and after another reconnect (replay
/// re-walks their rewritten paths).
async fn handles_follow(s: &Session, dir: &Fid, file: &Fid) {
    assert_eq!(
        within(s.read(file, 0, 10_000)).await.unwrap(),
        data(5000, 9)
    );
    let (x, _) = within(s.walk(dir, &[name("sub"), name("x")]))
        .await
        .unwrap();
    drop(x);
    let replayed = s.stats().reconnects;
    s.force_reconnect();
    for _ in 0..4000 {
        if s.stats().reconnects > replayed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        within(s.read(file, 0, 10_000)).await.unwrap(),
        data(5000, 9)
    );
    within(s.walk(dir, &[name("sub")])).await.unwrap();
    // The moved directory is where the rename put it.
    within(s.walk(s.root(), &[name("e"), name("sub"), name("x")]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renameat_whose_reply_was_lost_is_proven_applied_and_moves_replay_paths() {
    let (server, s) = in_memory(Generation::Plain, root_opts()).await;
    let (dir, file) = tree(&s).await;
    server.lose_reply_after(ReplyLoss::next(MessageType::Trenameat));
    let msg = Message::Trenameat(Trenameat {
        olddirfid: s.root().id(),
        oldname: name("d"),
        newdirfid: s.root().id(),
        newname: name("e"),
    });
    let r = within(s.call(msg)).await;
    assert!(matches!(r, Ok(Message::Rrenameat)), "{r:?}");
    assert_eq!(
        server.counters().frames(MessageType::Trenameat),
        1,
        "not applied twice"
    );
    handles_follow(&s, &dir, &file).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_whose_reply_was_lost_is_proven_applied_and_moves_replay_paths() {
    let (server, s) = in_memory(Generation::Plain, root_opts()).await;
    let (dir, file) = tree(&s).await;
    server.lose_reply_after(ReplyLoss::next(MessageType::Trename));
    let (moving, _) = s.walk(s.root(), &[name("d")]).await.unwrap();
    let msg = Message::Trename(Trename {
        fid: moving.id(),
        dfid: s.root().id(),
        name: name("e"),
    });
    let r = within(s.call(msg)).await;
    assert!(matches!(r, Ok(Message::Rrename)), "{r:?}");
    handles_follow(&s, &dir, &file).await;
    server.shutdown().await;
}

/// A rename lost before it reached the server is simply resent and applies once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_that_never_applied_is_resent() {
    let (server, s) = in_memory(Generation::Plain, root_opts()).await;
    let (dir, file) = tree(&s).await;
    // The connection dies before the rename is sent: it waits for the next one.
    server.stop_listening().await;
    server.drop_connections();
    let msg = Message::Trenameat(Trenameat {
        olddirfid: s.root().id(),
        oldname: name("d"),
        newdirfid: s.root().id(),
        newname: name("e"),
    });
    let call = {
        let s = s.clone();
        tokio::spawn(async move { s.call(msg).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.resume_listening().await.unwrap();
    let r = within(call).await.unwrap();
    assert!(matches!(r, Ok(Message::Rrenameat)), "{r:?}");
    handles_follow(&s, &dir, &file).await;
    server.shutdown().await;
}

fn mkdir_in_root(s: &Session, n: &'static str, attr: bool) -> Message {
    let body = Tmkdir {
        dfid: s.root().id(),
        name: name(n),
        mode: 0o750,
        gid: 0,
    };
    if attr {
        Message::Tmkdirattr(body)
    } else {
        Message::Tmkdir(body)
    }
}

/// A mkdir that applied but whose reply was lost: the resend answers `EEXIST`, the directory
/// there (type, permissions, group as asked) proves the first attempt: success with its qid.
/// Plain (`Tmkdir`) and gen 2 (`Tmkdirattr`, no de-duplication either).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mkdir_whose_reply_was_lost_is_verified_by_the_directory_it_made() {
    for (g, attr) in [(Generation::Plain, false), (Generation::Gen2, true)] {
        let (server, s) = in_memory(g, root_opts()).await;
        let ty = if attr {
            MessageType::Tmkdirattr
        } else {
            MessageType::Tmkdir
        };
        server.lose_reply_after(ReplyLoss::next(ty));
        let r = within(s.call(mkdir_in_root(&s, "made", attr)))
            .await
            .unwrap();
        let qid = match r {
            Message::Rmkdir(m) => m.qid,
            Message::Rmkdirattr(a) => {
                assert_eq!(a.stat.mode & 0o7777, 0o750, "{g:?}");
                a.stat.qid
            }
            other => panic!("{g:?}: {other:?}"),
        };
        assert_eq!(server.counters().frames(ty), 2, "{g:?}: resent once");
        let (_, qids) = s.walk(s.root(), &[name("made")]).await.unwrap();
        assert_eq!(
            qids[0].path, qid.path,
            "{g:?}: the reply names the directory"
        );
        // Not resent: an existing directory is still an error.
        let again = s.call(mkdir_in_root(&s, "made", attr)).await;
        assert!(
            matches!(again, Err(zerofs_session::SessionError::Server(17))),
            "{g:?}: {again:?}"
        );
        server.shutdown().await;
    }
}

/// An unlink that applied but whose reply was lost: the resend's `ENOENT` is the outcome
/// asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlink_whose_reply_was_lost_reports_success() {
    let (server, s) = in_memory(Generation::Plain, root_opts()).await;
    s.call(mkdir_in_root(&s, "gone", false)).await.unwrap();
    server.lose_reply_after(ReplyLoss::next(MessageType::Tunlinkat));
    let unlink = |n| {
        Message::Tunlinkat(zerofs_session::proto::Tunlinkat {
            dirfid: s.root().id(),
            name: name(n),
            flags: zerofs_session::proto::consts::unlinkat::REMOVEDIR,
        })
    };
    let r = within(s.call(unlink("gone"))).await;
    assert!(matches!(r, Ok(Message::Runlinkat)), "{r:?}");
    assert_eq!(server.counters().frames(MessageType::Tunlinkat), 2);
    // Not resent: a missing name is still an error.
    let again = s.call(unlink("gone")).await;
    assert!(
        matches!(again, Err(zerofs_session::SessionError::Server(2))),
        "{again:?}"
    );
    server.shutdown().await;
}

/// Creates `n` exclusively, through `Tlcreateattr` (a new fid) or `Tlcreate` (a clone of the
/// root turned into the file): the fid, and the qid of the file.
async fn create_new(
    s: &Session,
    n: &'static str,
    attr: bool,
    perm: u32,
) -> Result<(Fid, zerofs_session::proto::Qid), zerofs_session::SessionError> {
    use zerofs_session::proto::consts::mode;
    let flags = open::RDWR | open::CREAT | open::EXCL;
    if attr {
        let (f, r) = s
            .lcreateattr(s.root(), name(n), flags, mode::S_IFREG | perm, 0)
            .await?;
        assert_eq!(r.stat.mode, mode::S_IFREG | perm);
        assert_eq!(r.stat.size, 0);
        Ok((f, r.stat.qid))
    } else {
        let f = s.clone_fid(s.root()).await?;
        let r = s
            .lcreate(&f, name(n), flags, mode::S_IFREG | perm, 0)
            .await?;
        Ok((f, r.qid))
    }
}

/// A create that applied but whose reply was lost: the resend answers `EEXIST`; the file at
/// the name (regular, empty, one link, the mode, group and owner asked for) proves the first
/// attempt, and the fid is then the opened file, as the create would have left it: writes
/// land in it, and replay restores it. Plain `Tlcreate`, and gen 2 `Tlcreateattr` and
/// `Tlcreate` (no de-duplication either).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_reply_was_lost_is_verified_and_the_file_opened() {
    for (g, attr) in [
        (Generation::Plain, false),
        (Generation::Gen2, true),
        (Generation::Gen2, false),
    ] {
        let (server, s) = in_memory(g, root_opts()).await;
        let ty = if attr {
            MessageType::Tlcreateattr
        } else {
            MessageType::Tlcreate
        };
        server.lose_reply_after(ReplyLoss::next(ty));
        let (fid, qid) = within(create_new(&s, "new", attr, 0o640))
            .await
            .unwrap_or_else(|e| panic!("{g:?} attr={attr}: {e:?}"));
        assert_eq!(server.counters().frames(ty), 2, "{g:?}: resent once");
        assert_eq!(fid.qid().map(|q| q.path), Some(qid.path), "{g:?}");
        let (_, qids) = s.walk(s.root(), &[name("new")]).await.unwrap();
        assert_eq!(qids[0].path, qid.path, "{g:?}: the reply names the file");
        // Open for writing on the fid.
        assert_eq!(s.write(&fid, 0, data(100, 5)).await.unwrap(), 100);
        assert_eq!(s.read(&fid, 0, 1000).await.unwrap(), data(100, 5));
        // Replay restores it.
        let replayed = s.stats().reconnects;
        s.force_reconnect();
        for _ in 0..4000 {
            if s.stats().reconnects > replayed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            within(s.read(&fid, 0, 1000)).await.unwrap(),
            data(100, 5),
            "{g:?}"
        );
        assert_eq!(s.stats().fids_stale, 0, "{g:?}");
        // Not resent: an existing file is still an error.
        let again = create_new(&s, "new", attr, 0o640).await;
        assert!(
            matches!(again, Err(zerofs_session::SessionError::Server(17))),
            "{g:?}: {again:?}"
        );
        server.shutdown().await;
    }
}

/// A resent create meeting a file its lost attempt cannot have made (it has data, or another
/// mode): the `EEXIST` stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_create_meeting_a_file_it_did_not_make_still_fails() {
    for attr in [false, true] {
        let (server, s) = in_memory(Generation::Gen2, root_opts()).await;
        let (used, _) = create_new(&s, "used", attr, 0o640).await.unwrap();
        s.write(&used, 0, data(10, 1)).await.unwrap();
        create_new(&s, "other-mode", attr, 0o600).await.unwrap();
        let ty = if attr {
            MessageType::Tlcreateattr
        } else {
            MessageType::Tlcreate
        };
        for n in ["used", "other-mode"] {
            // The first attempt fails (the name is taken) and its answer is lost.
            server.reset_counters();
            server.lose_reply_after(ReplyLoss::next(ty));
            let r = within(create_new(&s, n, attr, 0o640)).await;
            assert!(
                matches!(r, Err(zerofs_session::SessionError::Server(17))),
                "{n} attr={attr}: {r:?}"
            );
            assert_eq!(server.counters().frames(ty), 2, "{n}: resent once");
        }
        server.shutdown().await;
    }
}

/// The rename of `d` to `e` in the root, by `Trenameat` or by `Trename` of a fid on `d`.
async fn rename_d_to_e(s: &Session, at: bool) -> Result<Message, zerofs_session::SessionError> {
    if at {
        s.call(Message::Trenameat(Trenameat {
            olddirfid: s.root().id(),
            oldname: name("d"),
            newdirfid: s.root().id(),
            newname: name("e"),
        }))
        .await
    } else {
        let (moving, _) = s.walk(s.root(), &[name("d")]).await?;
        s.call(Message::Trename(Trename {
            fid: moving.id(),
            dfid: s.root().id(),
            name: name("e"),
        }))
        .await
    }
}

/// Gen 1 and gen 2 replay rebinds fids by inode (`Trebind`), which never proves a lost rename
/// applied: the resend answers `ENOENT` (the source is gone). The destination holding the
/// source's qid proves it: success, and the recorded paths follow (see `dialect_change.rs`
/// for a downgrade that re-walks them). `.Z` de-duplicates the resend by its envelope: the
/// ledger answers it, sent twice but applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_whose_reply_was_lost_is_verified_on_rebinding_dialects() {
    for g in [Generation::Gen1, Generation::Gen2, Generation::Z] {
        for at in [true, false] {
            let (server, s) = in_memory(g, root_opts()).await;
            let (dir, file) = tree(&s).await;
            let ty = if at {
                MessageType::Trenameat
            } else {
                MessageType::Trename
            };
            server.lose_reply_after(ReplyLoss::next(ty));
            let r = within(rename_d_to_e(&s, at)).await;
            assert!(
                matches!(r, Ok(Message::Rrenameat | Message::Rrename)),
                "{g:?} at={at}: {r:?}"
            );
            assert_eq!(server.counters().frames(ty), 2, "{g:?}: resent once");
            handles_follow(&s, &dir, &file).await;
            // Not resent: a missing source is still an error.
            let again = rename_d_to_e(&s, at).await;
            assert!(
                matches!(again, Err(zerofs_session::SessionError::Server(2))),
                "{g:?} at={at}: {again:?}"
            );
            server.shutdown().await;
        }
    }
}

/// A resent rename whose source is gone but whose destination holds another inode (someone
/// else moved it, and put something else there): the `ENOENT` stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_rename_meeting_another_file_at_its_destination_still_fails() {
    let (server, s) = in_memory(Generation::Gen2, root_opts()).await;
    let (_dir, _file) = tree(&s).await;
    // The first attempt applies, its reply is lost; before the resend, something else takes
    // the destination's name (a delay on the reconnect's walks is not needed: the resend
    // comes after the lost reply, and `e` is swapped by a second session meanwhile).
    let other = Session::connect_with(support::InMemory(server.clone()), root_opts())
        .await
        .unwrap();
    server.lose_reply_after(ReplyLoss::next(MessageType::Trenameat));
    server.set_reply_delay_for(MessageType::Tattach, Some(Duration::from_millis(200)));
    let call = {
        let s = s.clone();
        tokio::spawn(async move { rename_d_to_e(&s, true).await })
    };
    assert!(support::eventually(|| server.counters().frames(MessageType::Trenameat) == 1).await);
    // `e` (the moved directory) goes elsewhere and a new directory takes its name.
    let mv = Message::Trenameat(Trenameat {
        olddirfid: other.root().id(),
        oldname: name("e"),
        newdirfid: other.root().id(),
        newname: name("elsewhere"),
    });
    within(other.call(mv)).await.unwrap();
    within(other.call(Message::Tmkdir(Tmkdir {
        dfid: other.root().id(),
        name: name("e"),
        mode: 0o755,
        gid: 0,
    })))
    .await
    .unwrap();
    server.set_reply_delay_for(MessageType::Tattach, None);
    let r = within(call).await.unwrap();
    assert!(
        matches!(r, Err(zerofs_session::SessionError::Server(2))),
        "{r:?}"
    );
    server.shutdown().await;
}

/// A symlink, a device node, a fifo and a hard link in the root, each in its plain form or
/// its `*attr` form.
fn node_requests(s: &Session, file: &Fid, attr: bool) -> Vec<(&'static str, Message)> {
    use zerofs_session::proto::consts::mode;
    use zerofs_session::proto::{Tlink, Tmknod, Tsymlink};
    let d = s.root().id();
    let symlink = Tsymlink {
        dfid: d,
        name: name("sym"),
        symtgt: name("../target"),
        gid: 0,
    };
    let mknod = |n, mode, major, minor| Tmknod {
        dfid: d,
        name: name(n),
        mode,
        major,
        minor,
        gid: 0,
    };
    let chr = mknod("chr", mode::S_IFCHR | 0o620, 4, 0x12);
    let fifo = mknod("fifo", mode::S_IFIFO | 0o600, 0, 0);
    let link = Tlink {
        dfid: d,
        fid: file.id(),
        name: name("hard"),
    };
    if attr {
        vec![
            ("sym", Message::Tsymlinkattr(symlink)),
            ("chr", Message::Tmknodattr(chr)),
            ("fifo", Message::Tmknodattr(fifo)),
            ("hard", Message::Tlinkattr(link)),
        ]
    } else {
        vec![
            ("sym", Message::Tsymlink(symlink)),
            ("chr", Message::Tmknod(chr)),
            ("fifo", Message::Tmknod(fifo)),
            ("hard", Message::Tlink(link)),
        ]
    }
}

/// The qid a node request's reply names.
fn reply_qid(r: &Message) -> Option<u64> {
    match r {
        Message::Rsymlink(q) => Some(q.qid.path),
        Message::Rmknod(q) => Some(q.qid.path),
        Message::Rsymlinkattr(a) | Message::Rmknodattr(a) | Message::Rlinkattr(a) => {
            Some(a.stat.qid.path)
        }
        _ => None,
    }
}

/// A symlink, mknod or link that applied but whose reply was lost: the resend answers
/// `EEXIST`; what stands at the name (the symlink with its target, the node with its type,
/// mode and device number, the linked inode) proves the first attempt: success. Plain forms
/// on a plain server, `*attr` forms on gen 2 (no de-duplication either).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_mknod_or_link_whose_reply_was_lost_is_verified() {
    for (g, attr) in [(Generation::Plain, false), (Generation::Gen2, true)] {
        let (server, s) = in_memory(g, root_opts()).await;
        let (file, file_qid) = create_new(&s, "file", false, 0o644).await.unwrap();
        for (n, msg) in node_requests(&s, &file, attr) {
            let ty = msg.msg_type();
            server.reset_counters();
            server.lose_reply_after(ReplyLoss::next(ty));
            let r = within(s.call(msg.clone()))
                .await
                .unwrap_or_else(|e| panic!("{g:?} {n}: {e:?}"));
            assert_eq!(server.counters().frames(ty), 2, "{g:?} {n}: resent once");
            let (_, qids) = s.walk(s.root(), &[name(n)]).await.unwrap();
            match reply_qid(&r) {
                Some(q) => assert_eq!(q, qids[0].path, "{g:?} {n}: the reply names it"),
                None => assert!(matches!(r, Message::Rlink), "{g:?} {n}: {r:?}"),
            }
            if n == "hard" {
                assert_eq!(qids[0].path, file_qid.path, "{g:?}: the same inode");
            }
            // Not resent: an existing name is still an error.
            let again = s.call(msg).await;
            assert!(
                matches!(again, Err(zerofs_session::SessionError::Server(17))),
                "{g:?} {n}: {again:?}"
            );
        }
        server.shutdown().await;
    }
}

/// A resent symlink, mknod or link meeting something its lost attempt cannot have made (a
/// symlink to another target, a node of another device, another inode): the `EEXIST` stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_symlink_mknod_or_link_meeting_another_node_still_fails() {
    use zerofs_session::proto::consts::mode;
    use zerofs_session::proto::{Tmknod, Tsymlink};
    for (g, attr) in [(Generation::Plain, false), (Generation::Gen2, true)] {
        let (server, s) = in_memory(g, root_opts()).await;
        let (file, _) = create_new(&s, "file", false, 0o644).await.unwrap();
        // What already stands at each name: another target, another device, another file.
        let d = s.root().id();
        s.call(Message::Tsymlink(Tsymlink {
            dfid: d,
            name: name("sym"),
            symtgt: name("elsewhere"),
            gid: 0,
        }))
        .await
        .unwrap();
        for (n, minor) in [("chr", 0x13), ("fifo", 0)] {
            let ty = if n == "chr" {
                mode::S_IFCHR | 0o620
            } else {
                mode::S_IFIFO | 0o640
            };
            s.call(Message::Tmknod(Tmknod {
                dfid: d,
                name: name(n),
                mode: ty,
                major: 4,
                minor,
                gid: 0,
            }))
            .await
            .unwrap();
        }
        create_new(&s, "hard", false, 0o644).await.unwrap();
        for (n, msg) in node_requests(&s, &file, attr) {
            let ty = msg.msg_type();
            server.reset_counters();
            // The first attempt fails (the name is taken) and its answer is lost.
            server.lose_reply_after(ReplyLoss::next(ty));
            let r = within(s.call(msg)).await;
            assert!(
                matches!(r, Err(zerofs_session::SessionError::Server(17))),
                "{g:?} {n}: {r:?}"
            );
            assert_eq!(server.counters().frames(ty), 2, "{g:?} {n}: resent once");
        }
        server.shutdown().await;
    }
}
