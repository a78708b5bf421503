//! A minimal raw 9P client over the proto crate: one connection, one request at a time,
//! a timeout on every await so a silent server never hangs a test.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::timeout;
use zerofs_9p_proto::{Dialect, Frame, FrameDecoder, Message, consts};

/// How long any single connect, write or reply may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a server listens.
#[derive(Debug, Clone)]
pub enum Target {
    /// A unix socket path.
    Unix(PathBuf),
    /// A TCP address on loopback.
    Tcp(std::net::SocketAddr),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Unix(p) => write!(f, "unix:{}", p.display()),
            Target::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What went wrong on the wire (as opposed to an `Rlerror`, which is a reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The server closed the connection.
    Closed,
    /// No reply within [`IO_TIMEOUT`].
    Timeout,
    /// A reply that does not decode.
    Decode(String),
    /// Another I/O failure.
    Io(String),
}

impl From<io::Error> for WireError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe => WireError::Closed,
            _ => WireError::Io(e.to_string()),
        }
    }
}

/// One client connection.
pub struct Conn {
    io: Box<dyn Io>,
    buf: BytesMut,
    framer: FrameDecoder,
    next_tag: u16,
    closed: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("next_tag", &self.next_tag)
            .finish()
    }
}

impl Conn {
    /// Connects, bounded by [`IO_TIMEOUT`].
    pub async fn connect(target: &Target) -> io::Result<Conn> {
        let io: Box<dyn Io> = match target {
            Target::Unix(path) => Box::new(bounded(UnixStream::connect(path)).await??),
            Target::Tcp(addr) => Box::new(bounded(TcpStream::connect(addr)).await??),
        };
        Ok(Conn {
            io,
            buf: BytesMut::new(),
            framer: FrameDecoder::new(consts::MAX_MSIZE),
            next_tag: 1,
            closed: false,
        })
    }

    /// A fresh tag (never `NOTAG`).
    pub fn tag(&mut self) -> u16 {
        let tag = self.next_tag;
        self.next_tag = if tag >= 0xFFF0 { 1 } else { tag + 1 };
        tag
    }

    /// Sends `message` under a fresh tag (`NOTAG` for `Tversion`) and waits for its reply.
    pub async fn rpc(&mut self, message: Message) -> Result<Message, WireError> {
        let tag = if matches!(message, Message::Tversion(_)) {
            consts::NOTAG
        } else {
            self.tag()
        };
        let mut wire = Vec::new();
        Frame::new(tag, message)
            .encode(Dialect::Plain, &mut wire)
            .map_err(|e| WireError::Decode(format!("cannot encode request: {e}")))?;
        self.send_raw(&wire).await?;
        self.reply_to(tag).await
    }

    /// Writes raw bytes (a whole frame, or junk).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        if self.closed {
            return Err(WireError::Closed);
        }
        match timeout(IO_TIMEOUT, self.io.write_all(bytes)).await {
            Ok(r) => r.map_err(|e| self.note(e.into())),
            Err(_) => Err(WireError::Timeout),
        }
    }

    fn note(&mut self, e: WireError) -> WireError {
        if e == WireError::Closed {
            self.closed = true;
        }
        e
    }

    /// Waits for the reply carrying `tag`, dropping stale replies to earlier (timed-out)
    /// requests. At most 64 stale frames are skipped.
    pub async fn reply_to(&mut self, tag: u16) -> Result<Message, WireError> {
        for _ in 0..64 {
            let frame = self.recv().await?;
            if frame.tag == tag {
                return Ok(frame.message);
            }
        }
        Err(WireError::Decode(format!(
            "no reply with tag {tag} among 64 frames"
        )))
    }

    /// Reads the next whole frame.
    pub async fn recv(&mut self) -> Result<Frame, WireError> {
        loop {
            match self.framer.decode(&mut self.buf) {
                Ok(Some(bytes)) => return decode_reply(bytes),
                Ok(None) => {}
                Err(e) => return Err(WireError::Decode(e.to_string())),
            }
            if self.closed {
                return Err(WireError::Closed);
            }
            let read = timeout(IO_TIMEOUT, self.io.read_buf(&mut self.buf)).await;
            match read {
                Err(_) => return Err(WireError::Timeout),
                Ok(Err(e)) => return Err(self.note(e.into())),
                Ok(Ok(0)) => return Err(self.note(WireError::Closed)),
                Ok(Ok(_)) => {}
            }
        }
    }
}

fn decode_reply(bytes: Bytes) -> Result<Frame, WireError> {
    Frame::decode(bytes.clone(), Dialect::Plain)
        .map_err(|e| WireError::Decode(format!("{e}: {:02x?}", &bytes[..bytes.len().min(32)])))
}

async fn bounded<F: std::future::Future>(f: F) -> io::Result<F::Output> {
    timeout(IO_TIMEOUT, f)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))
}

/// Sends `Tversion(version)` on a fresh connection and reports whether an `Rversion` came back.
pub async fn answers_version(target: &Target) -> bool {
    let Ok(mut conn) = Conn::connect(target).await else {
        return false;
    };
    let version = Bytes::from_static(b"9P2000.L");
    let request = Message::Tversion(zerofs_9p_proto::Tversion {
        msize: 8192,
        version,
    });
    matches!(conn.rpc(request).await, Ok(Message::Rversion(_)))
}
