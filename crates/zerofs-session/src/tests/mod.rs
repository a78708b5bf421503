//! Unit tests of the session's state (fid table, effects, tickets) and of one connection
//! against a scripted peer over an in-memory pipe: no sockets, no server process.

mod conn_cancel;
mod conn_state;
mod effects;
mod fid_machine;
mod fid_table;
mod refusals;
mod replay;
mod resend;
mod ticket;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use zerofs_9p_proto::{Qid, QidType};

use crate::core::Core;
use crate::fids::{Binding, FidState, FidTable};
use crate::liveness::LivenessConfig;

/// A core with no connection (so no clunk is ever sent) and liveness off.
fn core() -> Arc<Core> {
    Core::new(
        Duration::ZERO,
        LivenessConfig {
            stall: None,
            window: Duration::from_secs(3),
            request: None,
        },
    )
    .0
}

fn qid(path: u64) -> Qid {
    Qid {
        ty: QidType::DIR,
        version: 0,
        path,
    }
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn path(names: &[&'static str]) -> Vec<Bytes> {
    names.iter().map(|n| b(n)).collect()
}

/// Allocates an attach fid, live, with qid `path` 1.
fn attach(t: &mut FidTable) -> (u32, u64) {
    let (fid, generation) = t.alloc();
    t.set_binding(
        fid,
        Binding::Attach {
            uname: b("root"),
            aname: Bytes::new(),
            n_uname: 0,
        },
        None,
    );
    let r = t.get_mut(fid).unwrap();
    r.state = FidState::Live;
    r.qid = Some(qid(1));
    (fid, generation)
}

/// Allocates a fid walked from `root` along `names`, live, with qid `path`.
fn walked(t: &mut FidTable, root: u32, names: &[&'static str], qpath: u64) -> (u32, u64) {
    let (fid, generation) = t.alloc();
    t.bind_walked(fid, root, &path(names));
    let r = t.get_mut(fid).unwrap();
    r.state = FidState::Live;
    r.qid = Some(qid(qpath));
    (fid, generation)
}

/// The recorded walk of `fid` as strings.
fn walk_of(t: &FidTable, fid: u32) -> Option<(u32, Vec<String>)> {
    match t.get(fid)?.binding.as_ref()? {
        Binding::Walked { root, path } => Some((
            *root,
            path.iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect(),
        )),
        _ => None,
    }
}
