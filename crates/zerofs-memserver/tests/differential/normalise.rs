//! Replies reduced to what must agree between servers, and the comparison of transcripts.
//!
//! Ignored everywhere: qid.path and qid.version, timestamps (unless a step asks for them),
//! inode numbers, readdir cookies and entry order, iounit, blksize, blocks, the size of
//! directories, and every statfs value but `namelen`.

use std::fmt;

use zerofs_9p_proto::consts::{getattr, mode};
use zerofs_9p_proto::{LockStatus, LockType, Message, MessageType, Rgetattr};

use crate::servers::Kind;
use crate::wire::WireError;

/// An errno, shown by name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub u32);

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use zerofs_9p_proto::consts::errno::*;
        let name = match self.0 {
            EPERM => "EPERM",
            ENOENT => "ENOENT",
            EIO => "EIO",
            EBADF => "EBADF",
            EAGAIN => "EAGAIN",
            EACCES => "EACCES",
            EBUSY => "EBUSY",
            EEXIST => "EEXIST",
            EXDEV => "EXDEV",
            ENOTDIR => "ENOTDIR",
            EISDIR => "EISDIR",
            EINVAL => "EINVAL",
            ERANGE => "ERANGE",
            ENAMETOOLONG => "ENAMETOOLONG",
            ENOSYS => "ENOSYS",
            ENOTEMPTY => "ENOTEMPTY",
            ELOOP => "ELOOP",
            ENODATA => "ENODATA",
            EOPNOTSUPP => "EOPNOTSUPP",
            ESTALE => "ESTALE",
            _ => return write!(f, "errno {}", self.0),
        };
        write!(f, "{name}({})", self.0)
    }
}

/// The comparable part of a `Stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// `valid & BASIC`.
    pub valid: u64,
    /// Full mode, type bits included.
    pub mode: String,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count (directories: not compared, set to 0).
    pub nlink: u64,
    /// Device number.
    pub rdev: u64,
    /// Size (directories: not compared, set to 0).
    pub size: u64,
    /// `(atime, mtime)` as `sec.nsec` when the step compares times.
    pub times: Option<(String, String)>,
}

/// One directory entry without its cookie and qid path.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ent {
    /// Name.
    pub name: String,
    /// `DT_*` type.
    pub dtype: u8,
    /// qid type bits.
    pub qtype: u8,
}

impl fmt::Debug for Ent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:dt{}:q{:#x}", self.name, self.dtype, self.qtype)
    }
}

/// A normalised reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Norm {
    /// `Rlerror`.
    Err(Errno),
    /// `Rversion`.
    Version {
        /// msize offered back.
        msize: u32,
        /// version string.
        version: String,
    },
    /// A reply that is only a qid (`Rattach`, `Rmkdir`, `Rsymlink`, `Rmknod`, `Rauth`), by type.
    Qid(MessageType, u8),
    /// `Rlopen`/`Rlcreate`: the qid type; iounit ignored.
    Opened(MessageType, u8),
    /// `Rwalk`: the qid types.
    Walk(Vec<u8>),
    /// `Rgetattr`.
    Attr(Attr),
    /// `Rread`.
    Data(Data),
    /// `Rwrite`.
    Written(u32),
    /// `Rreaddir` (or every page of a paged read), sorted by name.
    Dir(Vec<Ent>),
    /// `Rreadlink`.
    Target(String),
    /// `Rlock`.
    Lock(LockStatus),
    /// `Rgetlock`.
    GetLock {
        /// Lock type.
        ty: LockType,
        /// Range start.
        start: u64,
        /// Range length.
        length: u64,
        /// Owner's process id.
        proc_id: u32,
        /// Owner's client id.
        client_id: String,
    },
    /// `Rstatfs`: only the maximum name length is comparable.
    Statfs {
        /// namelen.
        namelen: u32,
    },
    /// `Rxattrwalk`.
    Xattr(u64),
    /// Any reply with an empty body (its type always matches the request).
    Done,
    /// The server closed the connection instead of replying.
    Closed,
    /// No reply within the timeout.
    NoReply,
    /// An undecodable reply or another transport failure.
    Broken(String),
    /// A reply that no step expects (shown whole).
    Other(String),
    /// In annotations only: any successful reply (used where the reply merely shows that a
    /// diverging earlier step left a fid or file behind).
    AnyOk,
}

impl Norm {
    /// Whether `self`, a reply, satisfies `want`, an annotation.
    pub fn fits(&self, want: &Norm) -> bool {
        match want {
            Norm::AnyOk => !matches!(
                self,
                Norm::Err(_) | Norm::Closed | Norm::NoReply | Norm::Broken(_) | Norm::Other(_)
            ),
            _ => self == want,
        }
    }
}

/// The attributes of a root-owned regular file, as a reply.
pub fn file(perm: u32, nlink: u64, size: u64) -> Norm {
    Norm::Attr(Attr {
        valid: getattr::BASIC,
        mode: mode_str(mode::S_IFREG | perm),
        uid: 0,
        gid: 0,
        nlink,
        rdev: 0,
        size,
        times: None,
    })
}

/// A directory listing `(name, DT_* type, qid type)`, as a reply.
pub fn dir(entries: &[(&str, u8, u8)]) -> Norm {
    let mut v: Vec<Ent> = entries
        .iter()
        .map(|(n, d, q)| Ent {
            name: (*n).to_owned(),
            dtype: *d,
            qtype: *q,
        })
        .collect();
    v.sort();
    Norm::Dir(v)
}

/// Read data, shown as text when printable.
#[derive(Clone, PartialEq, Eq)]
pub struct Data(pub Vec<u8>);

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let printable = self.0.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
        if printable {
            write!(f, "{:?}", String::from_utf8_lossy(&self.0))
        } else {
            write!(
                f,
                "{} bytes {:02x?}",
                self.0.len(),
                &self.0[..self.0.len().min(24)]
            )
        }
    }
}

/// `Norm::Err(Errno(e))`.
pub const fn err(e: u32) -> Norm {
    Norm::Err(Errno(e))
}

/// How a step's reply is normalised.
#[derive(Debug, Clone, Copy, Default)]
pub struct NormOpts {
    /// Keep atime/mtime in `Rgetattr`.
    pub times: bool,
}

fn mode_str(m: u32) -> String {
    let ty = match m & mode::S_IFMT {
        mode::S_IFDIR => "dir",
        mode::S_IFREG => "reg",
        mode::S_IFLNK => "lnk",
        mode::S_IFIFO => "fifo",
        mode::S_IFSOCK => "sock",
        mode::S_IFCHR => "chr",
        mode::S_IFBLK => "blk",
        _ => "?",
    };
    format!("{ty}:{:04o}", m & 0o7777)
}

fn attr(r: &Rgetattr, opts: NormOpts) -> Attr {
    let s = &r.stat;
    let dir = s.mode & mode::S_IFMT == mode::S_IFDIR;
    Attr {
        valid: r.valid & getattr::BASIC,
        mode: mode_str(s.mode),
        uid: s.uid,
        gid: s.gid,
        nlink: if dir { 0 } else { s.nlink },
        rdev: s.rdev,
        size: if dir { 0 } else { s.size },
        times: opts.times.then(|| {
            (
                format!("{}.{:09}", s.atime_sec, s.atime_nsec),
                format!("{}.{:09}", s.mtime_sec, s.mtime_nsec),
            )
        }),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Directory entries without cookies, sorted by name.
pub fn entries(list: &[zerofs_9p_proto::DirEntry]) -> Vec<Ent> {
    let mut out: Vec<Ent> = list
        .iter()
        .map(|e| Ent {
            name: text(&e.name),
            dtype: e.ty,
            qtype: e.qid.ty.0,
        })
        .collect();
    out.sort();
    out
}

/// Normalises one reply (or transport failure).
pub fn normalise(reply: &Result<Message, WireError>, opts: NormOpts) -> Norm {
    let m = match reply {
        Ok(m) => m,
        Err(WireError::Closed) => return Norm::Closed,
        Err(WireError::Timeout) => return Norm::NoReply,
        Err(e) => return Norm::Broken(format!("{e:?}")),
    };
    match m {
        Message::Rlerror(e) => Norm::Err(Errno(e.ecode)),
        Message::Rversion(v) => Norm::Version {
            msize: v.msize,
            version: text(&v.version),
        },
        Message::Rattach(r) => Norm::Qid(m.msg_type(), r.qid.ty.0),
        Message::Rauth(r) => Norm::Qid(m.msg_type(), r.aqid.ty.0),
        Message::Rmkdir(r) => Norm::Qid(m.msg_type(), r.qid.ty.0),
        Message::Rsymlink(r) => Norm::Qid(m.msg_type(), r.qid.ty.0),
        Message::Rmknod(r) => Norm::Qid(m.msg_type(), r.qid.ty.0),
        Message::Rlopen(r) => Norm::Opened(m.msg_type(), r.qid.ty.0),
        Message::Rlcreate(r) => Norm::Opened(m.msg_type(), r.qid.ty.0),
        Message::Rwalk(r) => Norm::Walk(r.wqids.iter().map(|q| q.ty.0).collect()),
        Message::Rgetattr(r) => Norm::Attr(attr(r, opts)),
        Message::Rread(r) => Norm::Data(Data(r.data.to_vec())),
        Message::Rwrite(r) => Norm::Written(r.count),
        Message::Rreaddir(r) => Norm::Dir(entries(&r.entries)),
        Message::Rreadlink(r) => Norm::Target(text(&r.target)),
        Message::Rlock(r) => Norm::Lock(r.status),
        Message::Rgetlock(r) => Norm::GetLock {
            ty: r.ty,
            start: r.start,
            length: r.length,
            proc_id: r.proc_id,
            client_id: text(&r.client_id),
        },
        Message::Rstatfs(r) => Norm::Statfs { namelen: r.namelen },
        Message::Rxattrwalk(r) => Norm::Xattr(r.size),
        other if other.body_len() == 0 && !other.msg_type().is_request() => Norm::Done,
        other => Norm::Other(format!("{other:?}")),
    }
}

/// A deliberate difference: what `server` answers at a step instead of the reference's answer.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The server that differs.
    pub server: Kind,
    /// Its normalised reply, asserted exactly.
    pub reply: Norm,
    /// Why it differs.
    pub reason: &'static str,
}

/// One normalised transcript.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// The server.
    pub server: Kind,
    /// One entry per step.
    pub replies: Vec<Norm>,
}

/// Compares every transcript with the reference (ZeroFS when present, else the memserver),
/// step by step. A step annotated for a server must match the annotation instead. Returns a
/// description of every mismatch.
pub fn compare(
    labels: &[String],
    expected: &[Vec<Expected>],
    transcripts: &[Transcript],
) -> Vec<String> {
    let reference = transcripts
        .iter()
        .find(|t| t.server == Kind::Zerofs)
        .or_else(|| transcripts.iter().find(|t| t.server == Kind::Mem));
    let Some(reference) = reference else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for t in transcripts {
        for (i, label) in labels.iter().enumerate() {
            let got = &t.replies[i];
            let annotated = |k: Kind| expected[i].iter().find(|e| e.server == k);
            if let Some(e) = annotated(t.server) {
                if !got.fits(&e.reply) {
                    problems.push(format!(
                        "step {i} `{label}`: {} answered {got:?}, annotated as {:?} ({})",
                        t.server, e.reply, e.reason
                    ));
                }
                continue;
            }
            if t.server == reference.server || annotated(reference.server).is_some() {
                continue;
            }
            let want = &reference.replies[i];
            if got != want {
                problems.push(format!(
                    "step {i} `{label}`: {} answered {got:?}, {} answered {want:?}",
                    t.server, reference.server
                ));
            }
        }
    }
    problems
}
