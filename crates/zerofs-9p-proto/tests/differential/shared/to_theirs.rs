//! `to_theirs!`: the ours → their-message conversion for the arms whose variant, fields and
//! helpers have the same names and shapes in ninep-proto 0.1.2 and 0.4.0.

/// Defines `to_theirs(m: &Message) -> Option<<crate>::Message>` for the crate `$v`: the shared
/// arms below plus the version's own arms (`$own`), which come first and must cover every one of
/// our variants the shared arms leave out (a `_` arm panics on any other, since `Message` is
/// `#[non_exhaustive]`; `return None` for what
/// the version cannot build beyond the shared `NEVER_IN_ZEROFS` types). Counts are always set from the lengths. The caller's module must
/// hold the record helpers (`shared_records!` and the version's `s`, `data`, …) and
/// `use zerofs_9p_proto::*`.
macro_rules! to_theirs {
    ($(#[$doc:meta])* $v:ident; $($own:tt)*) => {
        $(#[$doc])*
        pub fn to_theirs(m: &Message) -> Option<$v::Message> {
            use Message as M;
            use $v::Message as V;
            Some(match m {
                $($own)*
                // In neither version: ZeroFS never implemented them (`NEVER_IN_ZEROFS`).
                M::Tauth(_)
                | M::Rauth(_)
                | M::Txattrcreate(_)
                | M::Rxattrcreate
                | M::Tremove(_)
                | M::Rremove => return None,
                M::Rlerror(m) => V::Rlerror($v::Rlerror { ecode: m.ecode }),
                M::Tstatfs(m) => V::Tstatfs($v::Tstatfs { fid: m.fid }),
                M::Rstatfs(m) => V::Rstatfs($v::Rstatfs {
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
                M::Tlopen(m) => V::Tlopen($v::Tlopen {
                    fid: m.fid,
                    flags: m.flags,
                }),
                M::Rlopen(m) => V::Rlopen($v::Rlopen {
                    qid: qid(&m.qid),
                    iounit: m.iounit,
                }),
                M::Tlcreate(m) => V::Tlcreate($v::Tlcreate {
                    fid: m.fid,
                    name: s(&m.name),
                    flags: m.flags,
                    mode: m.mode,
                    gid: m.gid,
                }),
                M::Rlcreate(m) => V::Rlcreate($v::Rlcreate {
                    qid: qid(&m.qid),
                    iounit: m.iounit,
                }),
                M::Tsymlink(m) => V::Tsymlink(tsymlink(m)),
                M::Rsymlink(m) => V::Rsymlink($v::Rsymlink { qid: qid(&m.qid) }),
                M::Tmknod(m) => V::Tmknod(tmknod(m)),
                M::Rmknod(m) => V::Rmknod($v::Rmknod { qid: qid(&m.qid) }),
                M::Trename(m) => V::Trename($v::Trename {
                    fid: m.fid,
                    dfid: m.dfid,
                    name: s(&m.name),
                }),
                M::Rrename => V::Rrename($v::Rrename),
                M::Treadlink(m) => V::Treadlink($v::Treadlink { fid: m.fid }),
                M::Rreadlink(m) => V::Rreadlink($v::Rreadlink {
                    target: s(&m.target),
                }),
                M::Tgetattr(m) => V::Tgetattr($v::Tgetattr {
                    fid: m.fid,
                    request_mask: m.request_mask,
                }),
                M::Rgetattr(m) => V::Rgetattr($v::Rgetattr {
                    valid: m.valid,
                    stat: stat(&m.stat),
                }),
                M::Tsetattr(m) => V::Tsetattr(tsetattr(m)),
                M::Rsetattr => V::Rsetattr($v::Rsetattr),
                M::Txattrwalk(m) => V::Txattrwalk($v::Txattrwalk {
                    fid: m.fid,
                    newfid: m.newfid,
                    name: s(&m.name),
                }),
                M::Rxattrwalk(m) => V::Rxattrwalk($v::Rxattrwalk { size: m.size }),
                M::Treaddir(m) => V::Treaddir($v::Treaddir {
                    fid: m.fid,
                    offset: m.offset,
                    count: m.count,
                }),
                M::Rreaddir(m) => V::Rreaddir(
                    $v::Rreaddir::from_entries(m.entries.iter().map(dirent).collect()).ok()?,
                ),
                M::Tfsync(m) => V::Tfsync($v::Tfsync {
                    fid: m.fid,
                    datasync: m.datasync,
                }),
                M::Rfsync => V::Rfsync($v::Rfsync),
                M::Tlock(m) => V::Tlock($v::Tlock {
                    fid: m.fid,
                    lock_type: lock_type(m.ty),
                    flags: m.flags,
                    start: m.start,
                    length: m.length,
                    proc_id: m.proc_id,
                    client_id: s(&m.client_id),
                }),
                M::Tgetlock(m) => V::Tgetlock($v::Tgetlock {
                    fid: m.fid,
                    lock_type: lock_type(m.ty),
                    start: m.start,
                    length: m.length,
                    proc_id: m.proc_id,
                    client_id: s(&m.client_id),
                }),
                M::Rgetlock(m) => V::Rgetlock($v::Rgetlock {
                    lock_type: lock_type(m.ty),
                    start: m.start,
                    length: m.length,
                    proc_id: m.proc_id,
                    client_id: s(&m.client_id),
                }),
                M::Tlink(m) => V::Tlink(tlink(m)),
                M::Rlink => V::Rlink($v::Rlink),
                M::Tmkdir(m) => V::Tmkdir(tmkdir(m)),
                M::Rmkdir(m) => V::Rmkdir($v::Rmkdir { qid: qid(&m.qid) }),
                M::Trenameat(m) => V::Trenameat($v::Trenameat {
                    olddirfid: m.olddirfid,
                    oldname: s(&m.oldname),
                    newdirfid: m.newdirfid,
                    newname: s(&m.newname),
                }),
                M::Rrenameat => V::Rrenameat($v::Rrenameat),
                M::Tunlinkat(m) => V::Tunlinkat($v::Tunlinkat {
                    dirfid: m.dirfid,
                    name: s(&m.name),
                    flags: m.flags,
                }),
                M::Runlinkat => V::Runlinkat($v::Runlinkat),
                M::Tversion(m) => V::Tversion($v::Tversion {
                    msize: m.msize,
                    version: s(&m.version),
                }),
                M::Rversion(m) => V::Rversion($v::Rversion {
                    msize: m.msize,
                    version: s(&m.version),
                }),
                M::Tattach(m) => V::Tattach($v::Tattach {
                    fid: m.fid,
                    afid: m.afid,
                    uname: s(&m.uname),
                    aname: s(&m.aname),
                    n_uname: m.n_uname,
                }),
                M::Rattach(m) => V::Rattach($v::Rattach { qid: qid(&m.qid) }),
                M::Tflush(m) => V::Tflush($v::Tflush { oldtag: m.oldtag }),
                M::Rflush => V::Rflush($v::Rflush),
                M::Twalk(m) => {
                    let (nwname, wnames) = names(&m.wnames);
                    V::Twalk($v::Twalk {
                        fid: m.fid,
                        newfid: m.newfid,
                        nwname,
                        wnames,
                    })
                }
                M::Rwalk(m) => {
                    let (nwqid, wqids) = qids(&m.wqids);
                    V::Rwalk($v::Rwalk { nwqid, wqids })
                }
                M::Tread(m) => V::Tread($v::Tread {
                    fid: m.fid,
                    offset: m.offset,
                    count: m.count,
                }),
                M::Rread(m) => V::Rread($v::Rread {
                    count: m.data.len() as u32,
                    data: data(&m.data),
                }),
                M::Twrite(m) => V::Twrite($v::Twrite {
                    fid: m.fid,
                    offset: m.offset,
                    count: m.data.len() as u32,
                    data: data(&m.data),
                }),
                M::Rwrite(m) => V::Rwrite($v::Rwrite { count: m.count }),
                M::Tclunk(m) => V::Tclunk($v::Tclunk { fid: m.fid }),
                M::Rclunk => V::Rclunk($v::Rclunk),
                M::Tfsyncdur(m) => V::Tfsyncdur($v::Tfsyncdur {
                    fid: m.fid,
                    datasync: m.datasync,
                    token: m.token,
                }),
                M::Tgetlineage => V::Tgetlineage($v::Tgetlineage),
                M::Tlopenat(m) => V::Tlopenat($v::Tlopenat {
                    fid: m.fid,
                    newfid: m.newfid,
                    flags: m.flags,
                }),
                M::Rlopenat(m) => V::Rlopenat($v::Rlopenat {
                    qid: qid(&m.qid),
                    iounit: m.iounit,
                }),
                M::Tlcreateattr(m) => V::Tlcreateattr($v::Tlcreateattr {
                    dfid: m.dfid,
                    newfid: m.newfid,
                    name: s(&m.name),
                    flags: m.flags,
                    mode: m.mode,
                    gid: m.gid,
                }),
                M::Rlcreateattr(m) => V::Rlcreateattr($v::Rlcreateattr {
                    iounit: m.iounit,
                    stat: stat(&m.stat),
                }),
                M::Tmkdirattr(m) => V::Tmkdirattr(tmkdir(m)),
                M::Rmkdirattr(m) => V::Rmkdirattr($v::Rmkdirattr {
                    stat: stat(&m.stat),
                }),
                M::Tsymlinkattr(m) => V::Tsymlinkattr(tsymlink(m)),
                M::Rsymlinkattr(m) => V::Rsymlinkattr($v::Rsymlinkattr {
                    stat: stat(&m.stat),
                }),
                M::Tmknodattr(m) => V::Tmknodattr(tmknod(m)),
                M::Rmknodattr(m) => V::Rmknodattr($v::Rmknodattr {
                    stat: stat(&m.stat),
                }),
                M::Tlinkattr(m) => V::Tlinkattr(tlink(m)),
                M::Rlinkattr(m) => V::Rlinkattr($v::Rlinkattr {
                    stat: stat(&m.stat),
                }),
                M::Tsetattrattr(m) => V::Tsetattrattr(tsetattr(m)),
                M::Rsetattrattr(m) => V::Rsetattrattr($v::Rsetattrattr {
                    stat: stat(&m.stat),
                }),
                M::Rrebind(m) => V::Rrebind($v::Rrebind { qid: qid(&m.qid) }),
                M::Twalkgetattr(m) => {
                    let (nwname, wnames) = names(&m.wnames);
                    V::Twalkgetattr($v::Twalkgetattr {
                        fid: m.fid,
                        newfid: m.newfid,
                        nwname,
                        wnames,
                    })
                }
                M::Rwalkgetattr(m) => {
                    let (nwqid, wqids) = qids(&m.wqids);
                    V::Rwalkgetattr($v::Rwalkgetattr {
                        nwqid,
                        wqids,
                        stat: stat(&m.stat),
                    })
                }
                M::Treaddirattr(m) => V::Treaddirattr($v::Treaddirattr {
                    fid: m.fid,
                    offset: m.offset,
                    count: m.count,
                }),
                M::Rreaddirattr(m) => V::Rreaddirattr(
                    $v::Rreaddirattr::from_entries(m.entries.iter().map(dirent_plus).collect())
                        .ok()?,
                ),
                // `Message` is `#[non_exhaustive]`: a message added later reaches this arm,
                // and the differential tests (which convert every generated type) fail here.
                other => panic!("no conversion for {:?}: add an arm to to_theirs!", other.msg_type()),
            })
        }
    };
}
