//! Replay against a scripted plain server: attach fids first, then every other fid re-walked
//! by its recorded path from its attach fid into the same number, checked against its qid,
//! reopened with its recorded flags; what cannot be restored is marked stale.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zerofs_9p_proto::consts::{errno, open};
use zerofs_9p_proto::{Dialect, Frame, FrameDecoder, Message, Rattach, Rlerror, Rlopen, Rwalk};

use super::*;
use crate::conn::Conn;
use crate::replay::replay;

/// What the scripted server saw, in order: (request name, fid, walked names).
type Log = Arc<Mutex<Vec<(String, u32, Vec<String>)>>>;

/// Serves a flat plain-9P tree: `tree` maps a path (names joined by '/') to its qid path.
fn serve(io: tokio::io::DuplexStream, tree: HashMap<&'static str, u64>, log: Log) {
    tokio::spawn(async move {
        let (mut rd, mut wr) = tokio::io::split(io);
        let mut buf = BytesMut::new();
        let mut framer = FrameDecoder::new(1 << 20);
        // fid → path
        let mut at: HashMap<u32, String> = HashMap::new();
        loop {
            let f = match framer.decode(&mut buf).unwrap() {
                Some(f) => Frame::decode(f, Dialect::Plain).unwrap(),
                None => {
                    if rd.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                    continue;
                }
            };
            let name = f.message.name().to_string();
            let reply = match f.message {
                Message::Tattach(a) => {
                    log.lock().unwrap().push((name, a.fid, Vec::new()));
                    at.insert(a.fid, String::new());
                    Message::Rattach(Rattach { qid: qid(1) })
                }
                Message::Twalk(w) => {
                    let names: Vec<String> = w
                        .wnames
                        .iter()
                        .map(|n| String::from_utf8_lossy(n).into_owned())
                        .collect();
                    log.lock().unwrap().push((name, w.newfid, names.clone()));
                    let mut p = at.get(&w.fid).cloned().unwrap_or_default();
                    let mut wqids = Vec::new();
                    for n in &names {
                        p = if p.is_empty() {
                            n.clone()
                        } else {
                            format!("{p}/{n}")
                        };
                        match tree.get(p.as_str()) {
                            Some(&q) => wqids.push(qid(q)),
                            None => break,
                        }
                    }
                    if wqids.is_empty() && !names.is_empty() {
                        Message::Rlerror(Rlerror {
                            ecode: errno::ENOENT,
                        })
                    } else {
                        if wqids.len() == names.len() {
                            at.insert(w.newfid, p);
                        }
                        Message::Rwalk(Rwalk { wqids })
                    }
                }
                Message::Tlopen(o) => {
                    log.lock()
                        .unwrap()
                        .push((format!("{name}:{:o}", o.flags), o.fid, Vec::new()));
                    Message::Rlopen(Rlopen {
                        qid: qid(0),
                        iounit: 0,
                    })
                }
                Message::Tclunk(c) => {
                    log.lock().unwrap().push((name, c.fid, Vec::new()));
                    at.remove(&c.fid);
                    Message::Rclunk
                }
                m => panic!("unexpected {m:?}"),
            };
            let mut out = Vec::new();
            Frame::new(f.tag, reply)
                .encode(Dialect::Plain, &mut out)
                .unwrap();
            wr.write_all(&out).await.unwrap();
        }
    });
}

/// `f`'s output; a panic after a minute of simulated time (at once, when nothing can run).
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("bounded")
}

#[tokio::test(start_paused = true)]
async fn replay_restores_roots_first_then_paths_and_marks_the_rest_stale() {
    let core = core();
    let (root, d, f, gone, moved, xattr) = {
        let mut t = core.fids();
        let (root, _) = attach(&mut t);
        let (d, _) = walked(&mut t, root, &["d"], 10);
        let (f, _) = walked(&mut t, root, &["d", "f"], 11);
        t.get_mut(f).unwrap().opened = Some(open::RDWR);
        let (gone, _) = walked(&mut t, root, &["missing"], 12);
        // Its path now names another inode.
        let (moved, _) = walked(&mut t, root, &["d", "other"], 13);
        t.get_mut(moved).unwrap().qid = Some(qid(99));
        let (xattr, _) = t.alloc();
        t.set_binding(xattr, Binding::Unrestorable, None);
        // Nothing is live: the connection was lost.
        t.connection_lost(0);
        (root, d, f, gone, moved, xattr)
    };
    let (client, server) = tokio::io::duplex(1 << 20);
    let log: Log = Arc::default();
    serve(
        server,
        HashMap::from([("d", 10), ("d/f", 11), ("d/other", 13)]),
        log.clone(),
    );
    let (rd, wr) = tokio::io::split(client);
    let conn = Conn::start(core.clone(), 1, Box::new(rd), Box::new(wr), 8192);
    conn.set_params(Dialect::Plain, 8192);
    core.fids().conn_id = conn.id;

    let (restored, stale) = within(replay(&conn, &core)).await.unwrap();
    assert_eq!(
        (restored, stale),
        (3, 3),
        "root, d, d/f; missing, moved, xattr"
    );

    let log = log.lock().unwrap().clone();
    assert_eq!(
        log[0],
        ("Tattach".into(), root, vec![]),
        "the attach fid comes first: {log:?}"
    );
    let walk_of_fid = |fid: u32| {
        log.iter()
            .find(|(n, x, _)| n == "Twalk" && *x == fid)
            .map(|(_, _, p)| p.clone())
    };
    assert_eq!(walk_of_fid(d), Some(vec!["d".to_string()]));
    assert_eq!(
        walk_of_fid(f),
        Some(vec!["d".to_string(), "f".to_string()]),
        "the whole path, from the root"
    );
    let pos = |name: &str, fid: u32| log.iter().position(|(n, x, _)| n == name && *x == fid);
    let reopen = format!("Tlopen:{:o}", open::RDWR);
    assert!(
        pos(&reopen, f).unwrap() > pos("Twalk", f).unwrap(),
        "reopened after its walk: {log:?}"
    );
    assert!(
        pos("Tclunk", moved).is_some(),
        "a walk to another inode is clunked"
    );
    assert_eq!(
        pos("Tclunk", gone),
        None,
        "a failed first walk left nothing to clunk"
    );
    assert!(
        log.iter().all(|(_, x, _)| *x != xattr),
        "an unrestorable fid costs no request"
    );

    let t = core.fids();
    for fid in [root, d, f] {
        let r = t.get(fid).unwrap();
        assert!(r.is_live() && !r.is_stale(), "fid {fid} restored");
    }
    for fid in [gone, moved, xattr] {
        assert!(t.get(fid).unwrap().is_stale(), "fid {fid} stale");
    }
    assert_eq!(
        t.get(f).unwrap().refs,
        0,
        "replay's hold on each fid is dropped"
    );
    drop(t);
    let st = core.counters.snapshot();
    assert_eq!((st.fids_replayed, st.fids_stale), (3, 3));
}

#[tokio::test(start_paused = true)]
async fn a_refused_reattach_makes_everything_beneath_it_stale_without_walking() {
    let core = core();
    let (root, f) = {
        let mut t = core.fids();
        let (root, _) = attach(&mut t);
        let (f, _) = walked(&mut t, root, &["f"], 11);
        t.connection_lost(0);
        (root, f)
    };
    let (client, mut server) = tokio::io::duplex(1 << 20);
    // Refuses every attach.
    let log: Log = Arc::default();
    let l = log.clone();
    tokio::spawn(async move {
        let mut buf = BytesMut::new();
        let mut framer = FrameDecoder::new(1 << 20);
        loop {
            while let Some(f) = framer.decode(&mut buf).unwrap() {
                let f = Frame::decode(f, Dialect::Plain).unwrap();
                l.lock()
                    .unwrap()
                    .push((f.message.name().to_string(), 0, vec![]));
                let mut out = Vec::new();
                let reply = Message::Rlerror(Rlerror {
                    ecode: errno::EACCES,
                });
                Frame::new(f.tag, reply)
                    .encode(Dialect::Plain, &mut out)
                    .unwrap();
                server.write_all(&out).await.unwrap();
            }
            if server.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        }
    });
    let (rd, wr) = tokio::io::split(client);
    let conn = Conn::start(core.clone(), 1, Box::new(rd), Box::new(wr), 8192);
    conn.set_params(Dialect::Plain, 8192);
    core.fids().conn_id = conn.id;
    assert_eq!(within(replay(&conn, &core)).await.unwrap(), (0, 2));
    let names: Vec<String> = log.lock().unwrap().iter().map(|e| e.0.clone()).collect();
    assert_eq!(names, ["Tattach"], "no walk from a root that is not there");
    assert!(core.fids().get(root).unwrap().is_stale() && core.fids().get(f).unwrap().is_stale());
}
