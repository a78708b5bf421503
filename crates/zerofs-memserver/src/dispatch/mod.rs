//! Request execution: one thin function per message, over the connection's session and the
//! server's filesystem. Every request runs atomically under the session and state locks (taken
//! in that order, never across an await).

mod files;
mod nodes;
mod walk;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bytes::Bytes;
use std::time::Instant;

use zerofs_9p_proto::consts::{envelope, errno};
use zerofs_9p_proto::{Envelope, Frame, Message, Rgetlineage};

use crate::config::Generation;
use crate::conn::session::{Fid, Session};
use crate::faults::lock;
use crate::fs::{Errno, Fs, FsResult};
use crate::ledger::{Bind, Ledger, Record};
use crate::payload::Payload;

/// Server-wide mutable state behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    /// The filesystem (and its locks).
    pub fs: Fs,
    /// The `.Z` mutation ledger.
    pub ledger: Ledger,
    /// The live lineage token (`Tgetlineage`, `Tfsyncdur`).
    pub lineage: u64,
    /// The HA writer epoch (`Rgetlineage`; 0 standalone, bumped by each fail-over).
    pub writer_epoch: u64,
    /// Extended attributes by inode (served only when configured).
    pub xattrs: HashMap<u64, BTreeMap<Bytes, Bytes>>,
}

/// What a request executes against.
pub(crate) struct Cx<'a> {
    /// The server generation.
    pub generation: Generation,
    /// Whether `Tremove` is served (else `ENOSYS`, as ZeroFS).
    pub tremove: bool,
    /// Whether `Txattrwalk` is served (else `EOPNOTSUPP`, as ZeroFS).
    pub xattrs: bool,
    /// The connection id (lock owner).
    pub conn: u64,
    /// The connection's session.
    pub sess: &'a mut Session,
    /// The server state.
    pub st: &'a mut State,
}

impl Cx<'_> {
    /// 1.2+ servers check the open access mode on I/O and clamp counts to the msize.
    pub fn strict(&self) -> bool {
        self.generation.is_zerofs_1_2_plus()
    }

    /// `iounit` of Rlopen/Rlcreate: 262144 on 0.19.1, 0 on 1.2+.
    pub fn iounit(&self) -> u32 {
        if self.strict() {
            0
        } else {
            crate::PLAIN_IOUNIT
        }
    }

    /// The most bytes a read or readdir returns for a requested `count` (1.2+: `msize - 11`;
    /// 0.19.1 does not clamp, bounded here by [`crate::PLAIN_READ_LIMIT`]).
    pub fn read_count(&self, count: u32) -> u32 {
        if self.strict() {
            count.min(
                self.sess
                    .msize
                    .saturating_sub(zerofs_9p_proto::consts::READ_OVERHEAD),
            )
        } else {
            count.min(crate::PLAIN_READ_LIMIT)
        }
    }

    /// The fid, or `EBADF`.
    pub fn fid(&self, fid: u32) -> FsResult<Fid> {
        self.sess.fid(fid).cloned()
    }
}

/// A request's answer: the reply message and, for `Rread` and `Rlopenatread`, their data as
/// zero-copy pieces (the message's own data field is then left empty and the connection
/// encodes the head for `data.len()` bytes).
#[derive(Debug)]
pub(crate) struct Reply {
    /// The reply.
    pub message: Message,
    /// The data payload (empty for messages without one).
    pub data: Payload,
}

impl From<Message> for Reply {
    fn from(message: Message) -> Reply {
        Reply {
            message,
            data: Payload::default(),
        }
    }
}

impl Reply {
    /// The reply with its data inside the message (a copy when the data has several pieces).
    pub fn into_message(self) -> Message {
        let mut message = self.message;
        if !self.data.is_empty() {
            match &mut message {
                Message::Rread(m) => m.data = self.data.into_bytes(),
                Message::Rlopenatread(m) => m.data = self.data.into_bytes(),
                _ => {}
            }
        }
        message
    }
}

/// Executes one decoded request (not `Tversion`, not a gen 1+ `Tflush`) and returns its reply.
pub(crate) fn execute(
    generation: Generation,
    (tremove, xattrs): (bool, bool),
    conn: u64,
    sess: &Mutex<Session>,
    state: &Mutex<State>,
    frame: &Frame,
) -> Reply {
    let mut sess = lock(sess);
    let mut st = lock(state);
    let mut cx = Cx {
        generation,
        tremove,
        xattrs,
        conn,
        sess: &mut sess,
        st: &mut st,
    };
    // Reads are no mutations: they never carry an envelope, so never meet the ledger.
    let data = match (&frame.envelope, &frame.message) {
        (None, Message::Tread(m)) => files::read(&mut cx, m),
        (None, Message::Tlopenatread(m)) => files::lopenatread(&mut cx, m),
        (Some(env), msg) => return with_ledger(&mut cx, env, msg).into(),
        (None, msg) => return reply(run(&mut cx, msg)).into(),
    };
    data.unwrap_or_else(|e| Message::error(e.0).into())
}

fn reply(r: FsResult<Message>) -> Message {
    r.unwrap_or_else(|e| Message::error(e.0))
}

/// The `.Z` ledger around an envelope-carrying mutation (PROTOCOL.md §3.5.1).
fn with_ledger(cx: &mut Cx<'_>, env: &Envelope, msg: &Message) -> Message {
    if env.flags & !envelope::RETRY != 0 {
        return Message::error(errno::ESTALE);
    }
    if !env.deduplicates() {
        return reply(run(cx, msg));
    }
    let now = Instant::now();
    if let Some(rec) = cx.st.ledger.get(now, &env.op_id).cloned() {
        replay_binding(cx, msg, &rec);
        return rec.reply;
    }
    if env.is_retry() {
        return Message::error(errno::ESTALE);
    }
    let out = reply(run(cx, msg));
    let bind = match (msg, &out) {
        (_, Message::Rlerror(_)) => None,
        (Message::Tlcreate(m), _) => cx.sess.fids.get(&m.fid).map(bind_of),
        (Message::Tlcreateattr(m), _) => cx.sess.fids.get(&m.newfid).map(bind_of),
        _ => None,
    };
    cx.st.ledger.record(
        now,
        env.op_id,
        Record {
            reply: out.clone(),
            bind,
        },
    );
    out
}

fn bind_of(f: &Fid) -> Bind {
    Bind {
        ino: f.ino,
        flags: f.open.unwrap_or(0),
    }
}

/// A replayed create-and-open opens its fid on the recorded inode, as ZeroFS does.
fn replay_binding(cx: &mut Cx<'_>, msg: &Message, rec: &Record) {
    let Some(bind) = rec.bind else { return };
    if cx.st.fs.get(bind.ino).is_err() {
        return;
    }
    match msg {
        Message::Tlcreate(m) => {
            if let Some(f) = cx.sess.fids.get_mut(&m.fid).filter(|f| f.open.is_none()) {
                f.parent = Some((f.ino, m.name.clone()));
                f.ino = bind.ino;
                f.open = Some(bind.flags);
            }
        }
        Message::Tlcreateattr(m) => {
            if cx.sess.check_newfid(m.dfid, m.newfid).is_err() {
                return;
            }
            if let Some(d) = cx.sess.fids.get(&m.dfid).cloned() {
                let fid = Fid {
                    ino: bind.ino,
                    root: d.root,
                    creds: d.creds,
                    parent: Some((d.ino, m.name.clone())),
                    open: Some(bind.flags),
                    xattr: None,
                };
                cx.sess.fids.insert(m.newfid, fid);
            }
        }
        _ => {}
    }
}

/// Routes a request to its handler.
fn run(cx: &mut Cx<'_>, msg: &Message) -> FsResult<Message> {
    use Message as M;
    match msg {
        M::Tattach(m) => walk::attach(cx, m),
        M::Twalk(m) => walk::walk(cx, m),
        M::Twalkgetattr(m) => walk::walkgetattr(cx, m),
        M::Trebind(m) => walk::rebind(cx, m),
        M::TrebindZ(m) => walk::rebind_z(cx, m),
        M::Tclunk(m) => Ok(walk::clunk(cx, m.fid)),
        M::Tremove(m) if cx.tremove => nodes::remove(cx, m.fid).map(|()| M::Rremove),
        M::Tlopen(m) => files::lopen(cx, m),
        M::Tlopenat(m) => files::lopenat(cx, m),
        M::Tlopenatread(m) => files::lopenatread(cx, m).map(Reply::into_message),
        M::Tlcreate(m) => files::lcreate(cx, m),
        M::Tlcreateattr(m) => files::lcreateattr(cx, m),
        M::Tread(m) => files::read(cx, m).map(Reply::into_message),
        M::Twrite(m) => files::write(cx, m),
        M::Treaddir(m) => files::readdir(cx, m),
        M::Treaddirattr(m) => files::readdirattr(cx, m),
        M::Tfsync(m) => cx.fid(m.fid).map(|_| M::Rfsync),
        M::Tfsyncdur(m) => files::fsyncdur(cx, m),
        M::Tfallocate(m) => files::fallocate(cx, m),
        M::Tlock(m) => files::lock(cx, m),
        M::Tgetlock(m) => files::getlock(cx, m),
        M::Tgetlineage => Ok(M::Rgetlineage(Rgetlineage {
            token: cx.st.lineage,
            writer_epoch: cx.st.writer_epoch,
        })),
        M::Tgetattr(m) => nodes::getattr(cx, m),
        M::Tsetattr(m) => nodes::setattr(cx, m).map(|_| M::Rsetattr),
        M::Tsetattrattr(m) => {
            nodes::setattr(cx, m).map(|stat| M::Rsetattrattr(zerofs_9p_proto::AttrReply { stat }))
        }
        M::Tmkdir(m) => {
            nodes::mkdir(cx, m).map(|s| M::Rmkdir(zerofs_9p_proto::Rmkdir { qid: s.qid }))
        }
        M::Tmkdirattr(m) => {
            nodes::mkdir(cx, m).map(|stat| M::Rmkdirattr(zerofs_9p_proto::AttrReply { stat }))
        }
        M::Tsymlink(m) => {
            nodes::symlink(cx, m).map(|s| M::Rsymlink(zerofs_9p_proto::Rsymlink { qid: s.qid }))
        }
        M::Tsymlinkattr(m) => {
            nodes::symlink(cx, m).map(|stat| M::Rsymlinkattr(zerofs_9p_proto::AttrReply { stat }))
        }
        M::Tmknod(m) => {
            nodes::mknod(cx, m).map(|s| M::Rmknod(zerofs_9p_proto::Rmknod { qid: s.qid }))
        }
        M::Tmknodattr(m) => {
            nodes::mknod(cx, m).map(|stat| M::Rmknodattr(zerofs_9p_proto::AttrReply { stat }))
        }
        M::Tlink(m) => nodes::link(cx, m).map(|_| M::Rlink),
        M::Tlinkattr(m) => {
            nodes::link(cx, m).map(|stat| M::Rlinkattr(zerofs_9p_proto::AttrReply { stat }))
        }
        M::Trename(m) => nodes::rename(cx, m).map(|()| M::Rrename),
        M::Trenameat(m) => nodes::renameat(cx, m).map(|()| M::Rrenameat),
        M::Tunlinkat(m) => nodes::unlinkat(cx, m).map(|()| M::Runlinkat),
        M::Treadlink(m) => nodes::readlink(cx, m),
        M::Tstatfs(m) => cx.fid(m.fid).map(|_| M::Rstatfs(cx.st.fs.statfs())),
        // ZeroFS has no xattrs: Txattrwalk is parsed and refused (unless configured),
        // Txattrcreate is unknown.
        M::Txattrwalk(m) if cx.xattrs => files::xattrwalk(cx, m),
        M::Txattrwalk(_) => Err(Errno::EOPNOTSUPP),
        // Only 0.19.1's Tflush reaches here (the others are handled by the connection).
        M::Tflush(_) => Err(Errno::EOPNOTSUPP),
        // Tauth, Tremove (unless configured), Txattrcreate, Tversion (handled elsewhere) and
        // every R-message sent as a request are not in ZeroFS's table.
        _ => Err(Errno::ENOSYS),
    }
}
