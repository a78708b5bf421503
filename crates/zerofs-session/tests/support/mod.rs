//! Test support: a session paired with a memserver ([`Pair`]), an in-memory connector over
//! `tokio::io::duplex` and a scripted peer for what no real server does.
#![allow(dead_code)]

mod blackhole;
mod helpers;
mod pair;

#[allow(unused_imports)]
pub use blackhole::*;
pub use helpers::*;
#[allow(unused_imports)]
pub use pair::*;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
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

    /// Answers version negotiation as the memserver generation whose best dialect is `grant`
    /// does, and the attach.
    pub async fn handshake(&mut self, grant: Dialect) {
        let generation = zerofs_memserver::Generation::ALL
            .into_iter()
            .find(|g| g.best_dialect() == grant)
            .expect("a generation grants it");
        for _ in 0..8 {
            let f = self.recv().await.expect("handshake request");
            match f.message {
                Message::Tversion(v) => {
                    let version = match generation.grants(&v.version) {
                        Some(d) => {
                            self.dialect = d;
                            d.version()
                        }
                        None => "unknown",
                    };
                    let reply = Rversion {
                        msize: v.msize,
                        version: Bytes::from_static(version.as_bytes()),
                    };
                    self.send(f.tag, Message::Rversion(reply)).await;
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

/// `n` bytes of test data that differ with `seed` and do not repeat with a short period
/// (so a misplaced chunk of a large transfer shows).
pub fn data(n: usize, seed: u8) -> Bytes {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) ^ (i >> 16) as u8)
        .collect::<Vec<u8>>()
        .into()
}
