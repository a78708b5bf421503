//! `from_theirs!`: the decoded-message → ours conversion for the arms whose variant, fields and
//! helpers have the same names and shapes in ninep-proto 0.1.2 and 0.4.0.

/// Defines `from_theirs(m: <crate>::Message) -> Result<Message, String>` for the crate `$v`:
/// the shared arms below plus the version's own arms (`$own`), which come first and must cover
/// every variant only that version has (the match stays exhaustive). The caller's module must
/// hold the record helpers (`shared_records!` and the version's `s_back`, `data_back`, …) and
/// `use zerofs_9p_proto::*`.
macro_rules! from_theirs {
    ($(#[$doc:meta])* $v:ident; $($own:tt)*) => {
        $(#[$doc])*
        pub fn from_theirs(m: $v::Message) -> Result<Message, String> {
            use Message as M;
            use $v::Message as V;
            use crate::shared::entries_back;
            Ok(match m {
                $($own)*
                V::Rlerror(m) => M::Rlerror(Rlerror { ecode: m.ecode }),
                V::Tstatfs(m) => M::Tstatfs(Tstatfs { fid: m.fid }),
                V::Rstatfs(m) => M::Rstatfs(Rstatfs {
                    ty: m.r#type,
                    bsize: m.bsize,
                    blocks: m.blocks,
                    bfree: m.bfree,
                    bavail: m.bavail,
                    files: m.files,
                    ffree: m.ffree,
                    fsid: m.fsid,
                    namelen: m.namelen,
                }),
                V::Tlopen(m) => M::Tlopen(Tlopen {
                    fid: m.fid,
                    flags: m.flags,
                }),
                V::Rlopen(m) => M::Rlopen(Rlopen {
                    qid: qid_back(&m.qid),
                    iounit: m.iounit,
                }),
                V::Tlcreate(m) => M::Tlcreate(Tlcreate {
                    fid: m.fid,
                    name: s_back(m.name)?,
                    flags: m.flags,
                    mode: m.mode,
                    gid: m.gid,
                }),
                V::Rlcreate(m) => M::Rlcreate(Rlcreate {
                    qid: qid_back(&m.qid),
                    iounit: m.iounit,
                }),
                V::Tsymlink(m) => M::Tsymlink(tsymlink_back(m)?),
                V::Rsymlink(m) => M::Rsymlink(Rsymlink {
                    qid: qid_back(&m.qid),
                }),
                V::Tmknod(m) => M::Tmknod(tmknod_back(m)?),
                V::Rmknod(m) => M::Rmknod(Rmknod {
                    qid: qid_back(&m.qid),
                }),
                V::Trename(m) => M::Trename(Trename {
                    fid: m.fid,
                    dfid: m.dfid,
                    name: s_back(m.name)?,
                }),
                V::Rrename(_) => M::Rrename,
                V::Treadlink(m) => M::Treadlink(Treadlink { fid: m.fid }),
                V::Rreadlink(m) => M::Rreadlink(Rreadlink {
                    target: s_back(m.target)?,
                }),
                V::Tgetattr(m) => M::Tgetattr(Tgetattr {
                    fid: m.fid,
                    request_mask: m.request_mask,
                }),
                V::Rgetattr(m) => M::Rgetattr(Rgetattr {
                    valid: m.valid,
                    stat: stat_back(&m.stat),
                }),
                V::Tsetattr(m) => M::Tsetattr(tsetattr_back(m)),
                V::Rsetattr(_) => M::Rsetattr,
                V::Txattrwalk(m) => M::Txattrwalk(Txattrwalk {
                    fid: m.fid,
                    newfid: m.newfid,
                    name: s_back(m.name)?,
                }),
                V::Rxattrwalk(m) => M::Rxattrwalk(Rxattrwalk { size: m.size }),
                V::Treaddir(m) => M::Treaddir(Treaddir {
                    fid: m.fid,
                    offset: m.offset,
                    count: m.count,
                }),
                V::Rreaddir(m) => M::Rreaddir(Rreaddir {
                    entries: entries_back(
                        "Rreaddir",
                        m.count,
                        m.data.0.len(),
                        || m.to_entries(),
                        dirent_back,
                    )?,
                }),
                V::Tfsync(m) => M::Tfsync(Tfsync {
                    fid: m.fid,
                    datasync: m.datasync,
                }),
                V::Rfsync(_) => M::Rfsync,
                V::Tfsyncdur(m) => M::Tfsyncdur(Tfsyncdur {
                    fid: m.fid,
                    datasync: m.datasync,
                    token: m.token,
                }),
                V::Tgetlineage(_) => M::Tgetlineage,
                V::Tlock(m) => M::Tlock(Tlock {
                    fid: m.fid,
                    ty: lock_type_back(m.lock_type),
                    flags: m.flags,
                    start: m.start,
                    length: m.length,
                    proc_id: m.proc_id,
                    client_id: s_back(m.client_id)?,
                }),
                V::Tgetlock(m) => M::Tgetlock(Tgetlock {
                    fid: m.fid,
                    ty: lock_type_back(m.lock_type),
                    start: m.start,
                    length: m.length,
                    proc_id: m.proc_id,
                    client_id: s_back(m.client_id)?,
                }),
                V::Rgetlock(m) => M::Rgetlock(Rgetlock {
                    ty: lock_type_back(m.lock_type),
                    start: m.start,
                    length: m.length,
                    proc_id: m.proc_id,
                    client_id: s_back(m.client_id)?,
                }),
                V::Tlink(m) => M::Tlink(tlink_back(m)?),
                V::Rlink(_) => M::Rlink,
                V::Tmkdir(m) => M::Tmkdir(tmkdir_back(m)?),
                V::Rmkdir(m) => M::Rmkdir(Rmkdir {
                    qid: qid_back(&m.qid),
                }),
                V::Trenameat(m) => M::Trenameat(Trenameat {
                    olddirfid: m.olddirfid,
                    oldname: s_back(m.oldname)?,
                    newdirfid: m.newdirfid,
                    newname: s_back(m.newname)?,
                }),
                V::Rrenameat(_) => M::Rrenameat,
                V::Tunlinkat(m) => M::Tunlinkat(Tunlinkat {
                    dirfid: m.dirfid,
                    name: s_back(m.name)?,
                    flags: m.flags,
                }),
                V::Runlinkat(_) => M::Runlinkat,
                V::Tversion(m) => M::Tversion(Tversion {
                    msize: m.msize,
                    version: s_back(m.version)?,
                }),
                V::Rversion(m) => M::Rversion(Rversion {
                    msize: m.msize,
                    version: s_back(m.version)?,
                }),
                V::Tattach(m) => M::Tattach(Tattach {
                    fid: m.fid,
                    afid: m.afid,
                    uname: s_back(m.uname)?,
                    aname: s_back(m.aname)?,
                    n_uname: m.n_uname,
                }),
                V::Rattach(m) => M::Rattach(Rattach {
                    qid: qid_back(&m.qid),
                }),
                V::Tflush(m) => M::Tflush(Tflush { oldtag: m.oldtag }),
                V::Rflush(_) => M::Rflush,
                V::Twalk(m) => M::Twalk(Twalk {
                    fid: m.fid,
                    newfid: m.newfid,
                    wnames: names_back(m.nwname, m.wnames)?,
                }),
                V::Rwalk(m) => M::Rwalk(Rwalk {
                    wqids: qids_back(m.nwqid, &m.wqids)?,
                }),
                V::Tread(m) => M::Tread(Tread {
                    fid: m.fid,
                    offset: m.offset,
                    count: m.count,
                }),
                V::Rread(m) => M::Rread(Rread {
                    data: data_back(m.count, m.data)?,
                }),
                V::Twrite(m) => M::Twrite(Twrite {
                    fid: m.fid,
                    offset: m.offset,
                    data: data_back(m.count, m.data)?,
                }),
                V::Rwrite(m) => M::Rwrite(Rwrite { count: m.count }),
                V::Tclunk(m) => M::Tclunk(Tclunk { fid: m.fid }),
                V::Rclunk(_) => M::Rclunk,
                V::Tlopenat(m) => M::Tlopenat(Tlopenat {
                    fid: m.fid,
                    newfid: m.newfid,
                    flags: m.flags,
                }),
                V::Rlopenat(m) => M::Rlopenat(Rlopen {
                    qid: qid_back(&m.qid),
                    iounit: m.iounit,
                }),
                V::Tlcreateattr(m) => M::Tlcreateattr(Tlcreateattr {
                    dfid: m.dfid,
                    newfid: m.newfid,
                    name: s_back(m.name)?,
                    flags: m.flags,
                    mode: m.mode,
                    gid: m.gid,
                }),
                V::Rlcreateattr(m) => M::Rlcreateattr(Rlcreateattr {
                    iounit: m.iounit,
                    stat: stat_back(&m.stat),
                }),
                V::Tmkdirattr(m) => M::Tmkdirattr(tmkdir_back(m)?),
                V::Rmkdirattr(m) => M::Rmkdirattr(AttrReply {
                    stat: stat_back(&m.stat),
                }),
                V::Tsymlinkattr(m) => M::Tsymlinkattr(tsymlink_back(m)?),
                V::Rsymlinkattr(m) => M::Rsymlinkattr(AttrReply {
                    stat: stat_back(&m.stat),
                }),
                V::Tmknodattr(m) => M::Tmknodattr(tmknod_back(m)?),
                V::Rmknodattr(m) => M::Rmknodattr(AttrReply {
                    stat: stat_back(&m.stat),
                }),
                V::Tlinkattr(m) => M::Tlinkattr(tlink_back(m)?),
                V::Rlinkattr(m) => M::Rlinkattr(AttrReply {
                    stat: stat_back(&m.stat),
                }),
                V::Tsetattrattr(m) => M::Tsetattrattr(tsetattr_back(m)),
                V::Rsetattrattr(m) => M::Rsetattrattr(AttrReply {
                    stat: stat_back(&m.stat),
                }),
                V::Rrebind(m) => M::Rrebind(Rrebind {
                    qid: qid_back(&m.qid),
                }),
                V::Twalkgetattr(m) => M::Twalkgetattr(Twalk {
                    fid: m.fid,
                    newfid: m.newfid,
                    wnames: names_back(m.nwname, m.wnames)?,
                }),
                V::Rwalkgetattr(m) => M::Rwalkgetattr(Rwalkgetattr {
                    wqids: qids_back(m.nwqid, &m.wqids)?,
                    stat: stat_back(&m.stat),
                }),
                V::Treaddirattr(m) => M::Treaddirattr(Treaddir {
                    fid: m.fid,
                    offset: m.offset,
                    count: m.count,
                }),
                V::Rreaddirattr(m) => M::Rreaddirattr(Rreaddirattr {
                    entries: entries_back(
                        "Rreaddirattr",
                        m.count,
                        m.data.0.len(),
                        || m.to_entries(),
                        dirent_plus_back,
                    )?,
                }),
            })
        }
    };
}
