//! A server whose dialect changes across a reconnect (a rolling downgrade or upgrade, an HA
//! peer on another release): requests built for the old connection's dialect are rebuilt for
//! the connection they are sent on, so calls in flight and calls issued while reconnecting
//! block and complete instead of failing, and replay restores open handles in the new
//! dialect. Two memserver nodes of different generations share one filesystem; the session
//! dials whichever is current through their in-memory connectors (no sockets).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use support::{data, root_opts, settled, within};
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};
use zerofs_session::proto::consts::{fsyncdur, getattr, mode, open, setattr};
use zerofs_session::proto::{
    Dialect, Message, MessageType, Tfsyncdur, Tgetattr, Tlink, Tmkdir, Tmknod, Treaddir, Tsetattr,
    Tsymlink, kind,
};
use zerofs_session::{Connector, Entries, Fid, Session, SessionError, Transport};

/// Dials the node that is current right now.
#[derive(Debug, Clone)]
struct Switch(Arc<Mutex<ServerHandle>>);

impl Connector for Switch {
    fn connect(&self) -> BoxFuture<'_, std::io::Result<Transport>> {
        Box::pin(async move {
            let node = self.0.lock().unwrap().clone();
            Ok(Transport::new(node.connect_in_memory()?))
        })
    }

    fn describe(&self) -> String {
        "switch".into()
    }
}

struct Bed {
    old: ServerHandle,
    new: ServerHandle,
    switch: Switch,
    s: Session,
}

impl Bed {
    async fn start(from: Generation, to: Generation) -> Bed {
        let (old, new) = MemServer::start_pair(Config::new(from), Config::new(to))
            .await
            .unwrap();
        let switch = Switch(Arc::new(Mutex::new(old.clone())));
        let s = Session::connect_with(switch.clone(), root_opts())
            .await
            .unwrap();
        assert_eq!(s.dialect(), from.best_dialect());
        Bed {
            old,
            new,
            switch,
            s,
        }
    }

    /// The old node stops serving and closes its connections; the session redials the new.
    fn fail_over(&self) {
        *self.switch.0.lock().unwrap() = self.new.clone();
        self.old.fail_over_to(&self.new).expect("a pair");
    }

    async fn shutdown(self) {
        self.old.shutdown().await;
        self.new.shutdown().await;
    }
}

fn name(n: &str) -> Bytes {
    Bytes::copy_from_slice(n.as_bytes())
}

/// Open handles made in the old dialect: the directory `d` (walked), the file `d/f` opened
/// for reading and writing (5000 bytes of data), and a listing of `d` (opened).
struct Handles {
    dir: Fid,
    file: Fid,
    listing: Fid,
    /// `d/f`, walked, not opened.
    walked: Fid,
}

async fn tree(s: &Session) -> Handles {
    let mkdir = Message::Tmkdir(Tmkdir {
        dfid: s.root().id(),
        name: name("d"),
        mode: 0o755,
        gid: 0,
    });
    s.call(mkdir).await.unwrap();
    let (file, _) = s.walk(s.root(), &[name("d")]).await.unwrap();
    s.lcreate(&file, name("f"), open::RDWR | open::CREAT, 0o644, 0)
        .await
        .unwrap();
    s.write(&file, 0, data(5000, 3)).await.unwrap();
    let (dir, _) = s.walk(s.root(), &[name("d")]).await.unwrap();
    let listing = s.clone_fid(&dir).await.unwrap();
    s.lopen(&listing, open::RDONLY | open::DIRECTORY)
        .await
        .unwrap();
    let (walked, _) = s.walk(s.root(), &[name("d"), name("f")]).await.unwrap();
    Handles {
        dir,
        file,
        listing,
        walked,
    }
}

/// The handles work on the new connection (replayed in its dialect).
async fn handles_work(s: &Session, h: &Handles) {
    assert_eq!(
        within(s.read(&h.file, 0, 10_000)).await.unwrap(),
        data(5000, 3)
    );
    let (_, qids) = within(s.walk(&h.dir, &[name("f")])).await.unwrap();
    assert_eq!(qids.len(), 1);
    let listed = within(s.call(Message::Treaddir(Treaddir {
        fid: h.listing.id(),
        offset: 0,
        count: 8192,
    })))
    .await
    .unwrap();
    let Message::Rreaddir(r) = listed else {
        panic!("{listed:?}")
    };
    assert!(r.entries.iter().any(|e| &e.name[..] == b"f"), "{r:?}");
}

/// Every request a dialect offers for the calls below, richest form first: what a caller
/// that last saw `dialect` sends.
async fn calls(s: &Session, h: &Handles, tag: &str, dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    let d = s.root();
    // A walk with the stat of the last name (Twalkgetattr at gen 1+).
    let (_, st) = s
        .walk_getattr(d, &[name("d"), name("f")])
        .await
        .expect("walk_getattr");
    assert_eq!(st.size, 5000);
    out.push("walk_getattr".to_owned());
    if dialect.has_gen1() {
        let r = s
            .readdir(&h.listing, 0, 8192, true)
            .await
            .expect("Treaddirattr");
        let names: Vec<Bytes> = match r {
            Entries::Stats(r) => r.entries.into_iter().map(|e| e.name).collect(),
            // Lowered: a listing without stats.
            Entries::Names(r) => r.entries.into_iter().map(|e| e.name).collect(),
        };
        assert!(names.iter().any(|n| &n[..] == b"f"), "{names:?}");
        out.push("readdirattr".into());
    }
    if dialect.has_gen2() {
        let (opened, r) = s
            .lopenat(&h.dir, open::RDONLY | open::DIRECTORY)
            .await
            .expect("lopenat");
        assert!(r.qid.ty.is_dir());
        assert_eq!(opened.qid().map(|q| q.path), Some(r.qid.path));
        let (made, r) = s
            .lcreateattr(
                &h.dir,
                name(&format!("c-{tag}")),
                open::RDWR | open::CREAT | open::EXCL,
                mode::S_IFREG | 0o600,
                0,
            )
            .await
            .expect("lcreateattr");
        assert_eq!(r.stat.mode & 0o7777, 0o600);
        assert_eq!(s.write(&made, 0, data(10, 1)).await.unwrap(), 10);
        // Typed calls: a request lowered for a plainer dialect still hands back the reply
        // type the caller asked for (rebuilt by the session's follow-ups).
        let r = s
            .call_typed::<kind::Tmkdirattr>(Tmkdir {
                dfid: h.dir.id(),
                name: name(&format!("m-{tag}")),
                mode: 0o700,
                gid: 0,
            })
            .await
            .expect("Tmkdirattr");
        assert_eq!(r.stat.mode, mode::S_IFDIR | 0o700);
        let r = s
            .call_typed::<kind::Tsymlinkattr>(Tsymlink {
                dfid: h.dir.id(),
                name: name(&format!("l-{tag}")),
                symtgt: name("f"),
                gid: 0,
            })
            .await
            .expect("Tsymlinkattr");
        assert_eq!(r.stat.mode & mode::S_IFMT, mode::S_IFLNK);
        let r = s
            .call_typed::<kind::Tmknodattr>(Tmknod {
                dfid: h.dir.id(),
                name: name(&format!("p-{tag}")),
                mode: mode::S_IFIFO | 0o640,
                major: 0,
                minor: 0,
                gid: 0,
            })
            .await
            .expect("Tmknodattr");
        assert_eq!(r.stat.mode, mode::S_IFIFO | 0o640);
        let r = s
            .call_typed::<kind::Tlinkattr>(Tlink {
                dfid: h.dir.id(),
                fid: h.file.id(),
                name: name(&format!("h-{tag}")),
            })
            .await
            .expect("Tlinkattr");
        assert!(r.stat.nlink >= 2, "{r:?}");
        let r = s
            .call_typed::<kind::Tsetattrattr>(Tsetattr {
                fid: made.id(),
                valid: setattr::MODE,
                mode: 0o640,
                ..Tsetattr::default()
            })
            .await
            .expect("Tsetattrattr");
        assert_eq!(r.stat.mode & 0o7777, 0o640);
        out.push("gen2".into());
    }
    if dialect == Dialect::Z {
        let (f, _) = s.walk(d, &[name("d"), name("f")]).await.unwrap();
        let (opened, r) = s
            .lopenatread(&f, open::RDONLY, 1 << 16)
            .await
            .expect("lopenatread");
        // Prefetched (the whole file) or not (then read normally): the same bytes either way.
        let bytes = if r.eof {
            r.data
        } else {
            s.read(&opened, 0, 10_000).await.unwrap()
        };
        assert_eq!(bytes, data(5000, 3));
        let () = s
            .call_typed::<kind::Tfsyncdur>(Tfsyncdur {
                fid: h.file.id(),
                datasync: fsyncdur::INODE,
                token: s.durability_token(),
            })
            .await
            .expect("Tfsyncdur");
        out.push("z".into());
    }
    out
}

/// Independent single requests in the richest forms `dialect` has, all sent at once; how
/// many were sent.
async fn burst(s: &Session, h: &Handles, dialect: Dialect) -> usize {
    let walk = async {
        let (_, st) = s.walk_getattr(s.root(), &[name("d"), name("f")]).await?;
        assert_eq!(st.size, 5000);
        Ok::<_, SessionError>(())
    };
    let gen1 = async {
        if !dialect.has_gen1() {
            return Ok(());
        }
        let r = s
            .call(Message::Treaddirattr(Treaddir {
                fid: h.listing.id(),
                offset: 0,
                count: 8192,
            }))
            .await?;
        assert!(
            matches!(r, Message::Rreaddirattr(_) | Message::Rreaddir(_)),
            "{r:?}"
        );
        Ok(())
    };
    let opens = async {
        if !dialect.has_gen2() {
            return Ok(());
        }
        let (f, r) = s.lopenat(&h.walked, open::RDONLY).await?;
        assert_eq!(f.qid().map(|q| q.path), Some(r.qid.path));
        assert_eq!(s.read(&f, 0, 10_000).await?, data(5000, 3));
        Ok(())
    };
    let creates = async {
        if !dialect.has_gen2() {
            return Ok(());
        }
        let flags = open::RDWR | open::CREAT | open::EXCL;
        let (f, r) = s
            .lcreateattr(&h.dir, name("burst"), flags, mode::S_IFREG | 0o604, 0)
            .await?;
        assert_eq!(r.stat.mode, mode::S_IFREG | 0o604);
        assert_eq!(s.write(&f, 0, data(7, 7)).await?, 7);
        Ok(())
    };
    let mkdir = async {
        if !dialect.has_gen2() {
            // The plain form, resent to a server that has the richer ones.
            let r = s
                .call(Message::Tmkdir(Tmkdir {
                    dfid: h.dir.id(),
                    name: name("burst-dir"),
                    mode: 0o711,
                    gid: 0,
                }))
                .await?;
            assert!(matches!(r, Message::Rmkdir(_)), "{r:?}");
            return Ok(());
        }
        let r = s
            .call(Message::Tmkdirattr(Tmkdir {
                dfid: h.dir.id(),
                name: name("burst-dir"),
                mode: 0o711,
                gid: 0,
            }))
            .await?;
        assert!(
            matches!(&r, Message::Rmkdirattr(a) if a.stat.mode == mode::S_IFDIR | 0o711),
            "{r:?}"
        );
        Ok(())
    };
    let prefetch = async {
        if dialect != Dialect::Z {
            return Ok(());
        }
        let (f, r) = s.lopenatread(&h.walked, open::RDONLY, 1 << 16).await?;
        let bytes = if r.eof {
            r.data
        } else {
            s.read(&f, 0, 10_000).await?
        };
        assert_eq!(bytes, data(5000, 3));
        Ok(())
    };
    let (a, b, c, d, e, f) = futures::join!(walk, gen1, opens, creates, mkdir, prefetch);
    for (what, r) in [
        ("walk_getattr", a),
        ("Treaddirattr", b),
        ("lopenat", c),
        ("lcreateattr", d),
        ("mkdir", e),
        ("lopenatread", f),
    ] {
        r.unwrap_or_else(|e| panic!("{what}: {e:?}"));
    }
    burst_size(dialect)
}

/// How many requests [`burst`] sends at once in `dialect`.
fn burst_size(dialect: Dialect) -> usize {
    // walk_getattr, mkdir: always; Treaddirattr at gen 1+; lopenat, lcreateattr at gen 2+;
    // lopenatread at .Z.
    2 + usize::from(dialect.has_gen1())
        + 2 * usize::from(dialect.has_gen2())
        + usize::from(dialect == Dialect::Z)
}

/// The calls above, started on the old node with their replies held back (each is applied,
/// then the connection is cut): every call completes on the new node.
async fn in_flight(from: Generation, to: Generation) {
    let bed = Bed::start(from, to).await;
    let s = bed.s.clone();
    let h = tree(&s).await;
    let dialect = s.dialect();
    bed.old.set_reply_delay(Some(Duration::from_secs(3600)));
    let expected = burst_size(dialect);
    let run = {
        let s = s.clone();
        tokio::spawn(async move {
            let h = h;
            let (sent, done) = futures::join!(burst(&s, &h, dialect), calls(&s, &h, "a", dialect));
            assert_eq!(sent, expected);
            (h, done)
        })
    };
    // Every first request is on the old node, unanswered (the burst and the sequence's first).
    assert!(settled(|| s.stats().in_flight as usize > expected).await);
    if dialect.has_gen1() {
        // Rich forms reached the old node (and were applied there; their replies never came).
        assert!(bed.old.counters().frames(MessageType::Twalkgetattr) >= 1);
    }
    if dialect.has_gen2() {
        assert_eq!(bed.old.counters().frames(MessageType::Tlcreateattr), 1);
        assert_eq!(bed.old.counters().frames(MessageType::Tmkdirattr), 1);
    }
    bed.fail_over();
    let (h, done) = within(run).await.expect("no panic");
    assert!(!done.is_empty());
    let st = s.stats();
    assert!(st.resends > expected as u64, "{st:?}");
    assert_eq!(st.fids_stale, 0, "{st:?}");
    if !to.best_dialect().has_gen2() && dialect.has_gen2() {
        // The applied creates were resent in their plain forms and proven applied.
        assert!(bed.new.counters().frames(MessageType::Tlcreate) >= 1);
        assert!(bed.new.counters().frames(MessageType::Tmkdir) >= 1);
    }
    assert_eq!(s.dialect(), to.best_dialect(), "{from:?} -> {to:?}");
    handles_work(&s, &h).await;
    bed.shutdown().await;
}

/// The calls above, issued while the session reconnects (the new node refuses connections
/// for a moment): built for the old dialect, they wait and complete on the new node; handles
/// opened on the old node work after replay on the new.
async fn while_reconnecting(from: Generation, to: Generation) {
    let bed = Bed::start(from, to).await;
    let s = bed.s.clone();
    let h = tree(&s).await;
    let dialect = s.dialect();
    bed.new.stop_listening().await;
    bed.fail_over();
    assert!(settled(|| !s.is_connected()).await);
    let run = {
        let s = s.clone();
        tokio::spawn(async move {
            let h = h;
            let done = calls(&s, &h, "b", dialect).await;
            (h, done)
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!run.is_finished(), "calls wait for a connection");
    bed.new.resume_listening().await.unwrap();
    let (h, done) = within(run).await.expect("no panic");
    assert!(!done.is_empty());
    assert_eq!(s.dialect(), to.best_dialect(), "{from:?} -> {to:?}");
    assert_eq!(s.stats().fids_stale, 0);
    handles_work(&s, &h).await;
    // Handles replayed again, now from the new dialect.
    let reconnects = s.stats().reconnects;
    s.force_reconnect();
    assert!(settled(|| s.stats().reconnects > reconnects).await);
    handles_work(&s, &h).await;
    bed.shutdown().await;
}

/// A request the new dialect has no form of at all fails as the server would refuse it.
#[tokio::test(start_paused = true)]
async fn a_request_with_no_plain_form_is_refused_as_unsupported_after_a_downgrade() {
    let bed = Bed::start(Generation::Z, Generation::Plain).await;
    let s = bed.s.clone();
    let file = support::create_file(&s, "x").await;
    bed.new.stop_listening().await;
    bed.fail_over();
    assert!(settled(|| !s.is_connected()).await);
    let call = {
        let s = s.clone();
        let id = file.id();
        tokio::spawn(async move {
            s.call(Message::Tfallocate(zerofs_session::proto::Tfallocate {
                fid: id,
                offset: 0,
                length: 10,
                mode: 0,
            }))
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    bed.new.resume_listening().await.unwrap();
    let r = within(call).await.unwrap();
    assert!(
        matches!(r, Err(SessionError::Server(e)) if e == zerofs_session::proto::consts::errno::EOPNOTSUPP),
        "{r:?}"
    );
    // The getattr the facade would send next works.
    let r = s
        .call(Message::Tgetattr(Tgetattr {
            fid: file.id(),
            request_mask: getattr::BASIC,
        }))
        .await;
    assert!(matches!(r, Ok(Message::Rgetattr(_))), "{r:?}");
    bed.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn downgrade_z_to_plain_in_flight() {
    in_flight(Generation::Z, Generation::Plain).await;
}

#[tokio::test(start_paused = true)]
async fn downgrade_z_to_plain_while_reconnecting() {
    while_reconnecting(Generation::Z, Generation::Plain).await;
}

#[tokio::test(start_paused = true)]
async fn downgrade_gen2_to_plain_in_flight() {
    in_flight(Generation::Gen2, Generation::Plain).await;
}

#[tokio::test(start_paused = true)]
async fn downgrade_gen2_to_plain_while_reconnecting() {
    while_reconnecting(Generation::Gen2, Generation::Plain).await;
}

#[tokio::test(start_paused = true)]
async fn downgrade_z_to_gen1_while_reconnecting() {
    while_reconnecting(Generation::Z, Generation::Gen1).await;
}

#[tokio::test(start_paused = true)]
async fn upgrade_plain_to_gen2_in_flight() {
    in_flight(Generation::Plain, Generation::Gen2).await;
}

#[tokio::test(start_paused = true)]
async fn upgrade_plain_to_z_in_flight() {
    in_flight(Generation::Plain, Generation::Z).await;
}

#[tokio::test(start_paused = true)]
async fn upgrade_plain_to_z_while_reconnecting() {
    while_reconnecting(Generation::Plain, Generation::Z).await;
}

#[tokio::test(start_paused = true)]
async fn upgrade_gen2_to_z_in_flight() {
    in_flight(Generation::Gen2, Generation::Z).await;
}

/// Z → plain → Z with one mutation in flight throughout: applied on the first `.Z` node,
/// resent (lowered to `Tmkdir`) to the plain node and cut again, then resent to the `.Z` node.
/// The lowered request carries a fresh op-id (the ledger must not answer a `Tmkdir` with the
/// `Rmkdirattr` it recorded), and the first attempt's success is verified.
#[tokio::test(start_paused = true)]
async fn a_lowered_mutation_resent_to_a_z_server_again_is_verified() {
    let bed = Bed::start(Generation::Z, Generation::Plain).await;
    let s = bed.s.clone();
    bed.old.set_reply_delay(Some(Duration::from_secs(3600)));
    bed.new
        .set_reply_delay_for(MessageType::Tmkdir, Some(Duration::from_secs(3600)));
    let call = {
        let s = s.clone();
        let body = Tmkdir {
            dfid: s.root().id(),
            name: name("flip"),
            mode: 0o710,
            gid: 0,
        };
        tokio::spawn(async move { s.call(Message::Tmkdirattr(body)).await })
    };
    assert!(settled(|| bed.old.counters().frames(MessageType::Tmkdirattr) == 1).await);
    bed.fail_over();
    assert!(settled(|| bed.new.counters().frames(MessageType::Tmkdir) == 1).await);
    bed.old.set_reply_delay(None);
    *bed.switch.0.lock().unwrap() = bed.old.clone();
    bed.new.fail_over_to(&bed.old).expect("a pair");
    let r = within(call).await.unwrap();
    assert!(
        matches!(&r, Ok(Message::Rmkdirattr(a)) if a.stat.mode == mode::S_IFDIR | 0o710),
        "{r:?}"
    );
    assert_eq!(s.dialect(), Dialect::Z);
    assert!(bed.old.counters().frames(MessageType::Tmkdir) >= 1);
    bed.shutdown().await;
}

fn rename_d_to_e(s: &Session) -> Message {
    Message::Trenameat(zerofs_session::proto::Trenameat {
        olddirfid: s.root().id(),
        oldname: name("d"),
        newdirfid: s.root().id(),
        newname: name("e"),
    })
}

/// The handles work, the directory is where the rename put it, and again after another
/// reconnect (replay from the paths recorded now).
async fn handles_follow_the_rename(s: &Session, h: &Handles) {
    assert_eq!(s.stats().fids_stale, 0, "{:?}", s.stats());
    handles_work(s, h).await;
    within(s.walk(s.root(), &[name("e"), name("f")]))
        .await
        .unwrap();
    let reconnects = s.stats().reconnects;
    s.force_reconnect();
    assert!(settled(|| s.stats().reconnects > reconnects).await);
    handles_work(s, h).await;
    assert_eq!(s.stats().fids_stale, 0, "{:?}", s.stats());
}

/// A directory rename applied on the old node, its reply held back, resent to the new node of
/// another dialect (where the source is gone): the destination holding the source's qid
/// proves it applied once.
async fn rename_in_flight(from: Generation, to: Generation) {
    let bed = Bed::start(from, to).await;
    let s = bed.s.clone();
    let h = tree(&s).await;
    bed.old
        .set_reply_delay_for(MessageType::Trenameat, Some(Duration::from_secs(3600)));
    let call = {
        let msg = rename_d_to_e(&s);
        let s = s.clone();
        tokio::spawn(async move { s.call(msg).await })
    };
    assert!(settled(|| bed.old.counters().frames(MessageType::Trenameat) == 1).await);
    bed.fail_over();
    let r = within(call).await.unwrap();
    assert!(
        matches!(r, Ok(Message::Rrenameat)),
        "{from:?} -> {to:?}: {r:?}"
    );
    assert_eq!(s.dialect(), to.best_dialect());
    handles_follow_the_rename(&s, &h).await;
    bed.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn upgrade_plain_to_z_mid_rename() {
    rename_in_flight(Generation::Plain, Generation::Z).await;
}

#[tokio::test(start_paused = true)]
async fn upgrade_plain_to_gen2_mid_rename() {
    rename_in_flight(Generation::Plain, Generation::Gen2).await;
}

#[tokio::test(start_paused = true)]
async fn downgrade_z_to_gen1_mid_rename() {
    rename_in_flight(Generation::Z, Generation::Gen1).await;
}

/// A rename whose reply was lost on a gen 2 node is verified there (replay rebinds by inode,
/// so nothing else proves it); the recorded paths beneath it must have moved, as a later
/// downgrade to a plain node re-walks them.
#[tokio::test(start_paused = true)]
async fn a_rename_verified_on_gen2_moves_the_paths_a_plain_node_re_walks() {
    let bed = Bed::start(Generation::Gen2, Generation::Plain).await;
    let s = bed.s.clone();
    let h = tree(&s).await;
    bed.old
        .lose_reply_after(zerofs_memserver::ReplyLoss::next(MessageType::Trenameat));
    let r = within(s.call(rename_d_to_e(&s))).await;
    assert!(matches!(r, Ok(Message::Rrenameat)), "{r:?}");
    assert_eq!(bed.old.counters().frames(MessageType::Trenameat), 2);
    assert_eq!(s.dialect(), Dialect::Zerofs2);
    bed.fail_over();
    assert!(settled(|| s.dialect() == Dialect::Plain).await);
    handles_follow_the_rename(&s, &h).await;
    bed.shutdown().await;
}
