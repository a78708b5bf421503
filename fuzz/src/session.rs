//! Target `session`: arbitrary server bytes into the session engine (`zerofs-session`).
//!
//! The session is driven through an in-memory connector: every dial gets a `tokio::io::duplex`
//! whose far end is a fake server. The fake server answers version negotiation (as the server
//! generation the input picks), `Tgetlineage` and `Tattach` properly, and every other request
//! as the input says: a well-formed reply, an error, a reply of the right type with arbitrary
//! contents, a frame of any type with arbitrary body bytes, arbitrary bytes injected before
//! the reply, a reply with a byte flipped, a delay, no answer at all (while it goes on
//! answering everything else, liveness probes included), or a closed connection. Once the
//! input is used up it answers every request well, so every call can finish.
//!
//! Input layout: byte 0 picks the server generation, the msize and whether the operations run
//! one after another or all at once; byte 1 (mod 17) is the number of operations; the next
//! bytes are the operations (a script of client calls: walks, opens, creates, reads, writes,
//! directory and rename calls, removes, forced reconnects...); the rest is the server's
//! script, one directive per request.
//!
//! Checked: nothing panics (in the session or here), every call returns within a day of
//! simulated time, plus the longest recovery of an unanswered request (64 request timeouts)
//! for every directive (a current-thread runtime with paused time: sleeps and timeouts cost
//! nothing, so a hung call is a failure, not a slow input), every error renders, and no error
//! blames the caller for what the server did (`Usage`, `Encode`), and the frames the session
//! writes always decode.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, join_all};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use zerofs_session::proto::bytes::{Bytes, BytesMut};
use zerofs_session::proto::consts::{MAX_MSIZE, errno, mode, open};
use zerofs_session::proto::{
    AttrReply, Dialect, DirEntry, Frame, FrameDecoder, LockStatus, Message, MessageType, Qid,
    QidType, Rattach, Rgetattr, Rgetlineage, Rlcreate, Rlcreateattr, Rlock, Rlopen, Rlopenatread,
    Rmkdir, Rread, Rreaddir, Rrebind, Rversion, Rwalk, Rwalkgetattr, Rwrite, Stat, Tmkdir,
    Trenameat, Tunlinkat,
};
use zerofs_session::{Backoff, Connector, Options, Session, SessionError, Transport};

use crate::seeds;

/// What one input exercised, so the corpus replay can check it reaches past the handshake.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionOutcome {
    /// Client calls made.
    pub calls: usize,
    /// Calls that succeeded.
    pub succeeded: usize,
    /// Requests the fake server answered from the input's directives (handshake excluded).
    pub directed: usize,
    /// Connections the session dialled.
    pub connections: usize,
}

impl std::ops::AddAssign for SessionOutcome {
    fn add_assign(&mut self, o: SessionOutcome) {
        self.calls += o.calls;
        self.succeeded += o.succeeded;
        self.directed += o.directed;
        self.connections += o.connections;
    }
}

/// How long (simulated) the whole script may take before a call counts as hung, on top of
/// [`per_directive`] for each directive.
const BOUND: Duration = Duration::from_secs(24 * 3600);

/// The longest a directive may delay the script: an unanswered request is recovered within
/// its request timeout (doubled per earlier recovery, up to 64×), the liveness window of its
/// flush, and a reconnect.
fn per_directive(o: &Options) -> Duration {
    o.request_timeout.unwrap_or_default() * 64
        + o.liveness_timeout * 2
        + o.stall_timeout.unwrap_or_default()
        + o.backoff.cap
        + o.probe_timeout.unwrap_or_default()
}

/// Target `session`: see the module documentation.
pub fn session(data: &[u8]) -> SessionOutcome {
    let (&config, rest) = data.split_first().unwrap_or((&0, &[]));
    let (&count, rest) = rest.split_first().unwrap_or((&0, &[]));
    let ops_len = usize::from(count % 17).min(rest.len());
    let (ops, server) = rest.split_at(ops_len);
    let generation = [
        Dialect::Plain,
        Dialect::Zerofs,
        Dialect::Zerofs2,
        Dialect::Z,
    ][usize::from(config & 3)];
    let msize = [4096, 8192, 65536, 1 << 20][usize::from((config >> 2) & 3)];
    let concurrent = config & 0x10 != 0;
    let shared = Arc::new(Shared {
        script: Mutex::new(Script {
            bytes: server.to_vec(),
            pos: 0,
        }),
        stats: Mutex::new(SessionOutcome::default()),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let ops = ops.to_vec();
    let directives = u32::try_from(server.len()).unwrap_or(u32::MAX);
    let outcome = runtime.block_on({
        let shared = shared.clone();
        async move {
            let connector = Fake {
                shared: shared.clone(),
                generation,
            };
            let opts = Options {
                uid: 0,
                gid: 0,
                uname: "root".into(),
                msize,
                backoff: Backoff {
                    base: Duration::from_millis(5),
                    cap: Duration::from_millis(200),
                    jitter: 0.5,
                },
                ..Options::default()
            };
            let bound = BOUND.saturating_add(per_directive(&opts).saturating_mul(directives));
            let run = async {
                let s = Session::connect_with(connector, opts)
                    .await
                    .expect("the fake server's handshake is proper: connecting succeeds");
                let results = if concurrent {
                    join_all(ops.iter().map(|&op| run_op(&s, op))).await
                } else {
                    let mut all = Vec::new();
                    for &op in &ops {
                        all.push(run_op(&s, op).await);
                    }
                    all
                };
                drop(s);
                results
            };
            match tokio::time::timeout(bound, run).await {
                Ok(results) => results,
                Err(_) => panic!("a call did not return within {bound:?} of simulated time"),
            }
        }
    });
    drop(runtime);
    let mut stats = *shared.stats.lock().expect("stats");
    stats.calls = outcome.len();
    stats.succeeded = outcome.iter().filter(|ok| **ok).count();
    stats
}

/// The fake server's state shared by every connection: the input's directives.
#[derive(Debug)]
struct Shared {
    script: Mutex<Script>,
    stats: Mutex<SessionOutcome>,
}

#[derive(Debug)]
struct Script {
    bytes: Vec<u8>,
    pos: usize,
}

impl Script {
    fn byte(&mut self) -> Option<u8> {
        let b = self.bytes.get(self.pos).copied();
        self.pos += usize::from(b.is_some());
        b
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let end = (self.pos + n).min(self.bytes.len());
        let out = self.bytes[self.pos..end].to_vec();
        self.pos = end;
        out
    }
}

/// Dials the fake server.
#[derive(Debug, Clone)]
struct Fake {
    shared: Arc<Shared>,
    generation: Dialect,
}

impl Connector for Fake {
    fn connect(&self) -> BoxFuture<'_, std::io::Result<Transport>> {
        Box::pin(async move {
            let (client, server) = tokio::io::duplex(1 << 20);
            self.shared.stats.lock().expect("stats").connections += 1;
            tokio::spawn(serve(server, self.shared.clone(), self.generation));
            Ok(Transport::new(client))
        })
    }

    fn describe(&self) -> String {
        format!("fuzz server ({})", self.generation)
    }
}

/// What the fake server does with one request.
#[derive(Debug)]
enum Action {
    /// A well-formed reply.
    Good,
    /// `Rlerror` with this errno.
    Error(u32),
    /// A reply of the right type with the seed corpus's contents.
    Seed,
    /// A frame with the request's tag, this type byte and this body.
    Raw(u8, Vec<u8>),
    /// These bytes, then a well-formed reply.
    Inject(Vec<u8>),
    /// A well-formed reply with the byte at (index mod length) xored with the mask.
    Flip(usize, u8),
    /// Wait this long, then a well-formed reply.
    Delay(Duration),
    /// Never answer this request (answering the next ones as usual).
    Ignore,
    /// Close the connection.
    Close,
}

fn next_action(shared: &Shared) -> Action {
    let mut s = shared.script.lock().expect("script");
    let Some(d) = s.byte() else {
        return Action::Good;
    };
    shared.stats.lock().expect("stats").directed += 1;
    let arg = s.byte().unwrap_or(0);
    match d % 10 {
        0..=2 => Action::Good,
        3 => Action::Error(u32::from(arg)),
        4 => Action::Seed,
        5 => {
            let body = s.take(usize::from(d / 10));
            Action::Raw(arg, body)
        }
        6 => Action::Inject(s.take(usize::from(arg))),
        7 => Action::Flip(usize::from(d / 10), arg | 1),
        8 => Action::Delay(Duration::from_millis(u64::from(arg) * 100)),
        _ if arg & 1 == 1 => Action::Ignore,
        _ => Action::Close,
    }
}

/// One connection of the fake server.
async fn serve(mut io: DuplexStream, shared: Arc<Shared>, generation: Dialect) {
    let mut framer = FrameDecoder::new(MAX_MSIZE);
    let mut buf = BytesMut::new();
    let mut dialect = Dialect::Plain;
    loop {
        let raw = loop {
            match framer.decode(&mut buf) {
                Ok(Some(f)) => break f,
                Ok(None) => {}
                Err(e) => panic!("the session wrote a bad frame: {e}"),
            }
            match io.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let frame = Frame::decode(raw, dialect)
            .unwrap_or_else(|e| panic!("the session wrote a frame that does not decode: {e}"));
        let tag = frame.tag;
        let reply = match &frame.message {
            Message::Tversion(v) => {
                let granted = grant(generation, &v.version);
                let reply = Message::Rversion(Rversion {
                    msize: v.msize,
                    version: Bytes::from_static(granted.version().as_bytes()),
                });
                if write(&mut io, tag, reply, dialect).await.is_err() {
                    return;
                }
                dialect = granted;
                continue;
            }
            Message::Tgetlineage => Message::Rgetlineage(Rgetlineage {
                token: 1,
                writer_epoch: 0,
            }),
            Message::Tattach(_) => Message::Rattach(Rattach { qid: qid(1, true) }),
            request => match next_action(&shared) {
                Action::Good => good_reply(request),
                Action::Error(e) => Message::error(e),
                Action::Seed => {
                    seed_reply(request.msg_type()).unwrap_or_else(|| good_reply(request))
                }
                Action::Raw(ty, body) => {
                    let mut out = Vec::with_capacity(7 + body.len());
                    out.extend_from_slice(&(7 + body.len() as u32).to_le_bytes());
                    out.push(ty);
                    out.extend_from_slice(&tag.to_le_bytes());
                    out.extend_from_slice(&body);
                    if io.write_all(&out).await.is_err() {
                        return;
                    }
                    continue;
                }
                Action::Inject(bytes) => {
                    if io.write_all(&bytes).await.is_err() {
                        return;
                    }
                    good_reply(request)
                }
                Action::Flip(at, mask) => {
                    let mut out = Vec::new();
                    if Frame::new(tag, good_reply(request))
                        .encode(dialect, &mut out)
                        .is_ok()
                    {
                        let i = at % out.len();
                        out[i] ^= mask;
                    }
                    if io.write_all(&out).await.is_err() {
                        return;
                    }
                    continue;
                }
                Action::Delay(d) => {
                    tokio::time::sleep(d).await;
                    good_reply(request)
                }
                Action::Ignore => continue,
                Action::Close => return,
            },
        };
        if write(&mut io, tag, reply, dialect).await.is_err() {
            return;
        }
    }
}

async fn write(io: &mut DuplexStream, tag: u16, m: Message, dialect: Dialect) -> Result<(), ()> {
    let mut out = Vec::new();
    // A reply that does not encode (a seed's field too long for nothing): an error instead.
    if Frame::new(tag, m).encode(dialect, &mut out).is_err() {
        out.clear();
        Frame::new(tag, Message::error(errno::EIO))
            .encode(dialect, &mut out)
            .map_err(|_| ())?;
    }
    io.write_all(&out).await.map_err(|_| ())
}

/// What a server of `generation` echoes to a proposed version (the way ZeroFS generations
/// answer, PROTOCOL.md §4).
fn grant(generation: Dialect, proposed: &[u8]) -> Dialect {
    match Dialect::from_version(proposed) {
        Some(Dialect::Z) if generation == Dialect::Z => Dialect::Z,
        Some(Dialect::Zerofs2) if matches!(generation, Dialect::Zerofs | Dialect::Zerofs2) => {
            generation
        }
        _ => Dialect::Plain,
    }
}

fn qid(path: u64, dir: bool) -> Qid {
    Qid {
        ty: if dir { QidType::DIR } else { QidType::FILE },
        version: 0,
        path,
    }
}

/// The qid of a name: stable, so replay's re-walks find what they recorded.
fn qid_of(name: &[u8]) -> Qid {
    let path = name.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    qid(path, !name.starts_with(b"f"))
}

fn stat_of(q: Qid) -> Stat {
    Stat {
        qid: q,
        mode: if q.ty == QidType::DIR {
            mode::S_IFDIR | 0o755
        } else {
            mode::S_IFREG | 0o644
        },
        nlink: 1,
        size: 8192,
        blksize: 4096,
        ..Stat::default()
    }
}

/// A well-formed, plausible reply to `request` (the file `f...` holds 8 KiB).
fn good_reply(request: &Message) -> Message {
    use Message as M;
    let file = qid_of(b"f");
    let walk = |names: &[Bytes]| -> Vec<Qid> { names.iter().map(|n| qid_of(n)).collect() };
    match request {
        M::Twalk(w) => M::Rwalk(Rwalk {
            wqids: walk(&w.wnames),
        }),
        M::Twalkgetattr(w) => {
            let wqids = walk(&w.wnames);
            let last = wqids.last().copied().unwrap_or(qid(1, true));
            M::Rwalkgetattr(Rwalkgetattr {
                wqids,
                stat: stat_of(last),
            })
        }
        M::Tgetattr(_) => M::Rgetattr(Rgetattr {
            valid: u64::MAX,
            stat: stat_of(file),
        }),
        M::Tlopen(_) => M::Rlopen(Rlopen {
            qid: file,
            iounit: 0,
        }),
        M::Tlopenat(_) => M::Rlopenat(Rlopen {
            qid: file,
            iounit: 0,
        }),
        M::Tlopenatread(_) => M::Rlopenatread(Rlopenatread {
            qid: file,
            iounit: 0,
            eof: true,
            data: Bytes::new(),
        }),
        M::Tlcreate(c) => M::Rlcreate(Rlcreate {
            qid: qid_of(&c.name),
            iounit: 0,
        }),
        M::Tlcreateattr(c) => M::Rlcreateattr(Rlcreateattr {
            iounit: 0,
            stat: Stat {
                size: 0,
                ..stat_of(qid_of(&c.name))
            },
        }),
        M::Tmkdir(m) => M::Rmkdir(Rmkdir {
            qid: qid_of(&m.name),
        }),
        M::Tmkdirattr(m) => M::Rmkdirattr(AttrReply {
            stat: stat_of(qid_of(&m.name)),
        }),
        M::Tread(r) => {
            let left = 8192u64.saturating_sub(r.offset);
            let n = left.min(u64::from(r.count)).min(1024) as usize;
            M::Rread(Rread {
                data: Bytes::from(vec![0x5a; n]),
            })
        }
        M::Twrite(w) => M::Rwrite(Rwrite {
            count: w.data.len() as u32,
        }),
        M::Treaddir(r) => M::Rreaddir(Rreaddir {
            entries: if r.offset == 0 {
                vec![DirEntry {
                    qid: file,
                    offset: 1,
                    ty: 8,
                    name: Bytes::from_static(b"f"),
                }]
            } else {
                Vec::new()
            },
        }),
        M::Trebind(_) | M::TrebindZ(_) => M::Rrebind(Rrebind { qid: file }),
        M::Tlock(_) => M::Rlock(Rlock {
            status: LockStatus::Success,
        }),
        M::Tclunk(_) => M::Rclunk,
        M::Tremove(_) => M::Rremove,
        M::Tflush(_) => M::Rflush,
        M::Trenameat(_) => M::Rrenameat,
        M::Tunlinkat(_) => M::Runlinkat,
        M::Tfsync(_) | M::Tfsyncdur(_) => M::Rfsync,
        other => seed_reply(other.msg_type()).unwrap_or(Message::error(errno::EOPNOTSUPP)),
    }
}

/// The seed corpus's reply of the type answering `request`, if it has one.
fn seed_reply(request: MessageType) -> Option<Message> {
    let ty = request.reply()?;
    seeds::messages().into_iter().find(|m| m.msg_type() == ty)
}

fn name(n: &'static str) -> Bytes {
    Bytes::from_static(n.as_bytes())
}

/// Whether an error is one a server can cause: never a misuse of the API by this script.
fn check<T>(r: Result<T, SessionError>) -> bool {
    match r {
        Ok(_) => true,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            let _ = e.errno();
            assert!(
                !matches!(e, SessionError::Usage { .. } | SessionError::Encode(_)),
                "the server's bytes turned into a caller's error: {e:?}"
            );
            false
        }
    }
}

/// One client operation of the script; whether it succeeded.
async fn run_op(s: &Session, op: u8) -> bool {
    let root = s.root();
    let d = root.id();
    match op % 16 {
        0 => match s.walk(root, &[name("a"), name("b")]).await {
            Ok((fid, _)) => check(
                s.call(Message::Tgetattr(zerofs_session::proto::Tgetattr {
                    fid: fid.id(),
                    request_mask: u64::MAX,
                }))
                .await,
            ),
            Err(e) => check(Err::<(), _>(e)),
        },
        1 => check(s.walk_getattr(root, &[name("a")]).await),
        2 => {
            let fid = match s.clone_fid(root).await {
                Ok(f) => f,
                Err(e) => return check(Err::<(), _>(e)),
            };
            if !check(s.lopen(&fid, open::RDONLY | open::DIRECTORY).await) {
                return false;
            }
            check(
                s.call(Message::Treaddir(zerofs_session::proto::Treaddir {
                    fid: fid.id(),
                    offset: 0,
                    count: 4096,
                }))
                .await,
            )
        }
        3 => {
            let fid = match s.clone_fid(root).await {
                Ok(f) => f,
                Err(e) => return check(Err::<(), _>(e)),
            };
            let flags = open::RDWR | open::CREAT;
            if !check(s.lcreate(&fid, name("fnew"), flags, 0o644, 0).await) {
                return false;
            }
            check(s.write(&fid, 0, Bytes::from(vec![7; 10_000])).await)
                && check(s.read(&fid, 0, 20_000).await)
        }
        4 => check(
            s.call(Message::Tmkdir(Tmkdir {
                dfid: d,
                name: name("dir"),
                mode: 0o755,
                gid: 0,
            }))
            .await,
        ),
        5 => check(
            s.call(Message::Trenameat(Trenameat {
                olddirfid: d,
                oldname: name("a"),
                newdirfid: d,
                newname: name("z"),
            }))
            .await,
        ),
        6 => check(
            s.call(Message::Tunlinkat(Tunlinkat {
                dirfid: d,
                name: name("gone"),
                flags: 0,
            }))
            .await,
        ),
        7 => check(
            s.call(Message::Tstatfs(zerofs_session::proto::Tstatfs { fid: d }))
                .await,
        ),
        8 => match s.lopenat(root, open::RDONLY | open::DIRECTORY).await {
            Ok((fid, _)) => check(s.read(&fid, 0, 100).await),
            Err(e) => check(Err::<(), _>(e)),
        },
        9 => check(
            s.lcreateattr(root, name("fattr"), open::RDWR | open::CREAT, 0o600, 0)
                .await,
        ),
        10 => {
            s.force_reconnect();
            true
        }
        11 => match s.walk(root, &[name("f")]).await {
            Ok((fid, _)) => {
                check(s.lopen(&fid, open::RDONLY).await) && check(s.read(&fid, 0, 1 << 20).await)
            }
            Err(e) => check(Err::<(), _>(e)),
        },
        12 => match s.walk(root, &[name("f")]).await {
            Ok((fid, _)) => check(s.remove(fid).await),
            Err(e) => check(Err::<(), _>(e)),
        },
        13 => match s.xattrwalk(root, name("user.x")).await {
            Ok((fid, size)) => check(s.read(&fid, 0, size.min(4096) as usize).await),
            Err(e) => check(Err::<(), _>(e)),
        },
        14 => {
            if s.dialect() == Dialect::Z {
                check(s.refresh_lineage().await)
            } else {
                check(s.clone_fid(root).await)
            }
        }
        _ => match s.walk(root, &[name("f")]).await {
            Ok((fid, _)) => check(s.clunk_checked(fid).await),
            Err(e) => check(Err::<(), _>(e)),
        },
    }
}

/// Seed inputs for the `session` target: every generation, msize and mode of running, the
/// whole script of operations, and server scripts that are all well-behaved, or lean on one
/// kind of misbehaviour each, or mix them.
pub fn seeds() -> Vec<Vec<u8>> {
    let all_ops: Vec<u8> = (0..16).collect();
    let servers: Vec<Vec<u8>> = vec![
        Vec::new(),
        // An error to every request (errno 2, 17, 22...).
        [3, 2, 3, 17, 3, 22, 3, 5, 3, 13, 3, 95].repeat(4),
        // Seed contents of the right type.
        [4, 0].repeat(24),
        // Frames of other types and lengths with the right tag (types 7, 41, 101, 117, 253).
        [
            15, 7, 1, 25, 41, 1, 2, 3, 35, 101, 0, 0, 0, 0, 0, 0, 45, 117, 0, 1, 2, 3, 4, 5, 6, 7,
        ]
        .repeat(3),
        // Bytes injected before the reply: a huge size, a tiny size, a stray Rclunk, garbage.
        [
            6, 4, 0xff, 0xff, 0xff, 0xff, //
            6, 4, 2, 0, 0, 0, //
            6, 7, 7, 0, 0, 61, 9, 0, 0, //
            6, 3, 1, 2, 3,
        ]
        .repeat(3),
        // A byte flipped in the reply: size, type, tag, body.
        [7, 0, 17, 1, 27, 4, 37, 5, 47, 9].repeat(3),
        // Delays: short, past the stall timeout, past stall + liveness window.
        [8, 1, 8, 90, 8, 130, 0, 0, 8, 255].repeat(2),
        // Closed connections, between good replies.
        [9, 0, 0, 0, 9, 0, 0, 0, 0, 0, 9, 0].repeat(3),
        // Everything, mixed.
        [
            0, 0, 3, 2, 4, 0, 15, 7, 1, 6, 2, 0, 0, 7, 0, 1, 8, 40, 9, 0, 1, 0,
        ]
        .repeat(4),
        // One request never answered while everything else is (probes and the flush too).
        vec![9, 1],
        // Requests never answered, among good replies and errors (errors to a flush are
        // refusals): flushes ignored and refused, probes ignored.
        [9, 1, 0, 0, 9, 3, 3, 95, 0, 0, 9, 5, 9, 7, 0, 0, 3, 95].repeat(3),
        // Nothing answered for a while: the connection dies by stall detection.
        [9, 1].repeat(40),
    ];
    let mut out = Vec::new();
    for (i, server) in servers.iter().enumerate() {
        for config in [0u8, 1, 2, 3] {
            // Alternate msizes and running modes across the server scripts.
            let config = config | (((i as u8) & 3) << 2) | (((i as u8) & 1) << 4);
            let mut input = vec![config, all_ops.len() as u8];
            input.extend(&all_ops);
            input.extend(server);
            out.push(input);
        }
    }
    out
}
