//! One client connection: the reader (framing, decoding, tags in flight, Tversion, Tflush),
//! concurrent request tasks, and the writer.

mod decode;
pub(crate) mod session;
mod writer;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};
use zerofs_9p_proto::{
    Dialect, Frame, FrameDecoder, Header, Message, MessageType, Rversion, Tversion,
};

use self::session::Session;
use crate::config::Generation;
use crate::dispatch;
use crate::faults::lock;
use crate::negotiate::{Negotiated, negotiate};
use crate::server::Shared;

/// A request in flight: dropping its sender (held by the task) signals completion.
#[derive(Debug)]
struct Req {
    seq: u64,
    done: watch::Receiver<()>,
    fids: Vec<u32>,
}

#[derive(Debug, Default)]
struct InFlight {
    reqs: HashMap<u16, Req>,
    next_seq: u64,
    /// Gen 1/2: the latest Tflush per old tag (only it gets an Rflush).
    latest_flush: HashMap<u16, u64>,
    /// `.Z`: the previous Tflush, so Rflushes go out in receive order.
    last_flush: Option<watch::Receiver<()>>,
}

struct Conn {
    id: u64,
    shared: Arc<Shared>,
    session: Mutex<Session>,
    inflight: Mutex<InFlight>,
    out: mpsc::Sender<Bytes>,
    close: Arc<watch::Sender<bool>>,
}

/// Serves one connection until the peer leaves, a fault closes it, or the server drops it.
pub(crate) async fn serve<R, W>(shared: Arc<Shared>, read: R, write: W)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    shared.counters.connection();
    let (out, rx) = mpsc::channel(1024);
    let close = Arc::new(watch::channel(false).0);
    let conn = Arc::new(Conn {
        id,
        shared,
        session: Mutex::new(Session::default()),
        inflight: Mutex::new(InFlight::default()),
        out,
        close: close.clone(),
    });
    let writer = tokio::spawn(writer::run(write, rx, close));
    let mut tasks = JoinSet::new();
    read_loop(&conn, read, &mut tasks).await;
    conn.close.send_replace(true);
    debug!(conn = id, "connection closed");
    while tasks.join_next().await.is_some() {}
    lock(&conn.shared.state).fs.locks.release_session(id);
    let _ = writer.await;
}

async fn read_loop<R: AsyncRead + Unpin>(conn: &Arc<Conn>, mut read: R, tasks: &mut JoinSet<()>) {
    let mut framer = FrameDecoder::new(conn.shared.config.frame_cap());
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut closed = conn.close.subscribe();
    let mut drops = conn.shared.drops.subscribe();
    loop {
        loop {
            if *closed.borrow() {
                return;
            }
            match framer.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if handle_frame(conn, frame, tasks).await.is_break() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    debug!(conn = conn.id, error = %e, "bad frame size, closing");
                    return;
                }
            }
        }
        while tasks.try_join_next().is_some() {}
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        tokio::select! {
            biased;
            _ = closed.wait_for(|c| *c) => return,
            _ = drops.changed() => return,
            r = read.read_buf(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
        }
    }
}

async fn handle_frame(conn: &Arc<Conn>, bytes: Bytes, tasks: &mut JoinSet<()>) -> ControlFlow<()> {
    let Some(header) = Header::peek(&bytes) else {
        return ControlFlow::Break(());
    };
    conn.shared.counters.frame(header.ty);
    let generation = conn.shared.config.generation;
    let tag = header.tag;
    if generation == Generation::Z && lock(&conn.inflight).reqs.contains_key(&tag) {
        debug!(conn = conn.id, tag, "tag reused while in flight, closing");
        return ControlFlow::Break(());
    }
    let session_dialect = lock(&conn.session).dialect;
    let wire = decode::wire_dialect(generation, session_dialect);
    let ty = MessageType::from_u8(header.ty);
    let frame = match decode::decode(bytes, generation, session_dialect) {
        Ok(frame) => frame,
        Err(errno) => {
            let conn = conn.clone();
            tasks.spawn(async move {
                conn.respond(tag, ty, Message::error(errno), wire, false)
                    .await
            });
            return ControlFlow::Continue(());
        }
    };
    let lose = conn.shared.faults.take_loss(&frame);
    match &frame.message {
        Message::Tversion(m) => conn.version(tag, m, wire, lose).await,
        Message::Tflush(m) if generation != Generation::Plain => {
            conn.flush(tag, m.oldtag, wire, lose, tasks)
        }
        _ => {
            let shutdown = conn.shared.faults.take_shutdown(&frame);
            conn.request(frame, wire, lose, shutdown, tasks)
        }
    }
    ControlFlow::Continue(())
}

impl Conn {
    /// Registers a request in flight; the task holds the returned sender until it is done.
    fn register(&self, tag: u16, fids: Vec<u32>) -> (u64, watch::Sender<()>) {
        let (tx, done) = watch::channel(());
        let mut inflight = lock(&self.inflight);
        inflight.next_seq += 1;
        let seq = inflight.next_seq;
        // Servers before 2.1 silently overwrite the bookkeeping of a reused tag.
        inflight.reqs.insert(tag, Req { seq, done, fids });
        (seq, tx)
    }

    fn unregister(&self, tag: u16, seq: u64) {
        let mut inflight = lock(&self.inflight);
        if inflight.reqs.get(&tag).is_some_and(|r| r.seq == seq) {
            inflight.reqs.remove(&tag);
        }
    }

    /// Queues a reply (after any configured delay), or closes the connection instead when the
    /// reply is to be lost.
    async fn respond(
        &self,
        tag: u16,
        ty: Option<MessageType>,
        reply: Message,
        wire: Dialect,
        lose: bool,
    ) {
        if lose {
            debug!(conn = self.id, tag, "reply lost by fault injection");
            self.close.send_replace(true);
            return;
        }
        if let Some(delay) = self.shared.faults.delay_for(ty) {
            let mut closed = self.close.subscribe();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = closed.wait_for(|c| *c) => return,
            }
        }
        let mut frame = Frame::new(tag, reply);
        let mut buf = BytesMut::with_capacity(frame.encoded_len(wire));
        if let Err(e) = frame.encode(wire, &mut buf) {
            warn!(conn = self.id, tag, error = %e, "reply cannot be encoded, answering EIO");
            frame.message = Message::error(zerofs_9p_proto::consts::errno::EIO);
            buf.clear();
            let _ = frame.encode(wire, &mut buf);
        }
        let _ = self.out.send(buf.freeze()).await;
    }

    /// A request other than Tversion and (gen 1+) Tflush, executed concurrently.
    fn request(
        self: &Arc<Self>,
        frame: Frame,
        wire: Dialect,
        lose: bool,
        shutdown: bool,
        tasks: &mut JoinSet<()>,
    ) {
        let tag = frame.tag;
        let ty = frame.message.msg_type();
        let fids = fids_of(&frame.message);
        // 2.1+: Tclunk waits for earlier requests on the same fid.
        let barrier: Vec<watch::Receiver<()>> = match &frame.message {
            Message::Tclunk(m) if self.shared.config.generation == Generation::Z => {
                lock(&self.inflight)
                    .reqs
                    .values()
                    .filter(|r| r.fids.contains(&m.fid))
                    .map(|r| r.done.clone())
                    .collect()
            }
            _ => Vec::new(),
        };
        let (seq, done) = self.register(tag, fids);
        let conn = self.clone();
        tasks.spawn(async move {
            for mut b in barrier {
                let _ = b.changed().await;
            }
            let generation = conn.shared.config.generation;
            // A bug must cost one request (answered EIO), never the server.
            let run = || {
                dispatch::execute(
                    generation,
                    conn.id,
                    &conn.session,
                    &conn.shared.state,
                    &frame,
                )
            };
            // An HA follower refuses every request before dispatch.
            let reply = if !conn.shared.leader.load(Ordering::Acquire) {
                Message::error(zerofs_9p_proto::consts::errno::ENOTCONN)
            } else {
                let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                    .unwrap_or_else(|_| {
                        warn!(
                            conn = conn.id,
                            tag, "request handler panicked, answering EIO"
                        );
                        Message::error(zerofs_9p_proto::consts::errno::EIO)
                    });
                if shutdown {
                    Message::error(zerofs_9p_proto::consts::errno::ESHUTDOWN)
                } else {
                    reply
                }
            };
            conn.respond(tag, Some(ty), reply, wire, lose).await;
            conn.unregister(tag, seq);
            drop(done);
        });
    }

    /// Tversion, handled in order: 2.1+ first waits for every request in flight.
    async fn version(&self, tag: u16, m: &Tversion, wire: Dialect, lose: bool) {
        let generation = self.shared.config.generation;
        if generation == Generation::Z {
            let pending: Vec<_> = lock(&self.inflight)
                .reqs
                .values()
                .map(|r| r.done.clone())
                .collect();
            for mut p in pending {
                let _ = p.changed().await;
            }
        }
        let cap = self.shared.config.effective_max_msize();
        let reply = match negotiate(generation, m.msize, &m.version, cap) {
            Err(errno) => Message::error(errno),
            Ok(n) => {
                let mut s = lock(&self.session);
                if generation != Generation::Plain {
                    // 0.19.1 keeps its fids across Tversion; 1.2+ clear them.
                    s.fids.clear();
                    s.attach_root = crate::fs::ROOT;
                }
                if generation == Generation::Z {
                    lock(&self.shared.state).fs.locks.release_session(self.id);
                }
                let (msize, version) = match n {
                    Negotiated::Accepted { dialect, msize } => {
                        s.dialect = dialect;
                        s.msize = msize;
                        (msize, Bytes::from_static(dialect.version().as_bytes()))
                    }
                    Negotiated::Unknown { msize } => {
                        s.dialect = Dialect::Plain;
                        (msize, Bytes::from_static(b"unknown"))
                    }
                };
                Message::Rversion(Rversion { msize, version })
            }
        };
        self.respond(tag, Some(MessageType::Tversion), reply, wire, lose)
            .await;
    }

    /// Tflush on 1.2+ servers: waits for the target, then answers Rflush (gen 1/2: only the
    /// latest Tflush of an old tag is answered; `.Z`: every one, in receive order).
    fn flush(
        self: &Arc<Self>,
        tag: u16,
        oldtag: u16,
        wire: Dialect,
        lose: bool,
        tasks: &mut JoinSet<()>,
    ) {
        let z = self.shared.config.generation == Generation::Z;
        let target = lock(&self.inflight)
            .reqs
            .get(&oldtag)
            .map(|r| r.done.clone());
        let (seq, done) = self.register(tag, Vec::new());
        let previous = {
            let mut inflight = lock(&self.inflight);
            if z {
                let mine = inflight.reqs.get(&tag).map(|r| r.done.clone());
                std::mem::replace(&mut inflight.last_flush, mine)
            } else {
                if target.is_some() {
                    inflight.latest_flush.insert(oldtag, seq);
                }
                None
            }
        };
        let conn = self.clone();
        tasks.spawn(async move {
            let had_target = target.is_some();
            if let Some(mut t) = target {
                let _ = t.changed().await;
            }
            if let Some(mut p) = previous {
                let _ = p.changed().await;
            }
            let answer = z || !had_target || {
                let mut inflight = lock(&conn.inflight);
                let latest = inflight.latest_flush.get(&oldtag) == Some(&seq);
                if latest {
                    inflight.latest_flush.remove(&oldtag);
                }
                latest
            };
            if answer {
                conn.respond(tag, Some(MessageType::Tflush), Message::Rflush, wire, lose)
                    .await;
            }
            conn.unregister(tag, seq);
            drop(done);
        });
    }
}

/// The fids a request refers to (for the 2.1+ Tclunk barrier).
fn fids_of(m: &Message) -> Vec<u32> {
    use Message as M;
    match m {
        M::Tstatfs(x) => vec![x.fid],
        M::Tlopen(x) => vec![x.fid],
        M::Tlcreate(x) => vec![x.fid],
        M::Tsymlink(x) | M::Tsymlinkattr(x) => vec![x.dfid],
        M::Tmknod(x) | M::Tmknodattr(x) => vec![x.dfid],
        M::Trename(x) => vec![x.fid, x.dfid],
        M::Treadlink(x) => vec![x.fid],
        M::Tgetattr(x) => vec![x.fid],
        M::Tsetattr(x) | M::Tsetattrattr(x) => vec![x.fid],
        M::Txattrwalk(x) => vec![x.fid, x.newfid],
        M::Treaddir(x) | M::Treaddirattr(x) => vec![x.fid],
        M::Tfsync(x) => vec![x.fid],
        M::Tlock(x) => vec![x.fid],
        M::Tgetlock(x) => vec![x.fid],
        M::Tlink(x) | M::Tlinkattr(x) => vec![x.dfid, x.fid],
        M::Tmkdir(x) | M::Tmkdirattr(x) => vec![x.dfid],
        M::Trenameat(x) => vec![x.olddirfid, x.newdirfid],
        M::Tunlinkat(x) => vec![x.dirfid],
        M::Tattach(x) => vec![x.fid],
        M::Twalk(x) | M::Twalkgetattr(x) => vec![x.fid, x.newfid],
        M::Tread(x) => vec![x.fid],
        M::Twrite(x) => vec![x.fid],
        M::Tfallocate(x) => vec![x.fid],
        M::Tlopenatread(x) => vec![x.fid, x.newfid],
        M::Tfsyncdur(x) => vec![x.fid],
        M::Tlopenat(x) => vec![x.fid, x.newfid],
        M::Tlcreateattr(x) => vec![x.dfid, x.newfid],
        M::Trebind(x) => vec![x.fid],
        M::TrebindZ(x) => vec![x.fid],
        _ => Vec::new(),
    }
}
