//! Test support: an in-memory connector over `tokio::io::duplex`, a scripted peer, and a tiny
//! automatic 9P responder with fault switches.
#![allow(dead_code)]

mod blackhole;
mod helpers;

#[allow(unused_imports)]
pub use blackhole::*;
pub use helpers::*;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use zerofs_session::proto::consts::errno;
use zerofs_session::proto::*;
use zerofs_session::{Connector, Transport};

/// Hands the server end of every dialled duplex to the test.
#[derive(Debug, Clone)]
pub struct DuplexConnector {
    tx: mpsc::UnboundedSender<DuplexStream>,
}

impl DuplexConnector {
    pub fn new() -> (DuplexConnector, mpsc::UnboundedReceiver<DuplexStream>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (DuplexConnector { tx }, rx)
    }
}

impl Connector for DuplexConnector {
    fn connect(&self) -> BoxFuture<'_, std::io::Result<Transport>> {
        Box::pin(async move {
            let (client, server) = tokio::io::duplex(4 << 20);
            self.tx.send(server).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "no server")
            })?;
            Ok(Transport::new(client))
        })
    }
    fn describe(&self) -> String {
        "duplex".into()
    }
}

/// A scripted peer: the test reads requests and writes replies by hand.
pub struct Peer {
    pub io: DuplexStream,
    pub buf: BytesMut,
    pub dialect: Dialect,
}

impl Peer {
    pub fn new(io: DuplexStream) -> Peer {
        Peer {
            io,
            buf: BytesMut::new(),
            dialect: Dialect::Plain,
        }
    }

    /// The next request, or `None` at EOF.
    pub async fn recv(&mut self) -> Option<Frame> {
        let mut framer = FrameDecoder::default();
        for _ in 0..100_000 {
            if let Some(f) = framer
                .decode(&mut self.buf)
                .expect("client sent a bad frame")
            {
                return Some(Frame::decode(f, self.dialect).expect("client frame decodes"));
            }
            if self.io.read_buf(&mut self.buf).await.ok()? == 0 {
                return None;
            }
        }
        None
    }

    pub async fn send(&mut self, tag: u16, message: Message) {
        let mut out = Vec::new();
        Frame::new(tag, message)
            .encode(self.dialect, &mut out)
            .unwrap();
        let _ = self.io.write_all(&out).await;
    }

    pub async fn send_raw(&mut self, raw: &[u8]) {
        let _ = self.io.write_all(raw).await;
    }

    /// Answers version negotiation as a server granting `grant` would, and the attach.
    pub async fn handshake(&mut self, grant: Dialect) {
        for _ in 0..8 {
            let f = self.recv().await.expect("handshake request");
            match f.message {
                Message::Tversion(v) => {
                    let reply = match answer_version(Generation::of(grant), &v.version) {
                        Message::Rversion(r) => {
                            if let Some(d) = Dialect::from_version(&r.version) {
                                self.dialect = d;
                            }
                            Message::Rversion(Rversion {
                                msize: v.msize,
                                ..r
                            })
                        }
                        other => other,
                    };
                    self.send(f.tag, reply).await;
                }
                Message::Tgetlineage => {
                    self.send(
                        f.tag,
                        Message::Rgetlineage(Rgetlineage {
                            token: 7,
                            writer_epoch: 0,
                        }),
                    )
                    .await
                }
                Message::Tattach(_) => {
                    assert_eq!(self.dialect, grant);
                    self.send(f.tag, Message::Rattach(Rattach { qid: qid(0, true) }))
                        .await;
                    return;
                }
                other => panic!("unexpected during handshake: {other:?}"),
            }
        }
        panic!("handshake did not finish");
    }
}

pub fn qid(path: u64, dir: bool) -> Qid {
    Qid {
        ty: if dir { QidType::DIR } else { QidType::FILE },
        version: 0,
        path,
    }
}

/// Server generations for version answers (PROTOCOL.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// 0.19.1 / ≤ 1.1.x.
    Old,
    /// 1.2.0–1.2.4.
    Gen1,
    /// 1.2.5–2.0.10.
    Gen2,
    /// 2.1+.
    Z,
    /// diod: Rlerror(EIO) to anything but exactly 9P2000.L.
    Diod,
}

impl Generation {
    pub fn of(d: Dialect) -> Generation {
        match d {
            Dialect::Plain => Generation::Old,
            Dialect::Zerofs => Generation::Gen1,
            Dialect::Zerofs2 => Generation::Gen2,
            Dialect::Z => Generation::Z,
            other => panic!("no scripted generation for {other}"),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The Rversion (or Rlerror) a server of `g` sends for `version` (msize filled by caller).
pub fn answer_version(g: Generation, version: &[u8]) -> Message {
    let v = |s: &'static str| {
        Message::Rversion(Rversion {
            msize: 0,
            version: Bytes::from_static(s.as_bytes()),
        })
    };
    match g {
        Generation::Diod if version == b"9P2000.L" => v("9P2000.L"),
        Generation::Diod => Message::error(errno::EIO),
        Generation::Z if version == b"9P2000.L" => v("9P2000.L"),
        Generation::Z if version == b"9P2000.L.Z" => v("9P2000.L.Z"),
        Generation::Z => v("unknown"),
        _ if !contains(version, b"9P2000.L") => v("unknown"),
        Generation::Old => v("9P2000.L"),
        Generation::Gen1 if contains(version, b".zerofs") => v("9P2000.L.zerofs"),
        Generation::Gen2 if contains(version, b".zerofs2") => v("9P2000.L.zerofs2"),
        Generation::Gen2 if contains(version, b".zerofs") => v("9P2000.L.zerofs"),
        _ => v("9P2000.L"),
    }
}

/// Shared state and fault switches of an [`AutoServer`].
#[derive(Debug, Default)]
pub struct ServerState {
    /// Fids live on the current connection.
    pub fids: Mutex<HashSet<u32>>,
    /// Requests seen, by type name.
    pub seen: Mutex<HashMap<&'static str, usize>>,
    /// Stop answering (the connection stays open).
    pub silent: AtomicBool,
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Drop the connection after this many more requests (0 = never).
    pub drop_after: AtomicUsize,
    /// Names that do not exist.
    pub missing: Mutex<HashSet<Vec<u8>>>,
    /// Path → inode overrides (to simulate a renamed/replaced file on re-walk).
    pub inode_override: Mutex<HashMap<Vec<u8>, u64>>,
    /// Bytes written, by inode.
    pub written: Mutex<HashMap<u64, usize>>,
    /// msize cap in `Rversion` (0 = 1 MiB).
    pub max_msize: AtomicU32,
    /// Largest `Tread` count and `Twrite` payload seen since last reset.
    pub largest_io: AtomicU32,
    /// Refuse every `Tattach` with `EACCES`.
    pub refuse_attach: AtomicBool,
    /// Every `Tattach` aname seen, in order.
    pub anames: Mutex<Vec<Vec<u8>>>,
    /// Answer `Tremove` with `ENOSYS` (keeping the fid), as ZeroFS does.
    pub remove_enosys: AtomicBool,
}

impl ServerState {
    pub fn seen(&self, name: &str) -> usize {
        self.seen.lock().unwrap().get(name).copied().unwrap_or(0)
    }
    pub fn live_fids(&self) -> usize {
        self.fids.lock().unwrap().len()
    }
}

/// Size of every regular file the auto server serves.
pub const FILE_SIZE: u64 = 300_000;

/// The byte at `offset` of every file.
pub fn pattern(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// `n` bytes of test data that differ with `seed` and do not repeat with a short period
/// (so a misplaced chunk of a large transfer shows).
pub fn data(n: usize, seed: u8) -> Bytes {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) ^ (i >> 16) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn inode_of(path: &[u8], st: &ServerState) -> u64 {
    if let Some(i) = st.inode_override.lock().unwrap().get(path) {
        return *i;
    }
    path.iter().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(1099511628211)
    }) | 1
}

/// An automatic responder: a flat tree where every name exists (except `missing` ones) and is
/// a directory if it starts with `d`, else a file of `FILE_SIZE` pattern bytes.
pub struct AutoServer {
    pub state: Arc<ServerState>,
    pub generation: Generation,
}

impl AutoServer {
    /// Serves every connection dialled through the returned connector.
    pub fn start(generation: Generation) -> (DuplexConnector, Arc<ServerState>) {
        let (connector, mut rx) = DuplexConnector::new();
        let state = Arc::new(ServerState::default());
        let st = state.clone();
        tokio::spawn(async move {
            while let Some(io) = rx.recv().await {
                st.connections.fetch_add(1, Ordering::SeqCst);
                st.fids.lock().unwrap().clear();
                let st2 = st.clone();
                tokio::spawn(serve(Peer::new(io), generation, st2));
            }
        });
        (connector, state)
    }
}

async fn serve(mut peer: Peer, g: Generation, st: Arc<ServerState>) {
    // fid → full path
    let mut paths: HashMap<u32, Vec<u8>> = HashMap::new();
    while let Some(f) = peer.recv().await {
        *st.seen.lock().unwrap().entry(f.message.name()).or_default() += 1;
        let d = st.drop_after.load(Ordering::SeqCst);
        if d > 0 {
            if d == 1 {
                st.drop_after.store(0, Ordering::SeqCst);
                return;
            }
            st.drop_after.store(d - 1, Ordering::SeqCst);
        }
        if st.silent.load(Ordering::SeqCst) {
            continue;
        }
        let reply = answer(&mut peer, g, &st, &mut paths, f.message.clone());
        if let Some(r) = reply {
            peer.send(f.tag, r).await;
        }
    }
}

fn is_dir(path: &[u8]) -> bool {
    path.is_empty()
        || path
            .rsplit(|b| *b == b'/')
            .next()
            .is_some_and(|n| n.starts_with(b"d"))
}

fn answer(
    peer: &mut Peer,
    g: Generation,
    st: &ServerState,
    paths: &mut HashMap<u32, Vec<u8>>,
    m: Message,
) -> Option<Message> {
    let q = |p: &[u8]| qid(if p.is_empty() { 0 } else { inode_of(p, st) }, is_dir(p));
    let add = |fid: u32, path: Vec<u8>, paths: &mut HashMap<u32, Vec<u8>>| {
        st.fids.lock().unwrap().insert(fid);
        paths.insert(fid, path);
    };
    Some(match m {
        Message::Tversion(v) => {
            let r = answer_version(g, &v.version);
            if let Message::Rversion(mut r) = r {
                if let Some(d) = Dialect::from_version(&r.version) {
                    peer.dialect = d;
                    paths.clear();
                    st.fids.lock().unwrap().clear();
                }
                let cap = match st.max_msize.load(Ordering::SeqCst) {
                    0 => 1 << 20,
                    m => m,
                };
                r.msize = v.msize.min(cap);
                Message::Rversion(r)
            } else {
                r
            }
        }
        Message::Tgetlineage => Message::Rgetlineage(Rgetlineage {
            token: 1,
            writer_epoch: 0,
        }),
        Message::Tattach(a) => {
            st.anames.lock().unwrap().push(a.aname.to_vec());
            if st.refuse_attach.load(Ordering::SeqCst) {
                return Some(Message::error(errno::EACCES));
            }
            if paths.contains_key(&a.fid) {
                return Some(Message::error(errno::EINVAL));
            }
            add(a.fid, Vec::new(), paths);
            Message::Rattach(Rattach { qid: q(b"") })
        }
        Message::Twalk(w) => walk(st, paths, &w, false, q)?,
        Message::Twalkgetattr(w) => walk(st, paths, &w, true, q)?,
        Message::Tlopen(o) => {
            let Some(p) = paths.get(&o.fid) else {
                return Some(Message::error(errno::EBADF));
            };
            Message::Rlopen(Rlopen {
                qid: q(p),
                iounit: 0,
            })
        }
        Message::Trebind(r) => {
            rebind(st, paths, r.fid, r.inode_id).unwrap_or_else(|| Message::error(errno::ENOENT))
        }
        Message::TrebindZ(r) => {
            rebind(st, paths, r.fid, r.inode_id).unwrap_or_else(|| Message::error(errno::ESTALE))
        }
        Message::Tread(r) => {
            let Some(p) = paths.get(&r.fid) else {
                return Some(Message::error(errno::EBADF));
            };
            if is_dir(p) {
                return Some(Message::error(errno::EISDIR));
            }
            st.largest_io.fetch_max(r.count, Ordering::SeqCst);
            let end = (r.offset + u64::from(r.count)).min(FILE_SIZE);
            let data: Vec<u8> = (r.offset.min(end)..end).map(pattern).collect();
            Message::Rread(Rread { data: data.into() })
        }
        Message::Twrite(w) => {
            let Some(p) = paths.get(&w.fid) else {
                return Some(Message::error(errno::EBADF));
            };
            st.largest_io
                .fetch_max(w.data.len() as u32, Ordering::SeqCst);
            *st.written
                .lock()
                .unwrap()
                .entry(inode_of(p, st))
                .or_default() += w.data.len();
            Message::Rwrite(Rwrite {
                count: w.data.len() as u32,
            })
        }
        Message::Tgetattr(g) => {
            let Some(p) = paths.get(&g.fid) else {
                return Some(Message::error(errno::EBADF));
            };
            Message::Rgetattr(Rgetattr {
                valid: g.request_mask,
                stat: Stat {
                    qid: q(p),
                    size: FILE_SIZE,
                    ..Stat::default()
                },
            })
        }
        Message::Txattrwalk(x) => {
            let Some(p) = paths.get(&x.fid).cloned() else {
                return Some(Message::error(errno::EBADF));
            };
            if st.missing.lock().unwrap().contains(&x.name[..]) {
                return Some(Message::error(errno::ENODATA));
            }
            add(x.newfid, p, paths);
            Message::Rxattrwalk(Rxattrwalk {
                size: x.name.len() as u64 + 10,
            })
        }
        Message::Tlcreateattr(c) => {
            let Some(dir) = paths.get(&c.dfid).cloned() else {
                return Some(Message::error(errno::EBADF));
            };
            let mut path = dir;
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&c.name);
            let stat = Stat {
                qid: q(&path),
                mode: c.mode,
                ..Stat::default()
            };
            add(c.newfid, path, paths);
            Message::Rlcreateattr(Rlcreateattr { iounit: 0, stat })
        }
        Message::Tremove(r) => {
            if !paths.contains_key(&r.fid) {
                return Some(Message::error(errno::EBADF));
            }
            if st.remove_enosys.load(Ordering::SeqCst) {
                return Some(Message::error(errno::ENOSYS));
            }
            paths.remove(&r.fid);
            st.fids.lock().unwrap().remove(&r.fid);
            Message::Rremove
        }
        Message::Tclunk(c) => {
            paths.remove(&c.fid);
            st.fids.lock().unwrap().remove(&c.fid);
            Message::Rclunk
        }
        _ => Message::error(errno::ENOSYS),
    })
}

fn walk(
    st: &ServerState,
    paths: &mut HashMap<u32, Vec<u8>>,
    w: &Twalk,
    with_attr: bool,
    q: impl Fn(&[u8]) -> Qid,
) -> Option<Message> {
    let Some(base) = paths.get(&w.fid).cloned() else {
        return Some(Message::error(errno::EBADF));
    };
    if w.newfid != w.fid && paths.contains_key(&w.newfid) {
        return Some(Message::error(errno::EINVAL));
    }
    let mut cur = base;
    let mut qids = Vec::new();
    for n in &w.wnames {
        if st.missing.lock().unwrap().contains(&n[..]) || !is_dir(&cur) {
            break;
        }
        if !cur.is_empty() {
            cur.push(b'/');
        }
        cur.extend_from_slice(n);
        qids.push(q(&cur));
    }
    if qids.len() < w.wnames.len() {
        if qids.is_empty() || with_attr {
            return Some(Message::error(errno::ENOENT));
        }
        return Some(Message::Rwalk(Rwalk { wqids: qids }));
    }
    let stat = Stat {
        qid: q(&cur),
        size: FILE_SIZE,
        ..Stat::default()
    };
    st.fids.lock().unwrap().insert(w.newfid);
    paths.insert(w.newfid, cur);
    Some(if with_attr {
        Message::Rwalkgetattr(Rwalkgetattr { wqids: qids, stat })
    } else {
        Message::Rwalk(Rwalk { wqids: qids })
    })
}

fn rebind(
    st: &ServerState,
    paths: &mut HashMap<u32, Vec<u8>>,
    fid: u32,
    inode: u64,
) -> Option<Message> {
    if paths.contains_key(&fid) {
        return Some(Message::error(errno::EINVAL));
    }
    // Find a known path with that inode: the flat tree is addressed by hash, so accept any
    // inode and remember it by a synthetic path unless a missing name was asked for.
    let path = format!("#{inode}").into_bytes();
    st.fids.lock().unwrap().insert(fid);
    paths.insert(fid, path);
    Some(Message::Rrebind(Rrebind {
        qid: qid(inode, false),
    }))
}
