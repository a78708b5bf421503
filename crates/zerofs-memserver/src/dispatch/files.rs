//! Opening, creating, I/O, directory listing, durability and locks.

use bytes::Bytes;
use zerofs_9p_proto::consts::{LOPENATREAD_OVERHEAD, fsyncdur, lock_flags, open};
use zerofs_9p_proto::{
    DirEntry, DirEntryPlus, LockStatus, LockType, Message, Rgetlock, Rlcreateattr, Rlock, Rlopen,
    Rlopenatread, Rread, Rreaddir, Rreaddirattr, Rwrite, Rxattrwalk, Tfallocate, Tfsyncdur,
    Tgetlock, Tlcreate, Tlcreateattr, Tlock, Tlopen, Tlopenat, Tlopenatread, Tread, Treaddir,
    Twrite, Txattrwalk,
};

use super::{Cx, Reply};
use crate::config::Generation;
use crate::conn::session::Fid;
use crate::fs::{Access, Creds, DirItem, Errno, FsResult, Lock, READDIR_BATCH};
use crate::payload::Payload;

/// Open-time checks: none before 2.1; `.Z`-era servers refuse access mode 3 and check read
/// and write permission (a path-only open checks nothing).
fn open_checks(cx: &Cx<'_>, creds: &Creds, ino: u64, flags: u32) -> FsResult<()> {
    cx.st.fs.get(ino)?;
    if cx.generation != Generation::Z {
        return Ok(());
    }
    let acc = flags & open::ACCMODE;
    if acc == open::ACCMODE {
        return Err(Errno::EINVAL);
    }
    if flags & open::PATH != 0 {
        return Ok(());
    }
    if acc == open::RDONLY || acc == open::RDWR {
        cx.st.fs.access(creds, ino, Access::Read)?;
    }
    if acc == open::WRONLY || acc == open::RDWR || flags & open::TRUNC != 0 {
        cx.st.fs.access(creds, ino, Access::Write)?;
    }
    Ok(())
}

/// `Tlopen`. `O_TRUNC` does not truncate and `O_APPEND` does not redirect writes on any ZeroFS
/// server: the flags are only stored on the fid.
pub(super) fn lopen(cx: &mut Cx<'_>, m: &Tlopen) -> FsResult<Message> {
    let f = cx.fid(m.fid)?;
    if f.open.is_some() {
        return Err(Errno::EBUSY);
    }
    open_checks(cx, &f.creds, f.ino, m.flags)?;
    let qid = cx.st.fs.qid(f.ino)?;
    cx.sess.fid_mut(m.fid)?.open = Some(m.flags);
    Ok(Message::Rlopen(Rlopen {
        qid,
        iounit: cx.iounit(),
    }))
}

/// Clones `fid` to `newfid` and opens `newfid` (shared by Tlopenat and Tlopenatread).
fn open_clone(cx: &mut Cx<'_>, fid: u32, newfid: u32, flags: u32) -> FsResult<Fid> {
    let src = cx.fid(fid)?;
    cx.sess.check_newfid(fid, newfid)?;
    if newfid == fid && src.open.is_some() {
        return Err(Errno::EBUSY);
    }
    open_checks(cx, &src.creds, src.ino, flags)?;
    let opened = Fid {
        open: Some(flags),
        ..src
    };
    cx.sess.fids.insert(newfid, opened.clone());
    Ok(opened)
}

pub(super) fn lopenat(cx: &mut Cx<'_>, m: &Tlopenat) -> FsResult<Message> {
    let f = open_clone(cx, m.fid, m.newfid, m.flags)?;
    Ok(Message::Rlopenat(Rlopen {
        qid: cx.st.fs.qid(f.ino)?,
        iounit: cx.iounit(),
    }))
}

/// `Tlopenatread`: open plus a best-effort read of the start of the file; `eof` when the data
/// is the whole file. A refused read gives empty data with `eof = 0`.
pub(super) fn lopenatread(cx: &mut Cx<'_>, m: &Tlopenatread) -> FsResult<Reply> {
    let f = open_clone(cx, m.fid, m.newfid, m.flags)?;
    let qid = cx.st.fs.qid(f.ino)?;
    let count = m
        .count
        .min(cx.sess.msize.saturating_sub(LOPENATREAD_OVERHEAD));
    let (data, eof) = match f
        .can_read(true)
        .then(|| cx.st.fs.read(&f.creds, f.ino, 0, u64::from(count)))
    {
        Some(Ok(data)) => {
            let size = cx.st.fs.get(f.ino)?.size();
            let eof = data.len() as u64 >= size;
            (data, eof)
        }
        _ => (Payload::default(), false),
    };
    let message = Message::Rlopenatread(Rlopenatread {
        qid,
        iounit: cx.iounit(),
        eof,
        data: Bytes::new(),
    });
    Ok(Reply { message, data })
}

/// Creates the file for Tlcreate/Tlcreateattr. The request's gid is the group the permission
/// check and the new file use (ZeroFS trusts it).
fn create(
    cx: &mut Cx<'_>,
    dir: &Fid,
    name: &[u8],
    flags: u32,
    mode: u32,
    gid: u32,
) -> FsResult<u64> {
    if cx.generation == Generation::Z && flags & open::ACCMODE == open::ACCMODE {
        return Err(Errno::EINVAL);
    }
    let creds = Creds {
        gid,
        ..dir.creds.clone()
    };
    cx.st.fs.create_file(&creds, dir.ino, name, mode, gid)
}

/// `Tlcreate`: the directory fid becomes the new, opened file.
pub(super) fn lcreate(cx: &mut Cx<'_>, m: &Tlcreate) -> FsResult<Message> {
    let d = cx.fid(m.fid)?;
    if d.open.is_some() {
        return Err(Errno::EBUSY);
    }
    let ino = create(cx, &d, &m.name, m.flags, m.mode, m.gid)?;
    let f = cx.sess.fid_mut(m.fid)?;
    f.parent = Some((d.ino, m.name.clone()));
    f.ino = ino;
    f.open = Some(m.flags);
    Ok(Message::Rlcreate(zerofs_9p_proto::Rlcreate {
        qid: cx.st.fs.qid(ino)?,
        iounit: cx.iounit(),
    }))
}

/// `Tlcreateattr`: creates and opens on `newfid`, leaving `dfid` unchanged.
pub(super) fn lcreateattr(cx: &mut Cx<'_>, m: &Tlcreateattr) -> FsResult<Message> {
    let d = cx.fid(m.dfid)?;
    cx.sess.check_newfid(m.dfid, m.newfid)?;
    let ino = create(cx, &d, &m.name, m.flags, m.mode, m.gid)?;
    let parent = Some((d.ino, m.name.clone()));
    cx.sess.fids.insert(
        m.newfid,
        Fid {
            ino,
            parent,
            open: Some(m.flags),
            ..d
        },
    );
    Ok(Message::Rlcreateattr(Rlcreateattr {
        iounit: cx.iounit(),
        stat: cx.st.fs.stat(ino)?,
    }))
}

/// `Txattrwalk` (when configured): `newfid` reads the value of attribute `name` of `fid`'s
/// file, or with an empty name the NUL-terminated attribute names.
pub(super) fn xattrwalk(cx: &mut Cx<'_>, m: &Txattrwalk) -> FsResult<Message> {
    let f = cx.fid(m.fid)?;
    cx.sess.check_newfid(m.fid, m.newfid)?;
    let attrs = cx.st.xattrs.get(&f.ino);
    let value = if m.name.is_empty() {
        let names = attrs.into_iter().flat_map(|a| a.keys());
        let list: Vec<u8> = names.flat_map(|n| n.iter().copied().chain([0])).collect();
        Bytes::from(list)
    } else {
        attrs
            .and_then(|a| a.get(&m.name))
            .cloned()
            .ok_or(Errno::ENODATA)?
    };
    let size = value.len() as u64;
    let fid = Fid {
        open: Some(open::RDONLY),
        xattr: Some(value),
        parent: None,
        ..f
    };
    cx.sess.fids.insert(m.newfid, fid);
    Ok(Message::Rxattrwalk(Rxattrwalk { size }))
}

/// `Tread`: the data goes out as zero-copy pieces of the file (see [`Reply`]).
pub(super) fn read(cx: &mut Cx<'_>, m: &Tread) -> FsResult<Reply> {
    let strict = cx.strict();
    let count = cx.read_count(m.count);
    let f = cx.sess.fid(m.fid)?;
    if let Some(value) = &f.xattr {
        let start = usize::try_from(m.offset).map_or(value.len(), |o| o.min(value.len()));
        let end = start + (value.len() - start).min(count as usize);
        let data = value.slice(start..end);
        return Ok(Message::Rread(Rread { data }).into());
    }
    if !f.can_read(strict) {
        return Err(Errno::EBADF);
    }
    let data = cx.st.fs.read(&f.creds, f.ino, m.offset, u64::from(count))?;
    let message = Message::Rread(Rread { data: Bytes::new() });
    Ok(Reply { message, data })
}

pub(super) fn write(cx: &mut Cx<'_>, m: &Twrite) -> FsResult<Message> {
    let strict = cx.strict();
    let f = cx.sess.fid(m.fid)?;
    if !f.can_write(strict) || f.xattr.is_some() {
        return Err(Errno::EBADF);
    }
    cx.st.fs.write(&f.creds, f.ino, m.offset, &m.data)?;
    Ok(Message::Rwrite(Rwrite {
        count: m.data.len() as u32,
    }))
}

/// One page of Treaddir or Treaddirattr: the fid must be open (for reading on 1.2+); items
/// whose inode is gone are skipped, and the page ends before the first entry that would pass
/// the clamped count. `len` is an entry's wire size for a name length; `entry` builds one from
/// its item and dirent type.
fn page<E>(
    cx: &Cx<'_>,
    m: &Treaddir,
    len: fn(usize) -> usize,
    entry: impl Fn(&Cx<'_>, DirItem, u8) -> FsResult<E>,
) -> FsResult<Vec<E>> {
    let f = cx.fid(m.fid)?;
    if !f.can_read(cx.strict()) {
        return Err(Errno::EBADF);
    }
    let count = cx.read_count(m.count) as usize;
    let items = cx.st.fs.readdir(&f.creds, f.ino, m.offset, READDIR_BATCH)?;
    let mut entries = Vec::new();
    let mut used = 0;
    for item in items {
        let Ok(node) = cx.st.fs.get(item.ino) else {
            continue;
        };
        let ty = node.kind.dirent_type();
        let len = len(item.name.len());
        if used + len > count {
            break;
        }
        used += len;
        entries.push(entry(cx, item, ty)?);
    }
    Ok(entries)
}

pub(super) fn readdir(cx: &mut Cx<'_>, m: &Treaddir) -> FsResult<Message> {
    let entries = page(cx, m, DirEntry::len_for_name, |cx, item, ty| {
        Ok(DirEntry {
            qid: cx.st.fs.qid(item.ino)?,
            offset: item.cookie,
            ty,
            name: item.name,
        })
    })?;
    Ok(Message::Rreaddir(Rreaddir { entries }))
}

pub(super) fn readdirattr(cx: &mut Cx<'_>, m: &Treaddir) -> FsResult<Message> {
    let entries = page(cx, m, DirEntryPlus::len_for_name, |cx, item, ty| {
        let stat = cx.st.fs.stat(item.ino)?;
        Ok(DirEntryPlus {
            qid: stat.qid,
            offset: item.cookie,
            ty,
            name: item.name,
            stat,
        })
    })?;
    Ok(Message::Rreaddirattr(Rreaddirattr { entries }))
}

/// `Tfsyncdur`: bits beyond DATASYNC|INODE are `EINVAL`; a token that is not the live lineage
/// (and not 0) is `ESTALE`.
pub(super) fn fsyncdur(cx: &mut Cx<'_>, m: &Tfsyncdur) -> FsResult<Message> {
    cx.fid(m.fid)?;
    if m.datasync & !(fsyncdur::DATASYNC | fsyncdur::INODE) != 0 {
        return Err(Errno::EINVAL);
    }
    if m.token != 0 && m.token != cx.st.lineage {
        return Err(Errno::ESTALE);
    }
    Ok(Message::Rfsync)
}

pub(super) fn fallocate(cx: &mut Cx<'_>, m: &Tfallocate) -> FsResult<Message> {
    let f = cx.fid(m.fid)?;
    if !f.can_write(true) {
        return Err(Errno::EBADF);
    }
    cx.st.fs.fallocate(f.ino, m.offset, m.length, m.mode)?;
    Ok(Message::Rfallocate)
}

pub(super) fn lock(cx: &mut Cx<'_>, m: &Tlock) -> FsResult<Message> {
    let f = cx.fid(m.fid)?;
    cx.st.fs.get(f.ino)?;
    let status = if m.ty == LockType::Unlock {
        cx.st
            .fs
            .locks
            .unlock(cx.conn, m.fid, f.ino, m.start, m.length);
        LockStatus::Success
    } else {
        let lock = Lock {
            session: cx.conn,
            fid: m.fid,
            ino: f.ino,
            ty: m.ty,
            start: m.start,
            length: m.length,
            proc_id: m.proc_id,
            client_id: m.client_id.clone(),
        };
        if cx.st.fs.locks.try_lock(lock) {
            LockStatus::Success
        } else if m.flags & lock_flags::BLOCK != 0 {
            LockStatus::Blocked
        } else {
            return Err(Errno::EAGAIN);
        }
    };
    Ok(Message::Rlock(Rlock { status }))
}

pub(super) fn getlock(cx: &mut Cx<'_>, m: &Tgetlock) -> FsResult<Message> {
    let f = cx.fid(m.fid)?;
    let reply = match cx
        .st
        .fs
        .locks
        .conflict(cx.conn, f.ino, m.ty, m.start, m.length)
    {
        Some(l) => Rgetlock {
            ty: l.ty,
            start: l.start,
            length: l.length,
            proc_id: l.proc_id,
            client_id: l.client_id.clone(),
        },
        None => Rgetlock {
            ty: LockType::Unlock,
            start: m.start,
            length: m.length,
            proc_id: 0,
            client_id: Bytes::new(),
        },
    };
    Ok(Message::Rgetlock(reply))
}
