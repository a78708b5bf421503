//! `shared_records!`: conversions of the records (qids, stats, entries, walk lists, lock types,
//! the bodies several messages share) whose types have the same names and fields in
//! ninep-proto 0.1.2 and 0.4.0.

/// Defines, for the crate `$v` whose payload wrapper is `$v::$payload`: `s_back`, `data_back`,
/// `qid`/`qid_back`, `qids`/`qids_back`, `names`/`names_back`, `stat`/`stat_back`,
/// `lock_type`/`lock_type_back`, the `tsetattr`, `tmkdir`, `tsymlink`, `tmknod` and `tlink`
/// bodies and `dirent`/`dirent_plus` (each with its `_back`). Every `_back` refuses a stored
/// count that disagrees with the length. The caller's module defines what differs per version
/// (the string and payload constructors `s` and `data`) and has
/// `use bytes::Bytes; use zerofs_9p_proto::*`.
macro_rules! shared_records {
    ($v:ident; payload = $payload:ident) => {
        fn s_back(s: $v::P9String) -> Result<Bytes, String> {
            crate::shared::checked_string(s.len, s.data)
        }

        fn data_back(count: u32, d: $v::$payload) -> Result<Bytes, String> {
            if count as usize != d.0.len() {
                return Err(format!("count {count} for {} bytes", d.0.len()));
            }
            Ok(d.0)
        }

        fn qid(q: &Qid) -> $v::Qid {
            $v::Qid {
                type_: q.ty.0,
                version: q.version,
                path: q.path,
            }
        }

        fn qid_back(q: &$v::Qid) -> Qid {
            Qid {
                ty: QidType(q.type_),
                version: q.version,
                path: q.path,
            }
        }

        fn qids(qs: &[Qid]) -> (u16, Vec<$v::Qid>) {
            (qs.len() as u16, qs.iter().map(qid).collect())
        }

        fn qids_back(n: u16, qs: &[$v::Qid]) -> Result<Vec<Qid>, String> {
            if usize::from(n) != qs.len() {
                return Err(format!("nwqid {n} for {} qids", qs.len()));
            }
            Ok(qs.iter().map(qid_back).collect())
        }

        fn names(ns: &[Bytes]) -> (u16, Vec<$v::P9String>) {
            (ns.len() as u16, ns.iter().map(s).collect())
        }

        fn names_back(n: u16, ns: Vec<$v::P9String>) -> Result<Vec<Bytes>, String> {
            if usize::from(n) != ns.len() {
                return Err(format!("nwname {n} for {} names", ns.len()));
            }
            ns.into_iter().map(s_back).collect()
        }

        fn stat(st: &Stat) -> $v::Stat {
            $v::Stat {
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

        fn stat_back(st: &$v::Stat) -> Stat {
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

        fn lock_type(t: LockType) -> $v::LockType {
            match t {
                LockType::Read => $v::LockType::ReadLock,
                LockType::Write => $v::LockType::WriteLock,
                LockType::Unlock => $v::LockType::Unlock,
            }
        }

        fn lock_type_back(t: $v::LockType) -> LockType {
            match t {
                $v::LockType::ReadLock => LockType::Read,
                $v::LockType::WriteLock => LockType::Write,
                $v::LockType::Unlock => LockType::Unlock,
            }
        }

        fn tsetattr(m: &Tsetattr) -> $v::Tsetattr {
            $v::Tsetattr {
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

        fn tsetattr_back(m: $v::Tsetattr) -> Tsetattr {
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

        fn tmkdir(m: &Tmkdir) -> $v::Tmkdir {
            $v::Tmkdir {
                dfid: m.dfid,
                name: s(&m.name),
                mode: m.mode,
                gid: m.gid,
            }
        }

        fn tmkdir_back(m: $v::Tmkdir) -> Result<Tmkdir, String> {
            Ok(Tmkdir {
                dfid: m.dfid,
                name: s_back(m.name)?,
                mode: m.mode,
                gid: m.gid,
            })
        }

        fn tsymlink(m: &Tsymlink) -> $v::Tsymlink {
            $v::Tsymlink {
                dfid: m.dfid,
                name: s(&m.name),
                symtgt: s(&m.symtgt),
                gid: m.gid,
            }
        }

        fn tsymlink_back(m: $v::Tsymlink) -> Result<Tsymlink, String> {
            Ok(Tsymlink {
                dfid: m.dfid,
                name: s_back(m.name)?,
                symtgt: s_back(m.symtgt)?,
                gid: m.gid,
            })
        }

        fn tmknod(m: &Tmknod) -> $v::Tmknod {
            $v::Tmknod {
                dfid: m.dfid,
                name: s(&m.name),
                mode: m.mode,
                major: m.major,
                minor: m.minor,
                gid: m.gid,
            }
        }

        fn tmknod_back(m: $v::Tmknod) -> Result<Tmknod, String> {
            Ok(Tmknod {
                dfid: m.dfid,
                name: s_back(m.name)?,
                mode: m.mode,
                major: m.major,
                minor: m.minor,
                gid: m.gid,
            })
        }

        fn tlink(m: &Tlink) -> $v::Tlink {
            $v::Tlink {
                dfid: m.dfid,
                fid: m.fid,
                name: s(&m.name),
            }
        }

        fn tlink_back(m: $v::Tlink) -> Result<Tlink, String> {
            Ok(Tlink {
                dfid: m.dfid,
                fid: m.fid,
                name: s_back(m.name)?,
            })
        }

        fn dirent(e: &DirEntry) -> $v::DirEntry {
            $v::DirEntry {
                qid: qid(&e.qid),
                offset: e.offset,
                type_: e.ty,
                name: s(&e.name),
            }
        }

        fn dirent_back(e: $v::DirEntry) -> Result<DirEntry, String> {
            Ok(DirEntry {
                qid: qid_back(&e.qid),
                offset: e.offset,
                ty: e.type_,
                name: s_back(e.name)?,
            })
        }

        fn dirent_plus(e: &DirEntryPlus) -> $v::DirEntryPlus {
            $v::DirEntryPlus {
                qid: qid(&e.qid),
                offset: e.offset,
                type_: e.ty,
                name: s(&e.name),
                stat: stat(&e.stat),
            }
        }

        fn dirent_plus_back(e: $v::DirEntryPlus) -> Result<DirEntryPlus, String> {
            Ok(DirEntryPlus {
                qid: qid_back(&e.qid),
                offset: e.offset,
                ty: e.type_,
                name: s_back(e.name)?,
                stat: stat_back(&e.stat),
            })
        }
    };
}
