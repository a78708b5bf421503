//! A minimal raw 9P test client over the proto crate: send frames, await replies by tag, with
//! timeouts so no test can hang.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use zerofs_9p_proto::consts::{NOFID, NOTAG, open};
use zerofs_9p_proto::*;
use zerofs_memserver::{Config, Generation, MemServer, ServerHandle};

/// How long any single reply may take before a test fails.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How long to watch for something that must not happen (a reply that must not come).
pub const QUIET: Duration = Duration::from_millis(150);

type Inbox = mpsc::UnboundedReceiver<Result<Frame, String>>;

/// A raw 9P connection.
pub struct Client {
    write: Box<dyn AsyncWrite + Unpin + Send>,
    inbox: Inbox,
    stash: HashMap<u16, VecDeque<Frame>>,
    dialect: Arc<Mutex<Dialect>>,
    next_tag: u16,
}

impl Client {
    pub async fn tcp(addr: SocketAddr) -> Client {
        let (r, w) = connected(tokio::net::TcpStream::connect(addr))
            .await
            .into_split();
        Client::over(r, w)
    }

    pub async fn unix(path: &Path) -> Client {
        let (r, w) = connected(tokio::net::UnixStream::connect(path))
            .await
            .into_split();
        Client::over(r, w)
    }

    /// Connects over a unix socket whose replies are only read while the returned switch is
    /// `true`: with it `false`, the server's replies back up (socket buffers, then its queue).
    pub async fn unix_gated(path: &Path) -> (Client, tokio::sync::watch::Sender<bool>) {
        let (mut r, w) = connected(tokio::net::UnixStream::connect(path))
            .await
            .into_split();
        let (gate, mut open) = tokio::sync::watch::channel(true);
        let (ours, mut pipe) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                if open.wait_for(|o| *o).await.is_err() {
                    return;
                }
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if pipe.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        (Client::over(ours, w), gate)
    }

    /// Connects through the server's in-memory connector (no socket).
    pub fn in_memory(server: &ServerHandle) -> Client {
        let (r, w) = tokio::io::split(server.connect_in_memory().expect("listening"));
        Client::over(r, w)
    }

    /// Connects to the server's TCP listener.
    pub async fn to(server: &ServerHandle) -> Client {
        Client::tcp(server.tcp_addr().expect("tcp listener")).await
    }

    fn over<R: AsyncRead + Unpin + Send + 'static, W: AsyncWrite + Unpin + Send + 'static>(
        mut r: R,
        w: W,
    ) -> Client {
        let (tx, inbox) = mpsc::unbounded_channel();
        let dialect = Arc::new(Mutex::new(Dialect::Plain));
        let d = dialect.clone();
        tokio::spawn(async move {
            let mut framer = FrameDecoder::new(u32::MAX);
            let mut buf = BytesMut::with_capacity(1 << 16);
            loop {
                loop {
                    match framer.decode(&mut buf) {
                        Ok(Some(bytes)) => {
                            let dialect = *d.lock().unwrap();
                            let f = Frame::decode(bytes.clone(), dialect)
                                .map_err(|e| format!("{e}: {bytes:?}"));
                            if tx.send(f).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx.send(Err(format!("framing: {e}")));
                            return;
                        }
                    }
                }
                match r.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        });
        Client {
            write: Box::new(w),
            inbox,
            stash: HashMap::new(),
            dialect,
            next_tag: 1,
        }
    }

    /// Decode replies in this dialect from now on.
    pub fn set_dialect(&mut self, d: Dialect) {
        *self.dialect.lock().unwrap() = d;
    }

    pub fn dialect(&self) -> Dialect {
        *self.dialect.lock().unwrap()
    }

    pub fn tag(&mut self) -> u16 {
        let t = self.next_tag;
        self.next_tag = if self.next_tag >= 60000 {
            1
        } else {
            self.next_tag + 1
        };
        t
    }

    /// Sends raw bytes.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.expect("write");
        self.write.flush().await.expect("flush");
    }

    /// Sends a frame encoded in the current dialect.
    pub async fn send(&mut self, frame: &Frame) {
        let mut buf = Vec::new();
        frame.encode(self.dialect(), &mut buf).expect("encode");
        self.send_raw(&buf).await;
    }

    /// The next reply with `tag`; panics after [`TIMEOUT`] or if the connection closes.
    pub async fn recv(&mut self, tag: u16) -> Frame {
        self.recv_within(tag, TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("no reply for tag {tag}: {e}"))
    }

    /// The next reply with `tag` within `within`.
    pub async fn recv_within(&mut self, tag: u16, within: Duration) -> Result<Frame, String> {
        if let Some(f) = self.stash.get_mut(&tag).and_then(VecDeque::pop_front) {
            return Ok(f);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
                Err(_) => return Err("timeout".into()),
                Ok(None) => return Err("connection closed".into()),
                Ok(Some(Err(e))) => return Err(e),
                Ok(Some(Ok(f))) if f.tag == tag => return Ok(f),
                Ok(Some(Ok(f))) => self.stash.entry(f.tag).or_default().push_back(f),
            }
        }
    }

    /// The next frame of any tag (stashed first), within [`TIMEOUT`].
    pub async fn recv_any(&mut self) -> Frame {
        if let Some(tag) = self
            .stash
            .iter()
            .find(|(_, q)| !q.is_empty())
            .map(|(t, _)| *t)
        {
            return self.stash.get_mut(&tag).unwrap().pop_front().unwrap();
        }
        match tokio::time::timeout(TIMEOUT, self.inbox.recv()).await {
            Ok(Some(Ok(f))) => f,
            other => panic!("no frame: {other:?}"),
        }
    }

    /// Whether the server closes the connection within [`TIMEOUT`] (frames received meanwhile
    /// are discarded).
    pub async fn closed(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
                Err(_) => return false,
                Ok(None) => return true,
                Ok(Some(_)) => {}
            }
        }
    }

    /// Sends `msg` under a fresh tag and returns the reply message.
    pub async fn call(&mut self, msg: Message) -> Message {
        let tag = self.tag();
        self.send(&Frame::new(tag, msg)).await;
        self.recv(tag).await.message
    }

    /// Sends `msg` with a `.Z` envelope.
    pub async fn call_env(&mut self, env: Envelope, msg: Message) -> Message {
        let tag = self.tag();
        self.send(&Frame::with_envelope(tag, env, msg)).await;
        self.recv(tag).await.message
    }

    /// Sends a mutation with the all-zero envelope in `.Z`, without one otherwise.
    pub async fn mutate(&mut self, msg: Message) -> Message {
        if self.dialect().has_envelope(msg.msg_type()) {
            self.call_env(Envelope::NONE, msg).await
        } else {
            self.call(msg).await
        }
    }

    /// `Tversion` under NOTAG; adopts the granted dialect.
    pub async fn version(&mut self, msize: u32, version: &str) -> Message {
        let v = Message::Tversion(Tversion {
            msize,
            version: Bytes::copy_from_slice(version.as_bytes()),
        });
        self.send(&Frame::new(NOTAG, v)).await;
        let reply = self.recv(NOTAG).await.message;
        if let Message::Rversion(Rversion { version, .. }) = &reply {
            self.set_dialect(Dialect::from_version(version).unwrap_or(Dialect::Plain));
        }
        reply
    }

    /// Attaches `fid` as root (n_uname 0) to `aname`; panics unless Rattach.
    pub async fn attach(&mut self, fid: u32, aname: &str) -> zerofs_9p_proto::Qid {
        self.attach_as(fid, aname, 0)
            .await
            .unwrap_or_else(|e| panic!("attach failed: errno {e}"))
    }

    pub async fn attach_as(
        &mut self,
        fid: u32,
        aname: &str,
        uid: u32,
    ) -> Result<zerofs_9p_proto::Qid, u32> {
        let m = Message::Tattach(Tattach {
            fid,
            afid: NOFID,
            uname: Bytes::from_static(b"test"),
            aname: Bytes::copy_from_slice(aname.as_bytes()),
            n_uname: uid,
        });
        match self.call(m).await {
            Message::Rattach(r) => Ok(r.qid),
            other => Err(errno(&other)),
        }
    }
}

/// The stream `connect` opens; panics if it fails or takes over [`TIMEOUT`].
async fn connected<S>(connect: impl Future<Output = std::io::Result<S>>) -> S {
    tokio::time::timeout(TIMEOUT, connect)
        .await
        .expect("connect timeout")
        .expect("connect")
}

/// The errno of an Rlerror (panics on anything else).
pub fn errno(m: &Message) -> u32 {
    match m {
        Message::Rlerror(e) => e.ecode,
        other => panic!("expected Rlerror, got {other:?}"),
    }
}

/// Bytes from a string.
pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// A server of generation `g` and a client that negotiated its best dialect and attached fid 1
/// to the root.
pub async fn setup(g: Generation) -> (ServerHandle, Client) {
    let server = MemServer::start(Config::new(g)).await.unwrap();
    let mut c = Client::to(&server).await;
    c.version(1 << 20, g.best_dialect().version()).await;
    c.attach(1, "").await;
    (server, c)
}

/// A second client of `server` that negotiated `version` (not attached yet).
pub async fn connect(server: &ServerHandle, version: &str) -> Client {
    let mut c = Client::to(server).await;
    c.version(65536, version).await;
    c
}

/// `Tmkdir` of `name` (mode 0755) under `dfid`; panics unless Rmkdir, returns its qid.
pub async fn mkdir(c: &mut Client, dfid: u32, name: &str) -> Qid {
    match c
        .mutate(Message::Tmkdir(tmkdir(dfid, name, 0o755, 0)))
        .await
    {
        Message::Rmkdir(r) => r.qid,
        other => panic!("mkdir {name}: {other:?}"),
    }
}

/// Creates `name` under fid 1 with `data`, leaving it open read-write on `fid`.
pub async fn file(c: &mut Client, fid: u32, name: &str, data: &[u8]) {
    assert!(matches!(c.call(walk(1, fid, &[])).await, Message::Rwalk(_)));
    let r = c
        .mutate(Message::Tlcreate(Tlcreate {
            fid,
            name: b(name),
            flags: open::RDWR,
            mode: 0o644,
            gid: 0,
        }))
        .await;
    assert!(matches!(r, Message::Rlcreate(_)), "{r:?}");
    if !data.is_empty() {
        let w = c
            .mutate(Message::Twrite(Twrite {
                fid,
                offset: 0,
                data: Bytes::copy_from_slice(data),
            }))
            .await;
        assert_eq!(
            w,
            Message::Rwrite(Rwrite {
                count: data.len() as u32
            })
        );
    }
}

/// `Twalk` from `fid` to `newfid` along `names`.
pub fn walk(fid: u32, newfid: u32, names: &[&str]) -> Message {
    Message::Twalk(Twalk {
        fid,
        newfid,
        wnames: names.iter().map(|n| b(n)).collect(),
    })
}

/// `Tclunk`.
pub fn clunk(fid: u32) -> Message {
    Message::Tclunk(Tclunk { fid })
}

/// The body of `Tmkdir` (and `Tmkdirattr`).
pub fn tmkdir(dfid: u32, name: &str, mode: u32, gid: u32) -> Tmkdir {
    Tmkdir {
        dfid,
        name: b(name),
        mode,
        gid,
    }
}

/// `Tlopen`.
pub fn lopen(fid: u32, flags: u32) -> Message {
    Message::Tlopen(Tlopen { fid, flags })
}

/// `Tread`.
pub fn read(fid: u32, offset: u64, count: u32) -> Message {
    Message::Tread(Tread { fid, offset, count })
}

/// `Treaddir`.
pub fn readdir(fid: u32, offset: u64, count: u32) -> Message {
    Message::Treaddir(Treaddir { fid, offset, count })
}

/// `Tgetattr`.
pub fn getattr(fid: u32, request_mask: u64) -> Message {
    Message::Tgetattr(Tgetattr { fid, request_mask })
}

/// `Tunlinkat`.
pub fn unlinkat(dirfid: u32, name: &str, flags: u32) -> Message {
    Message::Tunlinkat(Tunlinkat {
        dirfid,
        name: b(name),
        flags,
    })
}

/// `Tlopenatread`.
pub fn lopenatread(fid: u32, newfid: u32, flags: u32, count: u32) -> Message {
    Message::Tlopenatread(Tlopenatread {
        fid,
        newfid,
        flags,
        count,
    })
}
