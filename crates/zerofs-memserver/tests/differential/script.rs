//! A small DSL of 9P steps with symbolic fids, and the runner that plays a script against one
//! server.

use std::collections::BTreeMap;

use zerofs_9p_proto::{Message, Treaddir};

use crate::normalise::{Ent, Expected, Norm, NormOpts, Transcript, entries, normalise};
use crate::servers::{Kind, Server};
use crate::steps::{attach, mkdir, version, walk};
use crate::wire::{Conn, WireError};

/// Per-run state a step may read: symbolic fids, the server, the last readdir cookie.
#[derive(Debug)]
pub struct Ctx {
    fids: BTreeMap<&'static str, u32>,
    /// `aname` attaching to the root of the server's tree.
    pub root_aname: Vec<u8>,
    /// Cookie of the last entry of the last `Rreaddir`.
    pub last_cookie: u64,
}

impl Ctx {
    /// The fid number of a symbolic name: the same name is always the same number, numbered
    /// from 1 in order of first use.
    pub fn fid(&mut self, name: &'static str) -> u32 {
        let next = self.fids.len() as u32 + 1;
        *self.fids.entry(name).or_insert(next)
    }
}

type Build = Box<dyn Fn(&mut Ctx) -> Message + Send + Sync>;
type BuildAlt = Box<dyn Fn(&mut Ctx) -> (Vec<Message>, Vec<Message>) + Send + Sync>;
type BuildRaw = Box<dyn Fn(&mut Ctx, u16) -> Vec<u8> + Send + Sync>;

/// What a step does.
pub enum Op {
    /// Drop the connection and open a new one (fids are forgotten).
    Reconnect,
    /// Send one request and wait for its reply.
    Send(Build),
    /// Send raw bytes built around a fresh tag and wait for a reply under that tag.
    Raw(BuildRaw),
    /// Read a whole directory in pages of `count` bytes, following cookies (at most 64 pages).
    ReaddirAll {
        /// Symbolic fid of the opened directory.
        fid: &'static str,
        /// Page size.
        count: u32,
    },
}

/// One step of a script.
pub struct Step {
    /// What the step does, shown in mismatch reports.
    pub label: String,
    /// The operation.
    pub op: Op,
    /// Deliberate differences.
    pub expect: Vec<Expected>,
    /// Normalisation options.
    pub opts: NormOpts,
    /// What one server does instead (see [`Step::instead_on`]).
    pub alt: Option<Alt>,
}

/// The equivalent request sequence a server needs for a step (e.g. diod lacks `Tunlinkat`,
/// so it gets `Twalk` + `Tremove`, as the Linux kernel falls back).
pub struct Alt {
    /// The server.
    pub server: Kind,
    /// Why.
    pub reason: &'static str,
    build: BuildAlt,
}

impl Step {
    /// A step sending the message `build` makes.
    pub fn send(
        label: impl Into<String>,
        build: impl Fn(&mut Ctx) -> Message + Send + Sync + 'static,
    ) -> Step {
        Step::new(label, Op::Send(Box::new(build)))
    }

    /// A step of any kind.
    pub fn new(label: impl Into<String>, op: Op) -> Step {
        Step {
            label: label.into(),
            op,
            expect: Vec::new(),
            opts: NormOpts::default(),
            alt: None,
        }
    }

    /// Declares that `server` deliberately answers `reply` here, for `reason`.
    pub fn differs(mut self, server: Kind, reply: Norm, reason: &'static str) -> Step {
        self.expect.push(Expected {
            server,
            reply,
            reason,
        });
        self
    }

    /// On `server`, sends the requests `build` returns instead: the step's reply is the first
    /// `Rlerror` among the main requests, else the last reply; the cleanup requests' replies
    /// are ignored. The reply is compared with the reference's reply to the step as usual.
    pub fn instead_on(
        mut self,
        server: Kind,
        reason: &'static str,
        build: impl Fn(&mut Ctx) -> (Vec<Message>, Vec<Message>) + Send + Sync + 'static,
    ) -> Step {
        self.alt = Some(Alt {
            server,
            reason,
            build: Box::new(build),
        });
        self
    }

    /// Also compares atime and mtime of an `Rgetattr`.
    pub fn times(mut self) -> Step {
        self.opts.times = true;
        self
    }
}

/// A named list of steps.
pub struct Script {
    /// Name; also the test directory's name.
    pub name: &'static str,
    /// The steps.
    pub steps: Vec<Step>,
}

impl Script {
    /// A script starting with the usual prelude: `Tversion("9P2000.L")`, attach `root` to the
    /// tree's root, `Tmkdir(name)` and walk fid `d` to that directory.
    pub fn new(name: &'static str) -> Script {
        let mut s = Script::bare(name);
        s.push(version(8192, b"9P2000.L"));
        s.push(attach("root"));
        s.push(mkdir("root", name, 0o755));
        s.push(walk("root", "d", &[name]));
        s
    }

    /// A script without prelude.
    pub fn bare(name: &'static str) -> Script {
        Script {
            name,
            steps: Vec::new(),
        }
    }

    /// Appends a step.
    pub fn push(&mut self, step: Step) -> &mut Script {
        self.steps.push(step);
        self
    }

    /// Appends steps.
    pub fn extend(&mut self, steps: impl IntoIterator<Item = Step>) -> &mut Script {
        self.steps.extend(steps);
        self
    }

    /// The labels, with the alternative a server runs instead, if any.
    pub fn labels(&self) -> Vec<String> {
        let label = |s: &Step| match &s.alt {
            Some(alt) => format!("{} [{}: {}]", s.label, alt.server, alt.reason),
            None => s.label.clone(),
        };
        self.steps.iter().map(label).collect()
    }

    /// The annotations of every step.
    pub fn expected(&self) -> Vec<Vec<Expected>> {
        self.steps.iter().map(|s| s.expect.clone()).collect()
    }
}

/// Plays `script` against `server` on one connection (reopened by [`Op::Reconnect`]).
pub async fn run(script: &Script, server: &Server) -> Transcript {
    let mut ctx = Ctx {
        fids: BTreeMap::new(),
        root_aname: server.root_aname.clone(),
        last_cookie: 0,
    };
    let mut conn = Conn::connect(&server.target).await.ok();
    let mut replies = Vec::new();
    for step in &script.steps {
        let Some(c) = conn.as_mut() else {
            replies.push(Norm::Broken("no connection".into()));
            if matches!(step.op, Op::Reconnect) {
                conn = Conn::connect(&server.target).await.ok();
            }
            continue;
        };
        if let Some(alt) = step.alt.as_ref().filter(|a| a.server == server.kind) {
            let (main, cleanup) = (alt.build)(&mut ctx);
            let mut reply = Err(WireError::Decode("empty alternative".into()));
            for message in main {
                reply = c.rpc(message).await;
                if matches!(reply, Ok(Message::Rlerror(_)) | Err(_)) {
                    break;
                }
            }
            for message in cleanup {
                let _ = c.rpc(message).await;
            }
            replies.push(normalise(&reply, step.opts));
            continue;
        }
        let norm = match &step.op {
            Op::Reconnect => {
                ctx.fids.clear();
                conn = Conn::connect(&server.target).await.ok();
                if conn.is_some() {
                    Norm::Done
                } else {
                    Norm::Closed
                }
            }
            Op::Send(build) => {
                let message = build(&mut ctx);
                let reply = c.rpc(message).await;
                if let Ok(Message::Rreaddir(r)) = &reply {
                    ctx.last_cookie = r.entries.last().map_or(ctx.last_cookie, |e| e.offset);
                }
                normalise(&reply, step.opts)
            }
            Op::Raw(build) => {
                let tag = c.tag();
                let bytes = build(&mut ctx, tag);
                let reply = match c.send_raw(&bytes).await {
                    Ok(()) => c.reply_to(tag).await,
                    Err(e) => Err(e),
                };
                normalise(&reply, step.opts)
            }
            Op::ReaddirAll { fid, count } => read_whole_dir(c, &mut ctx, fid, *count).await,
        };
        replies.push(norm);
    }
    Transcript {
        server: server.kind,
        replies,
    }
}

async fn read_whole_dir(c: &mut Conn, ctx: &mut Ctx, fid: &'static str, count: u32) -> Norm {
    let fid = ctx.fid(fid);
    let mut offset = 0;
    let mut all: Vec<Ent> = Vec::new();
    for _ in 0..64 {
        let reply = c
            .rpc(Message::Treaddir(Treaddir { fid, offset, count }))
            .await;
        match reply {
            Ok(Message::Rreaddir(r)) => {
                let Some(last) = r.entries.last() else {
                    all.sort();
                    let unique = all.len();
                    all.dedup();
                    if all.len() != unique {
                        return Norm::Other(format!("duplicate entries across pages: {all:?}"));
                    }
                    return Norm::Dir(all);
                };
                offset = last.offset;
                all.extend(entries(&r.entries));
            }
            other => return normalise(&other, NormOpts::default()),
        }
    }
    Norm::Other("directory did not end within 64 pages".into())
}
