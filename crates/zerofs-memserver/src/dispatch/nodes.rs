//! Attributes and the namespace: getattr/setattr, mkdir, symlink, mknod, link, rename, unlink.

use zerofs_9p_proto::consts::{getattr, mode, setattr as sa, unlinkat as ul};
use zerofs_9p_proto::{
    Dialect, Message, Rgetattr, Rreadlink, Stat, Tgetattr, Tlink, Tmkdir, Tmknod, Treadlink,
    Trename, Trenameat, Tsetattr, Tsymlink, Tunlinkat,
};

use super::Cx;
use crate::config::Generation;
use crate::conn::session::Fid;
use crate::fs::{Creds, Errno, FsResult, SetAttr, SetTime, Special, Time};

pub(super) fn getattr(cx: &mut Cx<'_>, m: &Tgetattr) -> FsResult<Message> {
    let f = cx.fid(m.fid)?;
    Ok(Message::Rgetattr(Rgetattr {
        valid: m.request_mask & getattr::ALL,
        stat: cx.st.fs.stat(f.ino)?,
    }))
}

const KNOWN_SETATTR: u32 = sa::MODE
    | sa::UID
    | sa::GID
    | sa::SIZE
    | sa::ATIME
    | sa::MTIME
    | sa::CTIME
    | sa::ATIME_SET
    | sa::MTIME_SET
    | sa::ATIME_ACCESS;

/// `.Z`-era validation of the setattr mask (servers ≥ 2.2); older servers ignore unknown bits.
fn validate_z(cx: &Cx<'_>, f: &Fid, m: &Tsetattr) -> FsResult<bool> {
    if m.valid & sa::ATIME_ACCESS != 0 {
        if m.valid != sa::ATIME_ACCESS | sa::ATIME
            || cx.sess.dialect != Dialect::Z
            || !f.can_read(true)
        {
            return Err(Errno::EINVAL);
        }
        return Ok(true);
    }
    let bad_nsec = |set, nsec: u64| m.valid & set != 0 && nsec >= 1_000_000_000;
    if m.valid & !KNOWN_SETATTR != 0
        || (m.valid & sa::ATIME_SET != 0 && m.valid & sa::ATIME == 0)
        || (m.valid & sa::MTIME_SET != 0 && m.valid & sa::MTIME == 0)
        || bad_nsec(sa::ATIME_SET, m.atime_nsec)
        || bad_nsec(sa::MTIME_SET, m.mtime_nsec)
    {
        return Err(Errno::EINVAL);
    }
    if m.valid & sa::SIZE != 0 && f.open.is_some() && !f.can_write(true) {
        return Err(Errno::EBADF);
    }
    Ok(false)
}

fn time(valid: u32, set: u32, now: u32, sec: u64, nsec: u64) -> SetTime {
    if valid & set != 0 {
        SetTime::At(Time { sec, nsec })
    } else if valid & now != 0 {
        SetTime::Now
    } else {
        SetTime::Keep
    }
}

/// `Tsetattr` / `Tsetattrattr`; returns the post-change stat.
pub(super) fn setattr(cx: &mut Cx<'_>, m: &Tsetattr) -> FsResult<Stat> {
    let f = cx.fid(m.fid)?;
    if cx.generation == Generation::Z && validate_z(cx, &f, m)? {
        cx.st.fs.touch_atime(f.ino)?;
        return cx.st.fs.stat(f.ino);
    }
    let v = m.valid;
    let attr = SetAttr {
        mode: (v & sa::MODE != 0).then_some(m.mode),
        uid: (v & sa::UID != 0).then_some(m.uid),
        gid: (v & sa::GID != 0).then_some(m.gid),
        size: (v & sa::SIZE != 0).then_some(m.size),
        atime: time(v, sa::ATIME_SET, sa::ATIME, m.atime_sec, m.atime_nsec),
        mtime: time(v, sa::MTIME_SET, sa::MTIME, m.mtime_sec, m.mtime_nsec),
    };
    cx.st.fs.setattr(&f.creds, f.ino, &attr)?;
    cx.st.fs.stat(f.ino)
}

/// The directory fid of a create and the credentials it acts with (the request's gid).
fn parent(cx: &Cx<'_>, dfid: u32, gid: u32) -> FsResult<(u64, Creds)> {
    let d = cx.fid(dfid)?;
    Ok((d.ino, Creds { gid, ..d.creds }))
}

pub(super) fn mkdir(cx: &mut Cx<'_>, m: &Tmkdir) -> FsResult<Stat> {
    let (dir, creds) = parent(cx, m.dfid, m.gid)?;
    let ino = cx.st.fs.mkdir(&creds, dir, &m.name, m.mode, m.gid)?;
    cx.st.fs.stat(ino)
}

pub(super) fn symlink(cx: &mut Cx<'_>, m: &Tsymlink) -> FsResult<Stat> {
    let (dir, creds) = parent(cx, m.dfid, m.gid)?;
    let ino = cx.st.fs.symlink(&creds, dir, &m.name, &m.symtgt, m.gid)?;
    cx.st.fs.stat(ino)
}

pub(super) fn mknod(cx: &mut Cx<'_>, m: &Tmknod) -> FsResult<Stat> {
    let (dir, creds) = parent(cx, m.dfid, m.gid)?;
    let special = match m.mode & mode::S_IFMT {
        mode::S_IFCHR => Special::Char(m.major, m.minor),
        mode::S_IFBLK => Special::Block(m.major, m.minor),
        mode::S_IFIFO => Special::Fifo,
        mode::S_IFSOCK => Special::Socket,
        _ => return Err(Errno::EINVAL),
    };
    let ino = cx
        .st
        .fs
        .mknod(&creds, dir, &m.name, special, m.mode, m.gid)?;
    cx.st.fs.stat(ino)
}

/// `Tlink` / `Tlinkattr`; returns the target's stat.
pub(super) fn link(cx: &mut Cx<'_>, m: &Tlink) -> FsResult<Stat> {
    let d = cx.fid(m.dfid)?;
    let f = cx.fid(m.fid)?;
    cx.st.fs.link(&d.creds, d.ino, &m.name, f.ino)?;
    cx.st.fs.stat(f.ino)
}

/// `Trename`: moves the fid's file (found through the directory and name it was walked by).
pub(super) fn rename(cx: &mut Cx<'_>, m: &Trename) -> FsResult<()> {
    let src = cx.fid(m.fid)?;
    let d = cx.fid(m.dfid)?;
    let (from_dir, from_name) = src.parent.clone().ok_or(Errno::EINVAL)?;
    cx.st
        .fs
        .rename(&src.creds, from_dir, &from_name, d.ino, &m.name)?;
    cx.sess.fid_mut(m.fid)?.parent = Some((d.ino, m.name.clone()));
    Ok(())
}

pub(super) fn renameat(cx: &mut Cx<'_>, m: &Trenameat) -> FsResult<()> {
    let old = cx.fid(m.olddirfid)?;
    let new = cx.fid(m.newdirfid)?;
    cx.st
        .fs
        .rename(&old.creds, old.ino, &m.oldname, new.ino, &m.newname)
}

pub(super) fn unlinkat(cx: &mut Cx<'_>, m: &Tunlinkat) -> FsResult<()> {
    let d = cx.fid(m.dirfid)?;
    cx.st
        .fs
        .unlinkat(&d.creds, d.ino, &m.name, m.flags & ul::REMOVEDIR != 0)
}

/// `Tremove` (when configured): unlinks what `fid` was last walked to, then clunks the fid
/// whatever the outcome. A fid with no known name (the attach root, a rebound fid) or whose
/// name now leads elsewhere is refused (`EBUSY`, `ENOENT`).
pub(super) fn remove(cx: &mut Cx<'_>, fid: u32) -> FsResult<()> {
    let f = cx.fid(fid)?;
    let _ = super::walk::clunk(cx, fid);
    let (dir, name) = f.parent.ok_or(Errno::EBUSY)?;
    if cx.st.fs.lookup(&f.creds, dir, &name)? != f.ino {
        return Err(Errno::ENOENT);
    }
    let is_dir = cx.st.fs.get(f.ino)?.is_dir();
    cx.st.fs.unlinkat(&f.creds, dir, &name, is_dir)
}

pub(super) fn readlink(cx: &mut Cx<'_>, m: &Treadlink) -> FsResult<Message> {
    let f = cx.fid(m.fid)?;
    Ok(Message::Rreadlink(Rreadlink {
        target: cx.st.fs.readlink(f.ino)?,
    }))
}
