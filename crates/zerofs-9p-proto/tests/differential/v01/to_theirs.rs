//! Our messages as ninep_proto_01 builds them.

use ninep_proto_01 as v1;
use zerofs_9p_proto::*;

use super::records::*;

/// Our message as 0.1.2 builds it, or `None` where 0.1.2 has no such message or layout.
/// Counts are always set from the lengths (0.1.2 writes stored counts verbatim).
pub fn to_theirs(m: &Message) -> Option<v1::Message> {
    use Message as M;
    use v1::Message as V;
    Some(match m {
        M::Rlerror(m) => V::Rlerror(v1::Rlerror { ecode: m.ecode }),
        M::Tstatfs(m) => V::Tstatfs(v1::Tstatfs { fid: m.fid }),
        M::Rstatfs(m) => V::Rstatfs(v1::Rstatfs {
            r#type: m.ty,
            bsize: m.bsize,
            blocks: m.blocks,
            bfree: m.bfree,
            bavail: m.bavail,
            files: m.files,
            ffree: m.ffree,
            fsid: m.fsid,
            namelen: m.namelen,
        }),
        M::Tlopen(m) => V::Tlopen(v1::Tlopen {
            fid: m.fid,
            flags: m.flags,
        }),
        M::Rlopen(m) => V::Rlopen(v1::Rlopen {
            qid: qid(&m.qid),
            iounit: m.iounit,
        }),
        M::Tlcreate(m) => V::Tlcreate(v1::Tlcreate {
            fid: m.fid,
            name: s(&m.name),
            flags: m.flags,
            mode: m.mode,
            gid: m.gid,
        }),
        M::Rlcreate(m) => V::Rlcreate(v1::Rlcreate {
            qid: qid(&m.qid),
            iounit: m.iounit,
        }),
        M::Tsymlink(m) => V::Tsymlink(tsymlink(m)),
        M::Rsymlink(m) => V::Rsymlink(v1::Rsymlink { qid: qid(&m.qid) }),
        M::Tmknod(m) => V::Tmknod(tmknod(m)),
        M::Rmknod(m) => V::Rmknod(v1::Rmknod { qid: qid(&m.qid) }),
        M::Trename(m) => V::Trename(v1::Trename {
            fid: m.fid,
            dfid: m.dfid,
            name: s(&m.name),
        }),
        M::Rrename => V::Rrename(v1::Rrename),
        M::Treadlink(m) => V::Treadlink(v1::Treadlink { fid: m.fid }),
        M::Rreadlink(m) => V::Rreadlink(v1::Rreadlink {
            target: s(&m.target),
        }),
        M::Tgetattr(m) => V::Tgetattr(v1::Tgetattr {
            fid: m.fid,
            request_mask: m.request_mask,
        }),
        M::Rgetattr(m) => V::Rgetattr(v1::Rgetattr {
            valid: m.valid,
            stat: stat(&m.stat),
        }),
        M::Tsetattr(m) => V::Tsetattr(tsetattr(m)),
        M::Rsetattr => V::Rsetattr(v1::Rsetattr),
        M::Txattrwalk(m) => V::Txattrwalk(v1::Txattrwalk {
            fid: m.fid,
            newfid: m.newfid,
            name: s(&m.name),
        }),
        M::Rxattrwalk(m) => V::Rxattrwalk(v1::Rxattrwalk { size: m.size }),
        M::Treaddir(m) => V::Treaddir(v1::Treaddir {
            fid: m.fid,
            offset: m.offset,
            count: m.count,
        }),
        M::Rreaddir(m) => {
            V::Rreaddir(v1::Rreaddir::from_entries(m.entries.iter().map(dirent).collect()).ok()?)
        }
        M::Tfsync(m) => V::Tfsync(v1::Tfsync {
            fid: m.fid,
            datasync: m.datasync,
        }),
        M::Rfsync => V::Rfsync(v1::Rfsync),
        M::Tlock(m) => V::Tlock(v1::Tlock {
            fid: m.fid,
            lock_type: lock_type(m.ty),
            flags: m.flags,
            start: m.start,
            length: m.length,
            proc_id: m.proc_id,
            client_id: s(&m.client_id),
        }),
        M::Rlock(m) => V::Rlock(v1::Rlock {
            status: lock_status(m.status),
        }),
        M::Tgetlock(m) => V::Tgetlock(v1::Tgetlock {
            fid: m.fid,
            lock_type: lock_type(m.ty),
            start: m.start,
            length: m.length,
            proc_id: m.proc_id,
            client_id: s(&m.client_id),
        }),
        M::Rgetlock(m) => V::Rgetlock(v1::Rgetlock {
            lock_type: lock_type(m.ty),
            start: m.start,
            length: m.length,
            proc_id: m.proc_id,
            client_id: s(&m.client_id),
        }),
        M::Tlink(m) => V::Tlink(tlink(m)),
        M::Rlink => V::Rlink(v1::Rlink),
        M::Tmkdir(m) => V::Tmkdir(tmkdir(m)),
        M::Rmkdir(m) => V::Rmkdir(v1::Rmkdir { qid: qid(&m.qid) }),
        M::Trenameat(m) => V::Trenameat(v1::Trenameat {
            olddirfid: m.olddirfid,
            oldname: s(&m.oldname),
            newdirfid: m.newdirfid,
            newname: s(&m.newname),
        }),
        M::Rrenameat => V::Rrenameat(v1::Rrenameat),
        M::Tunlinkat(m) => V::Tunlinkat(v1::Tunlinkat {
            dirfid: m.dirfid,
            name: s(&m.name),
            flags: m.flags,
        }),
        M::Runlinkat => V::Runlinkat(v1::Runlinkat),
        M::Tversion(m) => V::Tversion(v1::Tversion {
            msize: m.msize,
            version: s(&m.version),
        }),
        M::Rversion(m) => V::Rversion(v1::Rversion {
            msize: m.msize,
            version: s(&m.version),
        }),
        M::Tattach(m) => V::Tattach(v1::Tattach {
            fid: m.fid,
            afid: m.afid,
            uname: s(&m.uname),
            aname: s(&m.aname),
            n_uname: m.n_uname,
        }),
        M::Rattach(m) => V::Rattach(v1::Rattach { qid: qid(&m.qid) }),
        M::Tflush(m) => V::Tflush(v1::Tflush { oldtag: m.oldtag }),
        M::Rflush => V::Rflush(v1::Rflush),
        M::Twalk(m) => {
            let (nwname, wnames) = names(&m.wnames);
            V::Twalk(v1::Twalk {
                fid: m.fid,
                newfid: m.newfid,
                nwname,
                wnames,
            })
        }
        M::Rwalk(m) => {
            let (nwqid, wqids) = qids(&m.wqids);
            V::Rwalk(v1::Rwalk { nwqid, wqids })
        }
        M::Tread(m) => V::Tread(v1::Tread {
            fid: m.fid,
            offset: m.offset,
            count: m.count,
        }),
        M::Rread(m) => V::Rread(v1::Rread {
            count: m.data.len() as u32,
            data: data(&m.data),
        }),
        M::Twrite(m) => V::Twrite(v1::Twrite {
            fid: m.fid,
            offset: m.offset,
            count: m.data.len() as u32,
            data: data(&m.data),
        }),
        M::Rwrite(m) => V::Rwrite(v1::Rwrite { count: m.count }),
        M::Tclunk(m) => V::Tclunk(v1::Tclunk { fid: m.fid }),
        M::Rclunk => V::Rclunk(v1::Rclunk),
        M::Tfsyncdur(m) => V::Tfsyncdur(v1::Tfsyncdur {
            fid: m.fid,
            datasync: m.datasync,
            token: m.token,
        }),
        M::Tgetlineage => V::Tgetlineage(v1::Tgetlineage),
        M::Tlopenat(m) => V::Tlopenat(v1::Tlopenat {
            fid: m.fid,
            newfid: m.newfid,
            flags: m.flags,
        }),
        M::Rlopenat(m) => V::Rlopenat(v1::Rlopenat {
            qid: qid(&m.qid),
            iounit: m.iounit,
        }),
        M::Tlcreateattr(m) => V::Tlcreateattr(v1::Tlcreateattr {
            dfid: m.dfid,
            newfid: m.newfid,
            name: s(&m.name),
            flags: m.flags,
            mode: m.mode,
            gid: m.gid,
        }),
        M::Rlcreateattr(m) => V::Rlcreateattr(v1::Rlcreateattr {
            iounit: m.iounit,
            stat: stat(&m.stat),
        }),
        M::Tmkdirattr(m) => V::Tmkdirattr(tmkdir(m)),
        M::Rmkdirattr(m) => V::Rmkdirattr(v1::Rmkdirattr {
            stat: stat(&m.stat),
        }),
        M::Tsymlinkattr(m) => V::Tsymlinkattr(tsymlink(m)),
        M::Rsymlinkattr(m) => V::Rsymlinkattr(v1::Rsymlinkattr {
            stat: stat(&m.stat),
        }),
        M::Tmknodattr(m) => V::Tmknodattr(tmknod(m)),
        M::Rmknodattr(m) => V::Rmknodattr(v1::Rmknodattr {
            stat: stat(&m.stat),
        }),
        M::Tlinkattr(m) => V::Tlinkattr(tlink(m)),
        M::Rlinkattr(m) => V::Rlinkattr(v1::Rlinkattr {
            stat: stat(&m.stat),
        }),
        M::Tsetattrattr(m) => V::Tsetattrattr(tsetattr(m)),
        M::Rsetattrattr(m) => V::Rsetattrattr(v1::Rsetattrattr {
            stat: stat(&m.stat),
        }),
        M::Trebind(m) => V::Trebind(v1::Trebind {
            fid: m.fid,
            inode_id: m.inode_id,
            n_uname: m.n_uname,
        }),
        M::Rrebind(m) => V::Rrebind(v1::Rrebind { qid: qid(&m.qid) }),
        M::Twalkgetattr(m) => {
            let (nwname, wnames) = names(&m.wnames);
            V::Twalkgetattr(v1::Twalkgetattr {
                fid: m.fid,
                newfid: m.newfid,
                nwname,
                wnames,
            })
        }
        M::Rwalkgetattr(m) => {
            let (nwqid, wqids) = qids(&m.wqids);
            V::Rwalkgetattr(v1::Rwalkgetattr {
                nwqid,
                wqids,
                stat: stat(&m.stat),
            })
        }
        M::Treaddirattr(m) => V::Treaddirattr(v1::Treaddirattr {
            fid: m.fid,
            offset: m.offset,
            count: m.count,
        }),
        M::Rreaddirattr(m) => V::Rreaddirattr(
            v1::Rreaddirattr::from_entries(m.entries.iter().map(dirent_plus).collect()).ok()?,
        ),
        // Not in 0.1.2 (see the module docs).
        M::Tauth(_)
        | M::Rauth(_)
        | M::Txattrcreate(_)
        | M::Rxattrcreate
        | M::Tremove(_)
        | M::Rremove
        | M::Tfallocate(_)
        | M::Rfallocate
        | M::Tlopenatread(_)
        | M::Rlopenatread(_)
        | M::Rgetlineage(_)
        | M::TrebindZ(_) => return None,
    })
}
