//! Tests of the writer: batching, vectored and partial writes, no copy of large payloads.

use std::pin::Pin;
use std::task::{Context, Poll};

use zerofs_9p_proto::{Qid, Rgetattr, Rlopenatread, Rread, Stat};

use super::*;
use crate::payload::Payload;

/// A writer accepting at most `step` bytes per call, across slices when `vectored`.
#[derive(Debug, Default)]
struct Dribble {
    out: Vec<u8>,
    step: usize,
    vectored: bool,
    calls: usize,
    most_slices: usize,
}

impl AsyncWrite for Dribble {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = self.step.min(buf.len());
        self.out.extend_from_slice(&buf[..n]);
        self.calls += 1;
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if !self.vectored {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &**b);
            return self.poll_write(cx, first);
        }
        self.calls += 1;
        self.most_slices = self.most_slices.max(bufs.len());
        let mut left = self.step;
        for b in bufs {
            let n = left.min(b.len());
            self.out.extend_from_slice(&b[..n]);
            left -= n;
            if left == 0 {
                break;
            }
        }
        Poll::Ready(Ok(self.step - left))
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A payload of `n` pieces of `len` distinct bytes each, plus a zero run.
fn payload(n: usize, len: usize, seed: u8) -> Payload {
    let mut p = Payload::default();
    for i in 0..n {
        let piece: Vec<u8> = (0..len).map(|j| seed ^ (i + j) as u8).collect();
        p.push(Bytes::from(piece));
    }
    p.push_zeros(3);
    p
}

/// The replies to send and the bytes they must produce (each encoded whole, data inline).
fn replies() -> (Vec<Outgoing>, Vec<u8>) {
    let mut out = Vec::new();
    let mut wire = Vec::new();
    let mut add = |tag: u16, message: Message, data: Payload| {
        let mut whole = Reply {
            message: message.clone(),
            data: data.clone(),
        }
        .into_message();
        if let Message::Rread(m) = &mut whole {
            assert_eq!(m.data.len(), data.len());
        }
        Frame::new(tag, whole)
            .encode(Dialect::Z, &mut wire)
            .unwrap();
        out.push(Outgoing {
            tag,
            wire: Dialect::Z,
            reply: Reply { message, data },
        });
    };
    let rread = || Message::Rread(Rread { data: Bytes::new() });
    add(1, Message::Rclunk, Payload::default());
    // Large: 100 pieces, more than one call's slices.
    add(2, rread(), payload(100, 300, 7));
    add(
        3,
        Message::Rgetattr(Rgetattr {
            valid: 0x7ff,
            stat: Stat::default(),
        }),
        Payload::default(),
    );
    // Small: copied into the staging buffer.
    add(4, rread(), payload(3, 50, 9));
    add(5, rread(), Payload::default());
    let lo = Message::Rlopenatread(Rlopenatread {
        qid: Qid::default(),
        iounit: 0,
        eof: true,
        data: Bytes::new(),
    });
    add(6, lo, payload(2, 40_000, 3));
    add(7, Message::Rclunk, Payload::default());
    (out, wire)
}

async fn send_all(step: usize, vectored: bool) -> (Dribble, Vec<u8>) {
    let (msgs, want) = replies();
    let (tx, rx) = mpsc::channel(16);
    let close = Arc::new(watch::channel(false).0);
    for m in msgs {
        tx.send(m).await.unwrap();
    }
    drop(tx);
    let mut w = Dribble {
        step,
        vectored,
        ..Dribble::default()
    };
    run(9, &mut w, rx, close).await;
    (w, want)
}

#[tokio::test]
async fn partial_vectored_writes_put_exactly_the_frames_on_the_wire() {
    for step in [1, 3, 1000, 70_001] {
        let (w, want) = send_all(step, true).await;
        assert_eq!(w.out.len(), want.len(), "step {step}");
        assert!(w.out == want, "step {step}: the bytes differ");
        assert!(
            w.most_slices <= MAX_IOV,
            "step {step}: {} slices",
            w.most_slices
        );
        if step == 70_001 {
            assert!(w.calls >= 2 && w.most_slices == MAX_IOV);
        }
    }
}

#[tokio::test]
async fn a_writer_without_vectored_writes_gets_the_same_bytes() {
    for step in [7, 1 << 20] {
        let (w, want) = send_all(step, false).await;
        assert!(w.out == want, "step {step}: the bytes differ");
    }
}

#[test]
fn large_payloads_are_not_copied_small_ones_are() {
    let big = Bytes::from(vec![1u8; COPY_BELOW]);
    let mut data = Payload::default();
    data.push(big.clone());
    let mut b = Batch::default();
    let rread = || Message::Rread(Rread { data: Bytes::new() });
    b.push(
        0,
        Outgoing {
            tag: 1,
            wire: Dialect::Plain,
            reply: Reply {
                message: rread(),
                data,
            },
        },
    );
    assert_eq!(b.segs.len(), 2);
    assert!(matches!(&b.segs[0], Seg::Staged(r) if r.len() == 11));
    assert!(matches!(&b.segs[1], Seg::Piece(p) if p.as_ptr() == big.as_ptr()));
    let mut small = Payload::default();
    small.push(big.slice(..COPY_BELOW - 1));
    b.push(
        0,
        Outgoing {
            tag: 2,
            wire: Dialect::Plain,
            reply: Reply {
                message: rread(),
                data: small,
            },
        },
    );
    assert_eq!(
        b.segs.len(),
        3,
        "head and copied data share one staged part"
    );
    assert!(matches!(&b.segs[2], Seg::Staged(r) if r.len() == 11 + COPY_BELOW - 1));
    assert_eq!(b.len, 22 + 2 * COPY_BELOW - 1);
}

#[tokio::test]
async fn a_reply_that_cannot_be_encoded_becomes_eio() {
    let (tx, rx) = mpsc::channel(4);
    let close = Arc::new(watch::channel(false).0);
    // Rlopenatread is not part of plain 9P2000.L.
    let lo = Message::Rlopenatread(Rlopenatread {
        qid: Qid::default(),
        iounit: 0,
        eof: false,
        data: Bytes::new(),
    });
    tx.send(Outgoing {
        tag: 5,
        wire: Dialect::Plain,
        reply: Reply {
            message: lo,
            data: payload(1, 20_000, 1),
        },
    })
    .await
    .unwrap();
    drop(tx);
    let mut w = Dribble {
        step: 1 << 20,
        vectored: true,
        ..Dribble::default()
    };
    run(1, &mut w, rx, close).await;
    let mut want = Vec::new();
    Frame::new(5, Message::error(zerofs_9p_proto::consts::errno::EIO))
        .encode(Dialect::Plain, &mut want)
        .unwrap();
    assert_eq!(w.out, want);
}
