//! Attach, walk, rebind and clunk: everything that creates or drops fids without opening.

use bytes::Bytes;
use zerofs_9p_proto::consts::{NONUNAME, rebind};
use zerofs_9p_proto::{
    Credentials, Message, Rattach, Rrebind, Rwalk, Rwalkgetattr, Tattach, Trebind, TrebindZ, Twalk,
};

use super::Cx;
use crate::config::Generation;
use crate::conn::session::Fid;
use crate::fs::{Creds, Errno, FsResult, ROOT};

/// The uid of an attach: `n_uname`, or `uname` "root" → 0 and anything else → nobody.
fn uid_of(uname: &str, n_uname: u32) -> u32 {
    if n_uname != NONUNAME {
        n_uname
    } else if uname == "root" {
        0
    } else {
        Creds::NOBODY
    }
}

pub(super) fn attach(cx: &mut Cx<'_>, m: &Tattach) -> FsResult<Message> {
    let uname = std::str::from_utf8(&m.uname).map_err(|_| Errno::EINVAL)?;
    let creds = Creds::from_uid(uid_of(uname, m.n_uname));
    // 0.19.1 ignores aname; 1.2+ roots the session at it.
    let root = if cx.generation == Generation::Plain {
        ROOT
    } else {
        let aname = std::str::from_utf8(&m.aname).map_err(|_| Errno::EINVAL)?;
        let mut cur = ROOT;
        for comp in aname.split('/').filter(|c| !c.is_empty()) {
            cur = cx.st.fs.lookup(&creds, cur, comp.as_bytes())?;
        }
        if !cx.st.fs.get(cur)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        cur
    };
    let qid = cx.st.fs.qid(root)?;
    if cx.sess.fids.contains_key(&m.fid) {
        return Err(Errno::EINVAL);
    }
    cx.sess.fids.insert(
        m.fid,
        Fid {
            ino: root,
            root,
            creds,
            parent: None,
            open: None,
            xattr: None,
        },
    );
    cx.sess.attach_root = root;
    Ok(Message::Rattach(Rattach { qid }))
}

/// Walks `names` from `src`; returns the inodes reached and the last (directory, name) step.
/// Stops at the first failure, returning its error alongside what was walked.
fn walk_names(
    cx: &Cx<'_>,
    src: &Fid,
    names: &[Bytes],
) -> (Vec<u64>, Option<(u64, Bytes)>, Option<Errno>) {
    let mut cur = src.ino;
    let mut parent = src.parent.clone();
    let mut inos = Vec::with_capacity(names.len());
    for name in names {
        match cx.st.fs.walk_step(&src.creds, cur, name, src.root) {
            Ok(next) => {
                parent = if name.as_ref() == b"." || name.as_ref() == b".." {
                    None
                } else {
                    Some((cur, name.clone()))
                };
                cur = next;
                inos.push(next);
            }
            Err(e) => return (inos, parent, Some(e)),
        }
    }
    (inos, parent, None)
}

fn bind_newfid(
    cx: &mut Cx<'_>,
    src: Fid,
    m: &Twalk,
    ino: u64,
    parent: Option<(u64, Bytes)>,
) -> FsResult<()> {
    if m.newfid != m.fid || !m.wnames.is_empty() {
        cx.sess.check_newfid(m.fid, m.newfid)?;
        cx.sess.fids.insert(
            m.newfid,
            Fid {
                ino,
                parent,
                open: None,
                xattr: None,
                ..src
            },
        );
    }
    Ok(())
}

pub(super) fn walk(cx: &mut Cx<'_>, m: &Twalk) -> FsResult<Message> {
    let src = cx.fid(m.fid)?;
    let (inos, parent, err) = walk_names(cx, &src, &m.wnames);
    let wqids = inos
        .iter()
        .map(|&i| cx.st.fs.qid(i))
        .collect::<FsResult<Vec<_>>>()?;
    if let Some(e) = err {
        // 0.19.1 fails the whole walk; 1.2+ answer a partial Rwalk (no newfid) after the first.
        if inos.is_empty() || cx.generation == Generation::Plain {
            return Err(e);
        }
        return Ok(Message::Rwalk(Rwalk { wqids }));
    }
    let ino = inos.last().copied().unwrap_or(src.ino);
    bind_newfid(cx, src, m, ino, parent)?;
    Ok(Message::Rwalk(Rwalk { wqids }))
}

pub(super) fn walkgetattr(cx: &mut Cx<'_>, m: &Twalk) -> FsResult<Message> {
    let src = cx.fid(m.fid)?;
    let (inos, parent, err) = walk_names(cx, &src, &m.wnames);
    if let Some(e) = err {
        return Err(e);
    }
    let ino = inos.last().copied().unwrap_or(src.ino);
    let stat = cx.st.fs.stat(ino)?;
    let wqids = inos
        .iter()
        .map(|&i| cx.st.fs.qid(i))
        .collect::<FsResult<Vec<_>>>()?;
    bind_newfid(cx, src, m, ino, parent)?;
    Ok(Message::Rwalkgetattr(Rwalkgetattr { wqids, stat }))
}

/// Gen 1/2 `Trebind`: credentials from `n_uname`, the inode must lie under the session's
/// attach root (`EACCES`).
pub(super) fn rebind(cx: &mut Cx<'_>, m: &Trebind) -> FsResult<Message> {
    if cx.sess.fids.contains_key(&m.fid) {
        return Err(Errno::EINVAL);
    }
    let qid = cx.st.fs.qid(m.inode_id)?;
    let root = cx.sess.attach_root;
    if !cx.st.fs.is_under(m.inode_id, root) {
        return Err(Errno::EACCES);
    }
    let uid = if m.n_uname == NONUNAME {
        Creds::NOBODY
    } else {
        m.n_uname
    };
    let fid = Fid {
        ino: m.inode_id,
        root,
        creds: Creds::from_uid(uid),
        parent: None,
        open: None,
        xattr: None,
    };
    cx.sess.fids.insert(m.fid, fid);
    Ok(Message::Rrebind(Rrebind { qid }))
}

/// `.Z` `Trebind`: root inode, replay flags and a user name or binary credential payload.
pub(super) fn rebind_z(cx: &mut Cx<'_>, m: &TrebindZ) -> FsResult<Message> {
    if m.flags & !(rebind::REPLAY | rebind::OPENED) != 0
        || (m.flags & rebind::OPENED != 0 && m.flags & rebind::REPLAY == 0)
    {
        return Err(Errno::EINVAL);
    }
    if cx.sess.fids.contains_key(&m.fid) {
        return Err(Errno::EINVAL);
    }
    let creds = if m.uname.first() == Some(&0xFF) {
        let c = Credentials::parse(&m.uname).ok_or(Errno::EINVAL)?;
        Creds {
            uid: m.n_uname,
            gid: c.gid,
            groups: c.groups,
        }
    } else {
        let uname = std::str::from_utf8(&m.uname).map_err(|_| Errno::EINVAL)?;
        Creds::from_uid(uid_of(uname, m.n_uname))
    };
    let replay = m.flags & rebind::REPLAY != 0;
    let check = || -> FsResult<u64> {
        let fs = &cx.st.fs;
        if !fs.get(m.root_inode)?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        fs.get(m.inode_id)?;
        if !fs.is_under(m.inode_id, m.root_inode) || !fs.is_under(m.root_inode, cx.sess.attach_root)
        {
            return Err(Errno::EACCES);
        }
        Ok(m.inode_id)
    };
    let ino = check().map_err(|e| if replay { Errno::ESTALE } else { e })?;
    let qid = cx.st.fs.qid(ino)?;
    cx.sess.fids.insert(
        m.fid,
        Fid {
            ino,
            root: m.root_inode,
            creds,
            parent: None,
            open: None,
            xattr: None,
        },
    );
    Ok(Message::Rrebind(Rrebind { qid }))
}

/// `Tclunk`: forgets the fid (if known) and releases its locks; always `Rclunk`.
pub(super) fn clunk(cx: &mut Cx<'_>, fid: u32) -> Message {
    if cx.sess.fids.remove(&fid).is_some() {
        cx.st.fs.locks.release_fid(cx.conn, fid);
    }
    Message::Rclunk
}
