//! One client connection: the reader (framing, decoding, tags in flight, Tversion, Tflush,
//! running requests), tasks for requests that must wait, and the writer.

mod decode;
mod inbuf;
mod inflight;
pub(crate) mod session;
mod writer;

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};
use zerofs_9p_proto::{Dialect, Frame, Header, Message, MessageType, Rversion, Tversion};

use self::inbuf::InBuf;
use self::inflight::{Done, Fids, InFlight};
use self::session::Session;
use self::writer::Outgoing;
use crate::config::Generation;
use crate::dispatch::{self, Reply};
use crate::faults::lock;
use crate::negotiate::{Negotiated, negotiate};
use crate::server::Shared;

pub(crate) struct Conn {
    id: u64,
    shared: Arc<Shared>,
    session: Mutex<Session>,
    inflight: Mutex<InFlight>,
    out: mpsc::Sender<Outgoing>,
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
    lock(&conn.shared.conns).insert(id, Arc::downgrade(&conn));
    let writer = tokio::spawn(writer::run(id, write, rx, close));
    let mut tasks = JoinSet::new();
    read_loop(&conn, read, &mut tasks).await;
    conn.close.send_replace(true);
    debug!(conn = id, "connection closed");
    while tasks.join_next().await.is_some() {}
    lock(&conn.shared.state).fs.locks.release_session(id);
    lock(&conn.shared.conns).remove(&id);
    let _ = writer.await;
}

/// Fids open on the connections being served.
pub(crate) fn live_fids(shared: &Shared) -> usize {
    let conns: Vec<Arc<Conn>> = lock(&shared.conns)
        .values()
        .filter_map(std::sync::Weak::upgrade)
        .collect();
    conns.iter().map(|c| lock(&c.session).fids.len()).sum()
}

async fn read_loop<R: AsyncRead + Unpin>(conn: &Arc<Conn>, mut read: R, tasks: &mut JoinSet<()>) {
    let mut inbuf = InBuf::new(conn.shared.config.frame_cap());
    let mut closed = conn.close.subscribe();
    let mut drops = conn.shared.drops.subscribe();
    // The session's dialect, read again only after a Tversion (the one thing that changes it,
    // handled here in order).
    let mut dialect = lock(&conn.session).dialect;
    loop {
        loop {
            if *closed.borrow() {
                return;
            }
            match inbuf.next_frame() {
                Ok(Some(frame)) => {
                    if handle_frame(conn, frame, &mut dialect, tasks)
                        .await
                        .is_break()
                    {
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
        inbuf.make_room();
        tokio::select! {
            biased;
            _ = closed.wait_for(|c| *c) => return,
            _ = drops.changed() => return,
            r = read.read_buf(inbuf.buf_mut()) => match r {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
        }
    }
}

async fn handle_frame(
    conn: &Arc<Conn>,
    bytes: Bytes,
    session_dialect: &mut Dialect,
    tasks: &mut JoinSet<()>,
) -> ControlFlow<()> {
    let Some(header) = Header::peek(&bytes) else {
        return ControlFlow::Break(());
    };
    conn.shared.counters.frame(header.ty);
    let generation = conn.shared.config.generation;
    let tag = header.tag;
    if generation == Generation::Z && lock(&conn.inflight).contains(tag) {
        debug!(conn = conn.id, tag, "tag reused while in flight, closing");
        return ControlFlow::Break(());
    }
    let wire = decode::wire_dialect(generation, *session_dialect);
    let ty = MessageType::from_u8(header.ty);
    let faults = &conn.shared.faults;
    let frame = match decode::decode(bytes, generation, *session_dialect) {
        Ok(frame) => frame,
        Err(_) if faults.silent() => return ControlFlow::Continue(()),
        Err(errno) => {
            let conn = conn.clone();
            tasks.spawn(async move {
                conn.respond(tag, ty, Message::error(errno).into(), wire, false)
                    .await
            });
            return ControlFlow::Continue(());
        }
    };
    faults.record(conn.id, &frame);
    if faults.silent() {
        debug!(conn = conn.id, tag, "request dropped by fault injection");
        return ControlFlow::Continue(());
    }
    if let Some(errno) = faults.take_refusal(&frame) {
        let conn = conn.clone();
        let ty = Some(frame.message.msg_type());
        tasks.spawn(async move {
            conn.respond(tag, ty, Message::error(errno).into(), wire, false)
                .await
        });
        return ControlFlow::Continue(());
    }
    let lose = faults.take_loss(&frame);
    match &frame.message {
        Message::Tversion(m) => {
            conn.version(tag, m, wire, lose).await;
            *session_dialect = lock(&conn.session).dialect;
        }
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
    fn unregister(&self, tag: u16, seq: u64) {
        lock(&self.inflight).unregister(tag, seq);
    }

    /// Queues a reply (after any configured delay), or closes the connection instead when the
    /// reply is to be lost.
    async fn respond(
        &self,
        tag: u16,
        ty: Option<MessageType>,
        reply: Reply,
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
        let _ = self.out.send(Outgoing { tag, wire, reply }).await;
    }

    /// A request other than Tversion and (gen 1+) Tflush: run now, or as a task of its own
    /// when it has to wait (an injected delay, a lost reply, a `.Z` clunk barrier).
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
        let (seq, barrier) = {
            let mut inflight = lock(&self.inflight);
            // 2.1+: Tclunk waits for earlier requests on the same fid.
            let barrier: Vec<Done> = match &frame.message {
                Message::Tclunk(m) if self.shared.config.generation == Generation::Z => {
                    inflight.wait_fid(m.fid)
                }
                _ => Vec::new(),
            };
            (inflight.register(tag, Fids::of(&frame.message)), barrier)
        };
        if barrier.is_empty() && !lose && self.shared.faults.delay_for(Some(ty)).is_none() {
            // Executed here, in receive order and without a task of its own: the replies to
            // every request of one read are queued before the writer wakes, and leave in one
            // write.
            let reply = self.execute(&frame, tag, shutdown);
            drop(frame);
            match self.out.try_send(Outgoing { tag, wire, reply }) {
                Err(mpsc::error::TrySendError::Full(o)) => {
                    let conn = self.clone();
                    tasks.spawn(async move {
                        let _ = conn.out.send(o).await;
                        conn.unregister(tag, seq);
                    });
                }
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => self.unregister(tag, seq),
            }
            return;
        }
        let conn = self.clone();
        tasks.spawn(async move {
            for b in barrier {
                let _ = b.await;
            }
            let reply = conn.execute(&frame, tag, shutdown);
            // The request (a Twrite's data: a slice of the read buffer) is released before
            // the reply waits for room in the queue.
            drop(frame);
            conn.respond(tag, Some(ty), reply, wire, lose).await;
            conn.unregister(tag, seq);
        });
    }

    /// Runs one request to its reply. A bug costs that request (answered `EIO`), never the
    /// server; an HA follower refuses everything before dispatch.
    fn execute(&self, frame: &Frame, tag: u16, shutdown: bool) -> Reply {
        if !self.shared.leader.load(Ordering::Acquire) {
            return Message::error(zerofs_9p_proto::consts::errno::ENOTCONN).into();
        }
        let generation = self.shared.config.generation;
        let run = || {
            dispatch::execute(
                generation,
                (self.shared.config.tremove, self.shared.config.xattrs),
                self.id,
                &self.session,
                &self.shared.state,
                frame,
            )
        };
        let reply =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
                warn!(
                    conn = self.id,
                    tag, "request handler panicked, answering EIO"
                );
                Message::error(zerofs_9p_proto::consts::errno::EIO).into()
            });
        if shutdown {
            Message::error(zerofs_9p_proto::consts::errno::ESHUTDOWN).into()
        } else {
            reply
        }
    }

    /// Tversion, handled in order: 2.1+ first waits for every request in flight.
    async fn version(&self, tag: u16, m: &Tversion, wire: Dialect, lose: bool) {
        let generation = self.shared.config.generation;
        if generation == Generation::Z {
            let pending = lock(&self.inflight).wait_all();
            for p in pending {
                let _ = p.await;
            }
        }
        let cap = (self.shared.faults.max_msize())
            .unwrap_or_else(|| self.shared.config.effective_max_msize());
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
        self.respond(tag, Some(MessageType::Tversion), reply.into(), wire, lose)
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
        let (seq, target, previous) = {
            let mut inflight = lock(&self.inflight);
            let target = inflight.wait_tag(oldtag);
            let seq = inflight.register(tag, Fids::NONE);
            let previous = if z {
                inflight.follow_last_flush(tag, seq)
            } else {
                if target.is_some() {
                    inflight.latest_flush.insert(oldtag, seq);
                }
                None
            };
            (seq, target, previous)
        };
        let conn = self.clone();
        tasks.spawn(async move {
            let had_target = target.is_some();
            if let Some(t) = target {
                let _ = t.await;
            }
            if let Some(p) = previous {
                let _ = p.await;
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
                conn.respond(
                    tag,
                    Some(MessageType::Tflush),
                    Message::Rflush.into(),
                    wire,
                    lose,
                )
                .await;
            }
            conn.unregister(tag, seq);
        });
    }
}
