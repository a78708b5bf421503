//! Proptest strategies shared by the integration tests: every message of every dialect, with
//! field values over their full range.
//!
//! [`arb_message`] and [`arb_frame`] draw uniformly from the message types a dialect allows
//! (`MessageType::ALL` filtered by `Dialect::allows`), so a type the dialect admits can never be
//! left out silently; `roundtrip.rs` checks that sampling reaches every one of them.
#![allow(dead_code)]

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;
use zerofs_9p_proto::*;

mod fields;
pub use self::fields::*;

/// A proptest configuration with `cases` cases and no regression files written into the tree.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// The message types `dialect` allows, in id order.
pub fn types_in(dialect: Dialect) -> impl Iterator<Item = MessageType> {
    MessageType::ALL
        .iter()
        .copied()
        .filter(move |&ty| dialect.allows(ty))
}

fn rlopen() -> impl Strategy<Value = Rlopen> + Clone {
    (arb_qid(), u32s()).prop_map(|(qid, iounit)| Rlopen { qid, iounit })
}

fn tsymlink() -> impl Strategy<Value = Tsymlink> + Clone {
    (u32s(), string(), string(), u32s()).prop_map(|(dfid, name, symtgt, gid)| Tsymlink {
        dfid,
        name,
        symtgt,
        gid,
    })
}

fn tmknod() -> impl Strategy<Value = Tmknod> + Clone {
    (u32s(), string(), u32s(), u32s(), u32s(), u32s()).prop_map(
        |(dfid, name, mode, major, minor, gid)| Tmknod {
            dfid,
            name,
            mode,
            major,
            minor,
            gid,
        },
    )
}

fn tsetattr() -> impl Strategy<Value = Tsetattr> + Clone {
    (u32s(), any::<[u32; 4]>(), any::<[u64; 5]>()).prop_map(|(fid, [valid, mode, uid, gid], t)| {
        Tsetattr {
            fid,
            valid,
            mode,
            uid,
            gid,
            size: t[0],
            atime_sec: t[1],
            atime_nsec: t[2],
            mtime_sec: t[3],
            mtime_nsec: t[4],
        }
    })
}

fn tlink() -> impl Strategy<Value = Tlink> + Clone {
    (u32s(), u32s(), string()).prop_map(|(dfid, fid, name)| Tlink { dfid, fid, name })
}

fn tmkdir() -> impl Strategy<Value = Tmkdir> + Clone {
    (u32s(), string(), u32s(), u32s()).prop_map(|(dfid, name, mode, gid)| Tmkdir {
        dfid,
        name,
        mode,
        gid,
    })
}

fn twalk() -> impl Strategy<Value = Twalk> + Clone {
    (u32s(), u32s(), wnames()).prop_map(|(fid, newfid, wnames)| Twalk {
        fid,
        newfid,
        wnames,
    })
}

fn treaddir() -> impl Strategy<Value = Treaddir> + Clone {
    (u32s(), u64s(), u32s()).prop_map(|(fid, offset, count)| Treaddir { fid, offset, count })
}

fn attr_reply() -> impl Strategy<Value = AttrReply> + Clone {
    arb_stat().prop_map(|stat| AttrReply { stat })
}

/// A random message of type `ty`, in the layout `dialect` uses (it matters for `Trebind`).
///
/// `MessageType` is `#[non_exhaustive]`, so the match needs a `_` arm: a new message type
/// without a generator panics there, and `roundtrip::generators_cover_every_message_type_in_every_dialect` (which asks for
/// every allowed type) fails.
pub fn arb_message_of(ty: MessageType, dialect: Dialect) -> BoxedStrategy<Message> {
    use Message as M;
    use MessageType as T;
    match ty {
        T::Rlerror => u32s()
            .prop_map(|ecode| M::Rlerror(Rlerror { ecode }))
            .boxed(),
        T::Tstatfs => u32s().prop_map(|fid| M::Tstatfs(Tstatfs { fid })).boxed(),
        T::Rstatfs => (u32s(), u32s(), any::<[u64; 6]>(), u32s())
            .prop_map(|(ty, bsize, n, namelen)| {
                M::Rstatfs(Rstatfs {
                    ty,
                    bsize,
                    blocks: n[0],
                    bfree: n[1],
                    bavail: n[2],
                    files: n[3],
                    ffree: n[4],
                    fsid: n[5],
                    namelen,
                })
            })
            .boxed(),
        T::Tlopen => (u32s(), u32s())
            .prop_map(|(fid, flags)| M::Tlopen(Tlopen { fid, flags }))
            .boxed(),
        T::Rlopen => rlopen().prop_map(M::Rlopen).boxed(),
        T::Tlcreate => (u32s(), string(), u32s(), u32s(), u32s())
            .prop_map(|(fid, name, flags, mode, gid)| {
                M::Tlcreate(Tlcreate {
                    fid,
                    name,
                    flags,
                    mode,
                    gid,
                })
            })
            .boxed(),
        T::Rlcreate => (arb_qid(), u32s())
            .prop_map(|(qid, iounit)| M::Rlcreate(Rlcreate { qid, iounit }))
            .boxed(),
        T::Tsymlink => tsymlink().prop_map(M::Tsymlink).boxed(),
        T::Rsymlink => arb_qid()
            .prop_map(|qid| M::Rsymlink(Rsymlink { qid }))
            .boxed(),
        T::Tmknod => tmknod().prop_map(M::Tmknod).boxed(),
        T::Rmknod => arb_qid().prop_map(|qid| M::Rmknod(Rmknod { qid })).boxed(),
        T::Trename => (u32s(), u32s(), string())
            .prop_map(|(fid, dfid, name)| M::Trename(Trename { fid, dfid, name }))
            .boxed(),
        T::Rrename => Just(M::Rrename).boxed(),
        T::Treadlink => u32s()
            .prop_map(|fid| M::Treadlink(Treadlink { fid }))
            .boxed(),
        T::Rreadlink => string()
            .prop_map(|target| M::Rreadlink(Rreadlink { target }))
            .boxed(),
        T::Tgetattr => (u32s(), u64s())
            .prop_map(|(fid, request_mask)| M::Tgetattr(Tgetattr { fid, request_mask }))
            .boxed(),
        T::Rgetattr => (u64s(), arb_stat())
            .prop_map(|(valid, stat)| M::Rgetattr(Rgetattr { valid, stat }))
            .boxed(),
        T::Tsetattr => tsetattr().prop_map(M::Tsetattr).boxed(),
        T::Rsetattr => Just(M::Rsetattr).boxed(),
        T::Txattrwalk => (u32s(), u32s(), string())
            .prop_map(|(fid, newfid, name)| M::Txattrwalk(Txattrwalk { fid, newfid, name }))
            .boxed(),
        T::Rxattrwalk => u64s()
            .prop_map(|size| M::Rxattrwalk(Rxattrwalk { size }))
            .boxed(),
        T::Txattrcreate => (u32s(), string(), u64s(), u32s())
            .prop_map(|(fid, name, attr_size, flags)| {
                M::Txattrcreate(Txattrcreate {
                    fid,
                    name,
                    attr_size,
                    flags,
                })
            })
            .boxed(),
        T::Rxattrcreate => Just(M::Rxattrcreate).boxed(),
        T::Treaddir => treaddir().prop_map(M::Treaddir).boxed(),
        T::Rreaddir => vec(arb_dirent(), 0..=8)
            .prop_map(|entries| M::Rreaddir(Rreaddir { entries }))
            .boxed(),
        T::Tfsync => (u32s(), u32s())
            .prop_map(|(fid, datasync)| M::Tfsync(Tfsync { fid, datasync }))
            .boxed(),
        T::Rfsync => Just(M::Rfsync).boxed(),
        T::Tlock => (
            u32s(),
            lock_type(),
            u32s(),
            u64s(),
            u64s(),
            u32s(),
            string(),
        )
            .prop_map(|(fid, ty, flags, start, length, proc_id, client_id)| {
                M::Tlock(Tlock {
                    fid,
                    ty,
                    flags,
                    start,
                    length,
                    proc_id,
                    client_id,
                })
            })
            .boxed(),
        T::Rlock => lock_status()
            .prop_map(|status| M::Rlock(Rlock { status }))
            .boxed(),
        T::Tgetlock => (u32s(), lock_type(), u64s(), u64s(), u32s(), string())
            .prop_map(|(fid, ty, start, length, proc_id, client_id)| {
                M::Tgetlock(Tgetlock {
                    fid,
                    ty,
                    start,
                    length,
                    proc_id,
                    client_id,
                })
            })
            .boxed(),
        T::Rgetlock => (lock_type(), u64s(), u64s(), u32s(), string())
            .prop_map(|(ty, start, length, proc_id, client_id)| {
                M::Rgetlock(Rgetlock {
                    ty,
                    start,
                    length,
                    proc_id,
                    client_id,
                })
            })
            .boxed(),
        T::Tlink => tlink().prop_map(M::Tlink).boxed(),
        T::Rlink => Just(M::Rlink).boxed(),
        T::Tmkdir => tmkdir().prop_map(M::Tmkdir).boxed(),
        T::Rmkdir => arb_qid().prop_map(|qid| M::Rmkdir(Rmkdir { qid })).boxed(),
        T::Trenameat => (u32s(), string(), u32s(), string())
            .prop_map(|(olddirfid, oldname, newdirfid, newname)| {
                M::Trenameat(Trenameat {
                    olddirfid,
                    oldname,
                    newdirfid,
                    newname,
                })
            })
            .boxed(),
        T::Rrenameat => Just(M::Rrenameat).boxed(),
        T::Tunlinkat => (u32s(), string(), u32s())
            .prop_map(|(dirfid, name, flags)| {
                M::Tunlinkat(Tunlinkat {
                    dirfid,
                    name,
                    flags,
                })
            })
            .boxed(),
        T::Runlinkat => Just(M::Runlinkat).boxed(),
        T::Tversion => (u32s(), version_string())
            .prop_map(|(msize, version)| M::Tversion(Tversion { msize, version }))
            .boxed(),
        T::Rversion => (u32s(), version_string())
            .prop_map(|(msize, version)| M::Rversion(Rversion { msize, version }))
            .boxed(),
        T::Tauth => (u32s(), string(), string(), u32s())
            .prop_map(|(afid, uname, aname, n_uname)| {
                M::Tauth(Tauth {
                    afid,
                    uname,
                    aname,
                    n_uname,
                })
            })
            .boxed(),
        T::Rauth => arb_qid().prop_map(|aqid| M::Rauth(Rauth { aqid })).boxed(),
        T::Tattach => (u32s(), u32s(), string(), string(), u32s())
            .prop_map(|(fid, afid, uname, aname, n_uname)| {
                M::Tattach(Tattach {
                    fid,
                    afid,
                    uname,
                    aname,
                    n_uname,
                })
            })
            .boxed(),
        T::Rattach => arb_qid()
            .prop_map(|qid| M::Rattach(Rattach { qid }))
            .boxed(),
        T::Tflush => any::<u16>()
            .prop_map(|oldtag| M::Tflush(Tflush { oldtag }))
            .boxed(),
        T::Rflush => Just(M::Rflush).boxed(),
        T::Twalk => twalk().prop_map(M::Twalk).boxed(),
        T::Rwalk => wqids().prop_map(|wqids| M::Rwalk(Rwalk { wqids })).boxed(),
        T::Tread => (u32s(), u64s(), u32s())
            .prop_map(|(fid, offset, count)| M::Tread(Tread { fid, offset, count }))
            .boxed(),
        T::Rread => payload().prop_map(|data| M::Rread(Rread { data })).boxed(),
        T::Twrite => (u32s(), u64s(), payload())
            .prop_map(|(fid, offset, data)| M::Twrite(Twrite { fid, offset, data }))
            .boxed(),
        T::Rwrite => u32s().prop_map(|count| M::Rwrite(Rwrite { count })).boxed(),
        T::Tclunk => u32s().prop_map(|fid| M::Tclunk(Tclunk { fid })).boxed(),
        T::Rclunk => Just(M::Rclunk).boxed(),
        T::Tremove => u32s().prop_map(|fid| M::Tremove(Tremove { fid })).boxed(),
        T::Rremove => Just(M::Rremove).boxed(),
        T::Tfallocate => (
            u32s(),
            u64s(),
            u64s(),
            prop_oneof![proptest::sample::select(vec![0u32, 3, 0x10, 0x11]), u32s()],
        )
            .prop_map(|(fid, offset, length, mode)| {
                M::Tfallocate(Tfallocate {
                    fid,
                    offset,
                    length,
                    mode,
                })
            })
            .boxed(),
        T::Rfallocate => Just(M::Rfallocate).boxed(),
        T::Tlopenatread => (u32s(), u32s(), u32s(), u32s())
            .prop_map(|(fid, newfid, flags, count)| {
                M::Tlopenatread(Tlopenatread {
                    fid,
                    newfid,
                    flags,
                    count,
                })
            })
            .boxed(),
        T::Rlopenatread => (arb_qid(), u32s(), any::<bool>(), payload())
            .prop_map(|(qid, iounit, eof, data)| {
                M::Rlopenatread(Rlopenatread {
                    qid,
                    iounit,
                    eof,
                    data,
                })
            })
            .boxed(),
        T::Tfsyncdur => (u32s(), u32s(), u64s())
            .prop_map(|(fid, datasync, token)| {
                M::Tfsyncdur(Tfsyncdur {
                    fid,
                    datasync,
                    token,
                })
            })
            .boxed(),
        T::Tgetlineage => Just(M::Tgetlineage).boxed(),
        T::Rgetlineage => (u64s(), u64s())
            .prop_map(|(token, writer_epoch)| {
                M::Rgetlineage(Rgetlineage {
                    token,
                    writer_epoch,
                })
            })
            .boxed(),
        T::Tlopenat => (u32s(), u32s(), u32s())
            .prop_map(|(fid, newfid, flags)| M::Tlopenat(Tlopenat { fid, newfid, flags }))
            .boxed(),
        T::Rlopenat => rlopen().prop_map(M::Rlopenat).boxed(),
        T::Tlcreateattr => (u32s(), u32s(), string(), u32s(), u32s(), u32s())
            .prop_map(|(dfid, newfid, name, flags, mode, gid)| {
                M::Tlcreateattr(Tlcreateattr {
                    dfid,
                    newfid,
                    name,
                    flags,
                    mode,
                    gid,
                })
            })
            .boxed(),
        T::Rlcreateattr => (u32s(), arb_stat())
            .prop_map(|(iounit, stat)| M::Rlcreateattr(Rlcreateattr { iounit, stat }))
            .boxed(),
        T::Tmkdirattr => tmkdir().prop_map(M::Tmkdirattr).boxed(),
        T::Rmkdirattr => attr_reply().prop_map(M::Rmkdirattr).boxed(),
        T::Tsymlinkattr => tsymlink().prop_map(M::Tsymlinkattr).boxed(),
        T::Rsymlinkattr => attr_reply().prop_map(M::Rsymlinkattr).boxed(),
        T::Tmknodattr => tmknod().prop_map(M::Tmknodattr).boxed(),
        T::Rmknodattr => attr_reply().prop_map(M::Rmknodattr).boxed(),
        T::Tlinkattr => tlink().prop_map(M::Tlinkattr).boxed(),
        T::Rlinkattr => attr_reply().prop_map(M::Rlinkattr).boxed(),
        T::Tsetattrattr => tsetattr().prop_map(M::Tsetattrattr).boxed(),
        T::Rsetattrattr => attr_reply().prop_map(M::Rsetattrattr).boxed(),
        T::Trebind if dialect == Dialect::Z => {
            (u32s(), u64s(), u64s(), any::<u8>(), rebind_uname(), u32s())
                .prop_map(|(fid, inode_id, root_inode, flags, uname, n_uname)| {
                    M::TrebindZ(TrebindZ {
                        fid,
                        inode_id,
                        root_inode,
                        flags,
                        uname,
                        n_uname,
                    })
                })
                .boxed()
        }
        T::Trebind => (u32s(), u64s(), u32s())
            .prop_map(|(fid, inode_id, n_uname)| {
                M::Trebind(Trebind {
                    fid,
                    inode_id,
                    n_uname,
                })
            })
            .boxed(),
        T::Rrebind => arb_qid()
            .prop_map(|qid| M::Rrebind(Rrebind { qid }))
            .boxed(),
        T::Twalkgetattr => twalk().prop_map(M::Twalkgetattr).boxed(),
        T::Rwalkgetattr => (wqids(), arb_stat())
            .prop_map(|(wqids, stat)| M::Rwalkgetattr(Rwalkgetattr { wqids, stat }))
            .boxed(),
        T::Treaddirattr => treaddir().prop_map(M::Treaddirattr).boxed(),
        T::Rreaddirattr => vec(arb_dirent_plus(), 0..=6)
            .prop_map(|entries| M::Rreaddirattr(Rreaddirattr { entries }))
            .boxed(),
        other => panic!("no generator for {other:?}: add one to arb_message_of"),
    }
}

/// A tag: anything, NOTAG often.
pub fn tag() -> impl Strategy<Value = u16> + Clone {
    prop_oneof![6 => any::<u16>(), 1 => Just(consts::NOTAG), 1 => Just(0)]
}

/// A random frame of type `ty` in `dialect`: an envelope exactly where the dialect takes one.
pub fn arb_frame_of(ty: MessageType, dialect: Dialect) -> BoxedStrategy<Frame> {
    (tag(), arb_message_of(ty, dialect), arb_envelope())
        .prop_map(move |(tag, message, envelope)| Frame {
            tag,
            envelope: dialect.has_envelope(ty).then_some(envelope),
            message,
        })
        .boxed()
}

/// A random message of any type `dialect` allows, every type equally likely.
///
/// The type is drawn first and its strategy built on demand (`prop_flat_map`): a `Union` of ~80
/// strategies costs a runner clone per option skipped over, which dominates in debug builds.
pub fn arb_message(dialect: Dialect) -> BoxedStrategy<Message> {
    proptest::sample::select(types_in(dialect).collect::<Vec<_>>())
        .prop_flat_map(move |ty| arb_message_of(ty, dialect))
        .boxed()
}

/// A random frame of any type `dialect` allows, every type equally likely.
pub fn arb_frame(dialect: Dialect) -> BoxedStrategy<Frame> {
    arb_frame_where(dialect, |_| true)
}

/// A random frame of any type `dialect` allows for which `keep` holds (at least one must).
pub fn arb_frame_where(
    dialect: Dialect,
    keep: impl Fn(MessageType) -> bool,
) -> BoxedStrategy<Frame> {
    let types: Vec<_> = types_in(dialect).filter(|&ty| keep(ty)).collect();
    assert!(
        !types.is_empty(),
        "no message type left to generate in {dialect}"
    );
    proptest::sample::select(types)
        .prop_flat_map(move |ty| arb_frame_of(ty, dialect))
        .boxed()
}

/// Encodes `frame` in `dialect` into a fresh vector (panics if the frame cannot be encoded).
pub fn encode(frame: &Frame, dialect: Dialect) -> Vec<u8> {
    let mut buf = Vec::with_capacity(frame.encoded_len(dialect));
    frame
        .encode(dialect, &mut buf)
        .unwrap_or_else(|e| panic!("encoding {frame:?} in {dialect}: {e}"));
    buf
}

/// Overwrites the `size[4]` field with the buffer's length (buffers shorter than 4 bytes are
/// left alone).
pub fn patch_size(buf: &mut [u8]) {
    let len = buf.len() as u32;
    if let Some(size) = buf.first_chunk_mut::<4>() {
        *size = len.to_le_bytes();
    }
}
