//! Conversions of shared records (strings, payloads, qids, stats, entries, common bodies)
//! between our types and ninep_proto_04's.

use bytes::Bytes;
use ninep_proto_04 as v4;
use zerofs_9p_proto::*;

pub(super) fn s(b: &Bytes) -> v4::P9String {
    v4::P9String::new(b.clone())
}

pub(super) fn s_back(s: v4::P9String) -> Result<Bytes, String> {
    if usize::from(s.len) != s.data.len() {
        return Err(format!("string len {} for {} bytes", s.len, s.data.len()));
    }
    Ok(s.data)
}

pub(super) fn data(b: &Bytes) -> v4::P9Bytes {
    v4::WireBytes(b.clone())
}

pub(super) fn data_back(count: u32, d: v4::P9Bytes) -> Result<Bytes, String> {
    if count as usize != d.0.len() {
        return Err(format!("count {count} for {} bytes", d.0.len()));
    }
    Ok(d.0)
}

pub(super) fn qid(q: &Qid) -> v4::Qid {
    v4::Qid {
        type_: q.ty.0,
        version: q.version,
        path: q.path,
    }
}

pub(super) fn qid_back(q: &v4::Qid) -> Qid {
    Qid {
        ty: QidType(q.type_),
        version: q.version,
        path: q.path,
    }
}

pub(super) fn qids(qs: &[Qid]) -> (u16, Vec<v4::Qid>) {
    (qs.len() as u16, qs.iter().map(qid).collect())
}

pub(super) fn qids_back(n: u16, qs: &[v4::Qid]) -> Result<Vec<Qid>, String> {
    if usize::from(n) != qs.len() {
        return Err(format!("nwqid {n} for {} qids", qs.len()));
    }
    Ok(qs.iter().map(qid_back).collect())
}

pub(super) fn names(ns: &[Bytes]) -> (u16, Vec<v4::P9String>) {
    (ns.len() as u16, ns.iter().map(s).collect())
}

pub(super) fn names_back(n: u16, ns: Vec<v4::P9String>) -> Result<Vec<Bytes>, String> {
    if usize::from(n) != ns.len() {
        return Err(format!("nwname {n} for {} names", ns.len()));
    }
    ns.into_iter().map(s_back).collect()
}

pub(super) fn stat(st: &Stat) -> v4::Stat {
    v4::Stat {
        qid: qid(&st.qid),
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
        nlink: st.nlink,
        rdev: st.rdev,
        size: st.size,
        blksize: st.blksize,
        blocks: st.blocks,
        atime_sec: st.atime_sec,
        atime_nsec: st.atime_nsec,
        mtime_sec: st.mtime_sec,
        mtime_nsec: st.mtime_nsec,
        ctime_sec: st.ctime_sec,
        ctime_nsec: st.ctime_nsec,
        btime_sec: st.btime_sec,
        btime_nsec: st.btime_nsec,
        r#gen: st.generation,
        data_version: st.data_version,
    }
}

pub(super) fn stat_back(st: &v4::Stat) -> Stat {
    Stat {
        qid: qid_back(&st.qid),
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
        nlink: st.nlink,
        rdev: st.rdev,
        size: st.size,
        blksize: st.blksize,
        blocks: st.blocks,
        atime_sec: st.atime_sec,
        atime_nsec: st.atime_nsec,
        mtime_sec: st.mtime_sec,
        mtime_nsec: st.mtime_nsec,
        ctime_sec: st.ctime_sec,
        ctime_nsec: st.ctime_nsec,
        btime_sec: st.btime_sec,
        btime_nsec: st.btime_nsec,
        generation: st.r#gen,
        data_version: st.data_version,
    }
}

pub(super) fn lock_type(t: LockType) -> v4::LockType {
    match t {
        LockType::Read => v4::LockType::ReadLock,
        LockType::Write => v4::LockType::WriteLock,
        LockType::Unlock => v4::LockType::Unlock,
    }
}

pub(super) fn lock_type_back(t: v4::LockType) -> LockType {
    match t {
        v4::LockType::ReadLock => LockType::Read,
        v4::LockType::WriteLock => LockType::Write,
        v4::LockType::Unlock => LockType::Unlock,
    }
}

pub(super) fn tsetattr(m: &Tsetattr) -> v4::Tsetattr {
    v4::Tsetattr {
        fid: m.fid,
        valid: m.valid,
        mode: m.mode,
        uid: m.uid,
        gid: m.gid,
        size: m.size,
        atime_sec: m.atime_sec,
        atime_nsec: m.atime_nsec,
        mtime_sec: m.mtime_sec,
        mtime_nsec: m.mtime_nsec,
    }
}

pub(super) fn tsetattr_back(m: v4::Tsetattr) -> Tsetattr {
    Tsetattr {
        fid: m.fid,
        valid: m.valid,
        mode: m.mode,
        uid: m.uid,
        gid: m.gid,
        size: m.size,
        atime_sec: m.atime_sec,
        atime_nsec: m.atime_nsec,
        mtime_sec: m.mtime_sec,
        mtime_nsec: m.mtime_nsec,
    }
}

pub(super) fn tmkdir(m: &Tmkdir) -> v4::Tmkdir {
    v4::Tmkdir {
        dfid: m.dfid,
        name: s(&m.name),
        mode: m.mode,
        gid: m.gid,
    }
}

pub(super) fn tmkdir_back(m: v4::Tmkdir) -> Result<Tmkdir, String> {
    Ok(Tmkdir {
        dfid: m.dfid,
        name: s_back(m.name)?,
        mode: m.mode,
        gid: m.gid,
    })
}

pub(super) fn tsymlink(m: &Tsymlink) -> v4::Tsymlink {
    v4::Tsymlink {
        dfid: m.dfid,
        name: s(&m.name),
        symtgt: s(&m.symtgt),
        gid: m.gid,
    }
}

pub(super) fn tsymlink_back(m: v4::Tsymlink) -> Result<Tsymlink, String> {
    Ok(Tsymlink {
        dfid: m.dfid,
        name: s_back(m.name)?,
        symtgt: s_back(m.symtgt)?,
        gid: m.gid,
    })
}

pub(super) fn tmknod(m: &Tmknod) -> v4::Tmknod {
    v4::Tmknod {
        dfid: m.dfid,
        name: s(&m.name),
        mode: m.mode,
        major: m.major,
        minor: m.minor,
        gid: m.gid,
    }
}

pub(super) fn tmknod_back(m: v4::Tmknod) -> Result<Tmknod, String> {
    Ok(Tmknod {
        dfid: m.dfid,
        name: s_back(m.name)?,
        mode: m.mode,
        major: m.major,
        minor: m.minor,
        gid: m.gid,
    })
}

pub(super) fn tlink(m: &Tlink) -> v4::Tlink {
    v4::Tlink {
        dfid: m.dfid,
        fid: m.fid,
        name: s(&m.name),
    }
}

pub(super) fn tlink_back(m: v4::Tlink) -> Result<Tlink, String> {
    Ok(Tlink {
        dfid: m.dfid,
        fid: m.fid,
        name: s_back(m.name)?,
    })
}

pub(super) fn dirent(e: &DirEntry) -> v4::DirEntry {
    v4::DirEntry {
        qid: qid(&e.qid),
        offset: e.offset,
        type_: e.ty,
        name: s(&e.name),
    }
}

pub(super) fn dirent_back(e: v4::DirEntry) -> Result<DirEntry, String> {
    Ok(DirEntry {
        qid: qid_back(&e.qid),
        offset: e.offset,
        ty: e.type_,
        name: s_back(e.name)?,
    })
}

pub(super) fn dirent_plus(e: &DirEntryPlus) -> v4::DirEntryPlus {
    v4::DirEntryPlus {
        qid: qid(&e.qid),
        offset: e.offset,
        type_: e.ty,
        name: s(&e.name),
        stat: stat(&e.stat),
    }
}

pub(super) fn dirent_plus_back(e: v4::DirEntryPlus) -> Result<DirEntryPlus, String> {
    Ok(DirEntryPlus {
        qid: qid_back(&e.qid),
        offset: e.offset,
        ty: e.type_,
        name: s_back(e.name)?,
        stat: stat_back(&e.stat),
    })
}

pub(super) fn envelope(e: &Envelope) -> v4::MutationEnvelope {
    v4::MutationEnvelope {
        op_id: e.op_id.0,
        flags: e.flags,
        origin_writer_epoch: e.origin_epoch,
    }
}
