//! Cancellation on one connection against a scripted peer (an in-memory pipe, a paused
//! clock): a request dropped before the writer took it is withdrawn and never sent; one
//! dropped after is flushed (if it changes no fid), or its reply is still recorded (if it
//! creates one); a killed connection hands every pending request back as lost.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use zerofs_9p_proto::consts::getattr;
use zerofs_9p_proto::{Dialect, Frame, FrameDecoder, Message, Rwalk, Tgetattr, Twalk};

use super::*;
use crate::conn::{Conn, Delivery, InFlight};
use crate::effects::{BindHow, Effect};
use crate::request::Ticket;

pub(super) struct Peer {
    io: DuplexStream,
    buf: BytesMut,
}

impl Peer {
    /// The next frame the client wrote (a panic after a minute of simulated time, which a
    /// paused clock reaches at once when nothing else can run: a missing frame fails fast).
    pub(super) async fn recv(&mut self) -> Frame {
        let mut framer = FrameDecoder::new(1 << 20);
        let next = async {
            loop {
                if let Some(f) = framer.decode(&mut self.buf).unwrap() {
                    return Frame::decode(f, Dialect::Plain).unwrap();
                }
                assert_ne!(self.io.read_buf(&mut self.buf).await.unwrap(), 0, "eof");
            }
        };
        tokio::time::timeout(Duration::from_secs(60), next)
            .await
            .expect("the client sent a frame")
    }

    pub(super) async fn send(&mut self, tag: u16, m: Message) {
        let mut out = Vec::new();
        Frame::new(tag, m).encode(Dialect::Plain, &mut out).unwrap();
        self.io.write_all(&out).await.unwrap();
    }
}

/// A negotiated plain connection on `core` and the scripted peer at its other end.
pub(super) fn pair(core: &Arc<Core>) -> (Arc<Conn>, Peer) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let (rd, wr) = tokio::io::split(client);
    let conn = Conn::start(core.clone(), 1, Box::new(rd), Box::new(wr), 8192);
    conn.set_params(Dialect::Plain, 8192);
    let peer = Peer {
        io: server,
        buf: BytesMut::new(),
    };
    (conn, peer)
}

/// Lets every task run until all are idle (the paused clock advances only then).
async fn idle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

fn in_flight(core: &Core) -> u64 {
    core.counters.snapshot().in_flight
}

pub(super) fn getattr_of(fid: u32) -> Message {
    Message::Tgetattr(Tgetattr {
        fid,
        request_mask: getattr::BASIC,
    })
}

/// A session's root fid (live, attached) in `core`'s table.
pub(super) fn root(core: &Core) -> u32 {
    attach(&mut core.fids()).0
}

fn send(conn: &Arc<Conn>, core: &Arc<Core>, m: Message, effect: Effect, fids: &[u32]) -> InFlight {
    let ticket = Ticket::new(core.clone(), effect, fids, Vec::new()).unwrap();
    let mut frame = Frame::new(0, m);
    conn.send(&mut frame, ticket, None)
        .map_err(|(_, e)| e)
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_request_dropped_before_it_was_written_is_withdrawn_and_never_sent() {
    let core = core();
    let root = root(&core);
    let (conn, mut peer) = pair(&core);
    // The first goes out inline; the second waits in the writer's queue.
    let mut first = send(&conn, &core, getattr_of(root), Effect::None, &[root]);
    assert!(first.was_sent());
    let second = send(&conn, &core, getattr_of(root), Effect::None, &[root]);
    assert!(!second.was_sent());
    assert_eq!(in_flight(&core), 2);
    assert_eq!(core.fids().get(root).unwrap().refs, 2);
    drop(second);
    assert_eq!(in_flight(&core), 1, "its slot and tag are gone at once");
    assert_eq!(
        core.fids().get(root).unwrap().refs,
        1,
        "its fid reference too"
    );
    let f = peer.recv().await;
    peer.send(f.tag, Message::Rgetattr(Default::default()))
        .await;
    assert!(matches!(first.wait().await, Some(Delivery::Reply { .. })));
    // The next frame the peer sees is a new request: the withdrawn one never went out.
    let _third = send(
        &conn,
        &core,
        Message::Tstatfs(zerofs_9p_proto::Tstatfs { fid: root }),
        Effect::None,
        &[root],
    );
    let next = peer.recv().await;
    assert!(matches!(next.message, Message::Tstatfs(_)), "{next:?}");
}

#[tokio::test(start_paused = true)]
async fn a_written_request_dropped_by_its_caller_is_flushed_and_settles() {
    let core = core();
    let root = root(&core);
    let (conn, mut peer) = pair(&core);
    let read = send(&conn, &core, getattr_of(root), Effect::None, &[root]);
    let f = peer.recv().await;
    assert!(read.was_sent());
    drop(read);
    let flush = peer.recv().await;
    match flush.message {
        Message::Tflush(t) => assert_eq!(t.oldtag, f.tag),
        m => panic!("expected a Tflush, got {m:?}"),
    }
    assert_eq!(in_flight(&core), 2, "the request and its flush");
    assert_eq!(
        core.fids().get(root).unwrap().refs,
        1,
        "held until the flush is answered"
    );
    peer.send(flush.tag, Message::Rflush).await;
    idle().await;
    assert_eq!(in_flight(&core), 0);
    assert_eq!(
        core.fids().get(root).unwrap().refs,
        0,
        "the ticket came back with Rflush"
    );
    assert!(!conn.is_dead());
}

#[tokio::test(start_paused = true)]
async fn a_fid_creating_request_dropped_after_it_was_written_still_records_its_fid() {
    let core = core();
    let root = root(&core);
    let (conn, mut peer) = pair(&core);
    let (fid, generation) = core.fids().alloc();
    let walk = Message::Twalk(Twalk {
        fid: root,
        newfid: fid,
        wnames: path(&["a"]),
    });
    let effect = Effect::Bind {
        fid,
        generation,
        how: BindHow::Walk {
            src: root,
            names: path(&["a"]),
        },
    };
    let inflight = send(&conn, &core, walk, effect, &[root]);
    let f = peer.recv().await;
    drop(inflight);
    // Not flushed: a flushed reply could hide a fid the server made.
    peer.send(
        f.tag,
        Message::Rwalk(Rwalk {
            wqids: vec![qid(40)],
        }),
    )
    .await;
    idle().await;
    let t = core.fids();
    let r = t.get(fid).unwrap();
    assert!(
        r.is_live(),
        "the server's fid is known, so it will be clunked on release"
    );
    assert_eq!(r.qid.map(|q| q.path), Some(40));
    drop(t);
    assert_eq!(in_flight(&core), 0);
    assert_eq!(
        core.fids().get(root).unwrap().refs,
        1,
        "only the new fid's pin"
    );
}

#[tokio::test(start_paused = true)]
async fn a_killed_connection_hands_every_pending_request_back_as_lost() {
    let core = core();
    let root = root(&core);
    let (conn, mut peer) = pair(&core);
    core.fids().conn_id = conn.id;
    let mut a = send(&conn, &core, getattr_of(root), Effect::None, &[root]);
    let mut b = send(&conn, &core, getattr_of(root), Effect::None, &[root]);
    let _ = peer.recv().await;
    conn.kill("test".into());
    assert!(conn.is_dead());
    assert!(matches!(a.wait().await, Some(Delivery::Lost(_))));
    assert!(matches!(b.wait().await, Some(Delivery::Lost(_))));
    assert_eq!(in_flight(&core), 0);
    assert!(
        !core.fids().get(root).unwrap().is_live(),
        "nothing is live on a dead connection"
    );
    // Sending on it fails with the ticket handed back.
    let ticket = Ticket::new(core.clone(), Effect::None, &[root], Vec::new()).unwrap();
    let mut frame = Frame::new(0, getattr_of(root));
    assert!(matches!(
        conn.send(&mut frame, ticket, None),
        Err((_, crate::conn::SendError::Dead))
    ));
}
