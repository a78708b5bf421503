//! Our messages as ninep_proto_04 builds them.

use ninep_proto_04 as v4;
use zerofs_9p_proto::*;

use super::records::*;

/// Our message as 0.4.0 builds it, or `None` where 0.4.0 has no such message or layout.
/// Counts are always set from the lengths (0.4.0 writes stored counts verbatim).
pub fn to_theirs(m: &Message) -> Option<v4::Message> {
    use Message as M;
    use v4::Message as V;
    Some(match m {
        M::Rlerror(m) => V::Rlerror(v4::Rlerror { ecode: m.ecode }),
        M::Tstatfs(m) => V::Tstatfs(v4::Tstatfs { fid: m.fid }),
        M::Rstatfs(m) => V::Rstatfs(v4::Rstatfs {
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
        M::Tlopen(m) => V::Tlopen(v4::Tlopen {
            fid: m.fid,
            flags: m.flags,
        }),
        M::Rlopen(m) => V::Rlopen(v4::Rlopen {
            qid: qid(&m.qid),
            iounit: m.iounit,
        }),
        M::Tlcreate(m) => V::Tlcreate(v4::Tlcreate {
            fid: m.fid,
            name: s(&m.name),
            flags: m.flags,
            mode: m.mode,
            gid: m.gid,
        }),
        M::Rlcreate(m) => V::Rlcreate(v4::Rlcreate {
            qid: qid(&m.qid),
            iounit: m.iounit,
        }),
        M::Tsymlink(m) => V::Tsymlink(tsymlink(m)),
        M::Rsymlink(m) => V::Rsymlink(v4::Rsymlink { qid: qid(&m.qid) }),
        M::Tmknod(m) => V::Tmknod(tmknod(m)),
        M::Rmknod(m) => V::Rmknod(v4::Rmknod { qid: qid(&m.qid) }),
        M::Trename(m) => V::Trename(v4::Trename {
            fid: m.fid,
            dfid: m.dfid,
            name: s(&m.name),
        }),
        M::Rrename => V::Rrename(v4::Rrename),
        M::Treadlink(m) => V::Treadlink(v4::Treadlink { fid: m.fid }),
        M::Rreadlink(m) => V::Rreadlink(v4::Rreadlink {
            target: s(&m.target),
        }),
        M::Tgetattr(m) => V::Tgetattr(v4::Tgetattr {
            fid: m.fid,
            request_mask: m.request_mask,
        }),
        M::Rgetattr(m) => V::Rgetattr(v4::Rgetattr {
            valid: m.valid,
            stat: stat(&m.stat),
        }),
        M::Tsetattr(m) => V::Tsetattr(tsetattr(m)),
        M::Rsetattr => V::Rsetattr(v4::Rsetattr),
        M::Txattrwalk(m) => V::Txattrwalk(v4::Txattrwalk {
            fid: m.fid,
            newfid: m.newfid,
            name: s(&m.name),
        }),
        M::Rxattrwalk(m) => V::Rxattrwalk(v4::Rxattrwalk { size: m.size }),
        M::Treaddir(m) => V::Treaddir(v4::Treaddir {
            fid: m.fid,
            offset: m.offset,
            count: m.count,
        }),
        M::Rreaddir(m) => {
            V::Rreaddir(v4::Rreaddir::from_entries(m.entries.iter().map(dirent).collect()).ok()?)
        }
        M::Tfsync(m) => V::Tfsync(v4::Tfsync {
            fid: m.fid,
            datasync: m.datasync,
        }),
        M::Rfsync => V::Rfsync(v4::Rfsync),
        M::Tlock(m) => V::Tlock(v4::Tlock {
            fid: m.fid,
            lock_type: lock_type(m.ty),
            flags: m.flags,
            start: m.start,
            length: m.length,
            proc_id: m.proc_id,
            client_id: s(&m.client_id),
        }),
        M::Rlock(m) => V::Rlock(v4::Rlock {
            status: u8::from(m.status),
        }),
        M::Tgetlock(m) => V::Tgetlock(v4::Tgetlock {
            fid: m.fid,
            lock_type: lock_type(m.ty),
            start: m.start,
            length: m.length,
            proc_id: m.proc_id,
            client_id: s(&m.client_id),
        }),
        M::Rgetlock(m) => V::Rgetlock(v4::Rgetlock {
            lock_type: lock_type(m.ty),
            start: m.start,
            length: m.length,
            proc_id: m.proc_id,
            client_id: s(&m.client_id),
        }),
        M::Tlink(m) => V::Tlink(tlink(m)),
        M::Rlink => V::Rlink(v4::Rlink),
        M::Tmkdir(m) => V::Tmkdir(tmkdir(m)),
        M::Rmkdir(m) => V::Rmkdir(v4::Rmkdir { qid: qid(&m.qid) }),
        M::Trenameat(m) => V::Trenameat(v4::Trenameat {
            olddirfid: m.olddirfid,
            oldname: s(&m.oldname),
            newdirfid: m.newdirfid,
            newname: s(&m.newname),
        }),
        M::Rrenameat => V::Rrenameat(v4::Rrenameat),
        M::Tunlinkat(m) => V::Tunlinkat(v4::Tunlinkat {
            dirfid: m.dirfid,
            name: s(&m.name),
            flags: m.flags,
        }),
        M::Runlinkat => V::Runlinkat(v4::Runlinkat),
        M::Tversion(m) => V::Tversion(v4::Tversion {
            msize: m.msize,
            version: s(&m.version),
        }),
        M::Rversion(m) => V::Rversion(v4::Rversion {
            msize: m.msize,
            version: s(&m.version),
        }),
        M::Tattach(m) => V::Tattach(v4::Tattach {
            fid: m.fid,
            afid: m.afid,
            uname: s(&m.uname),
            aname: s(&m.aname),
            n_uname: m.n_uname,
        }),
        M::Rattach(m) => V::Rattach(v4::Rattach { qid: qid(&m.qid) }),
        M::Tflush(m) => V::Tflush(v4::Tflush { oldtag: m.oldtag }),
        M::Rflush => V::Rflush(v4::Rflush),
        M::Twalk(m) => {
            let (nwname, wnames) = names(&m.wnames);
            V::Twalk(v4::Twalk {
                fid: m.fid,
                newfid: m.newfid,
                nwname,
                wnames,
            })
        }
        M::Rwalk(m) => {
            let (nwqid, wqids) = qids(&m.wqids);
            V::Rwalk(v4::Rwalk { nwqid, wqids })
        }
        M::Tread(m) => V::Tread(v4::Tread {
            fid: m.fid,
            offset: m.offset,
            count: m.count,
        }),
        M::Rread(m) => V::Rread(v4::Rread {
            count: m.data.len() as u32,
            data: data(&m.data),
        }),
        M::Twrite(m) => V::Twrite(v4::Twrite {
            fid: m.fid,
            offset: m.offset,
            count: m.data.len() as u32,
            data: data(&m.data),
        }),
        M::Rwrite(m) => V::Rwrite(v4::Rwrite { count: m.count }),
        M::Tclunk(m) => V::Tclunk(v4::Tclunk { fid: m.fid }),
        M::Rclunk => V::Rclunk(v4::Rclunk),
        M::Tfsyncdur(m) => V::Tfsyncdur(v4::Tfsyncdur {
            fid: m.fid,
            datasync: m.datasync,
            token: m.token,
        }),
        M::Tgetlineage => V::Tgetlineage(v4::Tgetlineage),
        M::Rgetlineage(m) => V::Rgetlineage(v4::Rgetlineage {
            token: m.token,
            writer_epoch: m.writer_epoch,
        }),
        M::Tfallocate(m) => V::Tfallocate(v4::Tfallocate {
            fid: m.fid,
            offset: m.offset,
            length: m.length,
            mode: m.mode,
        }),
        M::Rfallocate => V::Rfallocate(v4::Rfallocate),
        M::Tlopenatread(m) => V::Tlopenatread(v4::Tlopenatread {
            fid: m.fid,
            newfid: m.newfid,
            flags: m.flags,
            count: m.count,
        }),
        M::Rlopenatread(m) => V::Rlopenatread(v4::Rlopenatread {
            qid: qid(&m.qid),
            iounit: m.iounit,
            eof: u8::from(m.eof),
            count: m.data.len() as u32,
            data: data(&m.data),
        }),
        M::Tlopenat(m) => V::Tlopenat(v4::Tlopenat {
            fid: m.fid,
            newfid: m.newfid,
            flags: m.flags,
        }),
        M::Rlopenat(m) => V::Rlopenat(v4::Rlopenat {
            qid: qid(&m.qid),
            iounit: m.iounit,
        }),
        M::Tlcreateattr(m) => V::Tlcreateattr(v4::Tlcreateattr {
            dfid: m.dfid,
            newfid: m.newfid,
            name: s(&m.name),
            flags: m.flags,
            mode: m.mode,
            gid: m.gid,
        }),
        M::Rlcreateattr(m) => V::Rlcreateattr(v4::Rlcreateattr {
            iounit: m.iounit,
            stat: stat(&m.stat),
        }),
        M::Tmkdirattr(m) => V::Tmkdirattr(tmkdir(m)),
        M::Rmkdirattr(m) => V::Rmkdirattr(v4::Rmkdirattr {
            stat: stat(&m.stat),
        }),
        M::Tsymlinkattr(m) => V::Tsymlinkattr(tsymlink(m)),
        M::Rsymlinkattr(m) => V::Rsymlinkattr(v4::Rsymlinkattr {
            stat: stat(&m.stat),
        }),
        M::Tmknodattr(m) => V::Tmknodattr(tmknod(m)),
        M::Rmknodattr(m) => V::Rmknodattr(v4::Rmknodattr {
            stat: stat(&m.stat),
        }),
        M::Tlinkattr(m) => V::Tlinkattr(tlink(m)),
        M::Rlinkattr(m) => V::Rlinkattr(v4::Rlinkattr {
            stat: stat(&m.stat),
        }),
        M::Tsetattrattr(m) => V::Tsetattrattr(tsetattr(m)),
        M::Rsetattrattr(m) => V::Rsetattrattr(v4::Rsetattrattr {
            stat: stat(&m.stat),
        }),
        M::TrebindZ(m) => V::Trebind(v4::Trebind {
            fid: m.fid,
            inode_id: m.inode_id,
            root_inode: m.root_inode,
            flags: m.flags,
            uname: s(&m.uname),
            n_uname: m.n_uname,
        }),
        M::Rrebind(m) => V::Rrebind(v4::Rrebind { qid: qid(&m.qid) }),
        M::Twalkgetattr(m) => {
            let (nwname, wnames) = names(&m.wnames);
            V::Twalkgetattr(v4::Twalkgetattr {
                fid: m.fid,
                newfid: m.newfid,
                nwname,
                wnames,
            })
        }
        M::Rwalkgetattr(m) => {
            let (nwqid, wqids) = qids(&m.wqids);
            V::Rwalkgetattr(v4::Rwalkgetattr {
                nwqid,
                wqids,
                stat: stat(&m.stat),
            })
        }
        M::Treaddirattr(m) => V::Treaddirattr(v4::Treaddirattr {
            fid: m.fid,
            offset: m.offset,
            count: m.count,
        }),
        M::Rreaddirattr(m) => V::Rreaddirattr(
            v4::Rreaddirattr::from_entries(m.entries.iter().map(dirent_plus).collect()).ok()?,
        ),
        // Not in 0.4.0 (see the module docs).
        M::Tauth(_)
        | M::Rauth(_)
        | M::Txattrcreate(_)
        | M::Rxattrcreate
        | M::Tremove(_)
        | M::Rremove
        | M::Trebind(_) => {
            return None;
        }
    })
}
