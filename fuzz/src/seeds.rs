//! The seed corpus: a representative frame of every message in every dialect it exists in,
//! plus a few malformed inputs. `examples/seed_corpus.rs` writes it to `corpus/<target>/`, and
//! `tests/corpus.rs` checks that every seed is there.

use zerofs_9p_proto::bytes::Bytes;
use zerofs_9p_proto::consts::{self, MAX_MSIZE};
use zerofs_9p_proto::*;

fn name(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn qid(path: u64) -> Qid {
    Qid {
        ty: if path % 2 == 0 {
            QidType::DIR
        } else {
            QidType::FILE
        },
        version: 7,
        path,
    }
}

fn stat(path: u64) -> Stat {
    Stat {
        qid: qid(path),
        mode: consts::mode::S_IFREG | 0o644,
        uid: 1000,
        gid: 100,
        nlink: 1,
        size: 4096 + path,
        blksize: 4096,
        blocks: 8,
        atime_sec: 1_700_000_000,
        mtime_sec: 1_700_000_001,
        ctime_sec: 1_700_000_002,
        btime_sec: 1_600_000_000,
        mtime_nsec: 999_999_999,
        generation: 3,
        data_version: 42,
        ..Stat::default()
    }
}

/// One representative message of every [`Message`] variant (both `Trebind` layouts).
pub fn messages() -> Vec<Message> {
    use Message as M;
    let lock_owner = name("client-7");
    let entry = |i: u64, n: &'static str| DirEntry {
        qid: qid(i),
        offset: i,
        ty: 8,
        name: name(n),
    };
    let entry_plus = |i: u64, n: &'static str| DirEntryPlus {
        qid: qid(i),
        offset: i,
        ty: 4,
        name: name(n),
        stat: stat(i),
    };
    let creds = Credentials {
        gid: 100,
        groups: vec![4, 27],
        incomplete: false,
    }
    .to_bytes();
    vec![
        M::Rlerror(Rlerror {
            ecode: consts::errno::ENOENT,
        }),
        M::Tstatfs(Tstatfs { fid: 1 }),
        M::Rstatfs(Rstatfs {
            ty: consts::ZEROFS_MAGIC,
            bsize: 4096,
            blocks: 1 << 30,
            bfree: 1 << 29,
            bavail: 1 << 29,
            files: 1 << 20,
            ffree: 1 << 19,
            fsid: 0xdead_beef,
            namelen: 255,
        }),
        M::Tlopen(Tlopen {
            fid: 2,
            flags: consts::open::RDWR,
        }),
        M::Rlopen(Rlopen {
            qid: qid(3),
            iounit: 0,
        }),
        M::Tlcreate(Tlcreate {
            fid: 2,
            name: name("new.txt"),
            flags: consts::open::CREAT | consts::open::WRONLY,
            mode: 0o644,
            gid: 100,
        }),
        M::Rlcreate(Rlcreate {
            qid: qid(5),
            iounit: 65536,
        }),
        M::Tsymlink(Tsymlink {
            dfid: 1,
            name: name("ln"),
            symtgt: name("../target"),
            gid: 100,
        }),
        M::Rsymlink(Rsymlink { qid: qid(9) }),
        M::Tmknod(Tmknod {
            dfid: 1,
            name: name("fifo"),
            mode: consts::mode::S_IFIFO | 0o600,
            major: 0,
            minor: 0,
            gid: 100,
        }),
        M::Rmknod(Rmknod { qid: qid(11) }),
        M::Trename(Trename {
            fid: 3,
            dfid: 1,
            name: name("renamed"),
        }),
        M::Rrename,
        M::Treadlink(Treadlink { fid: 4 }),
        M::Rreadlink(Rreadlink {
            target: name("/etc/hosts"),
        }),
        M::Tgetattr(Tgetattr {
            fid: 1,
            request_mask: consts::getattr::ALL,
        }),
        M::Rgetattr(Rgetattr {
            valid: consts::getattr::BASIC,
            stat: stat(13),
        }),
        M::Tsetattr(Tsetattr {
            fid: 5,
            valid: consts::setattr::MODE | consts::setattr::SIZE,
            mode: 0o600,
            size: 12,
            ..Tsetattr::default()
        }),
        M::Rsetattr,
        M::Txattrwalk(Txattrwalk {
            fid: 1,
            newfid: 9,
            name: name("user.k"),
        }),
        M::Rxattrwalk(Rxattrwalk { size: 17 }),
        M::Txattrcreate(Txattrcreate {
            fid: 9,
            name: name("user.k"),
            attr_size: 3,
            flags: 1,
        }),
        M::Rxattrcreate,
        M::Treaddir(Treaddir {
            fid: 6,
            offset: 0,
            count: 8192,
        }),
        M::Rreaddir(Rreaddir {
            entries: vec![entry(15, "."), entry(16, ".."), entry(17, "a")],
        }),
        M::Tfsync(Tfsync {
            fid: 7,
            datasync: 1,
        }),
        M::Rfsync,
        M::Tlock(Tlock {
            fid: 7,
            ty: LockType::Write,
            flags: consts::lock_flags::BLOCK,
            start: 0,
            length: 100,
            proc_id: 4242,
            client_id: lock_owner.clone(),
        }),
        M::Rlock(Rlock {
            status: LockStatus::Blocked,
        }),
        M::Tgetlock(Tgetlock {
            fid: 7,
            ty: LockType::Read,
            start: 10,
            length: 0,
            proc_id: 4242,
            client_id: lock_owner.clone(),
        }),
        M::Rgetlock(Rgetlock {
            ty: LockType::Unlock,
            start: 10,
            length: 0,
            proc_id: 1,
            client_id: lock_owner,
        }),
        M::Tlink(Tlink {
            dfid: 1,
            fid: 3,
            name: name("hard"),
        }),
        M::Rlink,
        M::Tmkdir(Tmkdir {
            dfid: 1,
            name: name("dir"),
            mode: 0o755,
            gid: 100,
        }),
        M::Rmkdir(Rmkdir { qid: qid(18) }),
        M::Trenameat(Trenameat {
            olddirfid: 1,
            oldname: name("a"),
            newdirfid: 2,
            newname: name("b"),
        }),
        M::Rrenameat,
        M::Tunlinkat(Tunlinkat {
            dirfid: 1,
            name: name("dir"),
            flags: consts::unlinkat::REMOVEDIR,
        }),
        M::Runlinkat,
        M::Tversion(Tversion {
            msize: MAX_MSIZE,
            version: name("9P2000.L.Z"),
        }),
        M::Rversion(Rversion {
            msize: 1 << 20,
            version: name("9P2000.L.zerofs2"),
        }),
        M::Tauth(Tauth {
            afid: 0,
            uname: name("root"),
            aname: name("/"),
            n_uname: 0,
        }),
        M::Rauth(Rauth {
            aqid: Qid {
                ty: QidType::AUTH,
                version: 0,
                path: 1,
            },
        }),
        M::Tattach(Tattach {
            fid: 0,
            afid: consts::NOFID,
            uname: name("alice"),
            aname: name("/"),
            n_uname: 1000,
        }),
        M::Rattach(Rattach { qid: qid(0) }),
        M::Tflush(Tflush { oldtag: 3 }),
        M::Rflush,
        M::Twalk(Twalk {
            fid: 0,
            newfid: 1,
            wnames: vec![name("usr"), name("share"), name("doc")],
        }),
        M::Rwalk(Rwalk {
            wqids: vec![qid(20), qid(22)],
        }),
        M::Tread(Tread {
            fid: 8,
            offset: 4096,
            count: 65536,
        }),
        M::Rread(Rread {
            data: name("hello, world\n"),
        }),
        M::Twrite(Twrite {
            fid: 8,
            offset: 12,
            data: name("more bytes"),
        }),
        M::Rwrite(Rwrite { count: 10 }),
        M::Tclunk(Tclunk { fid: 8 }),
        M::Rclunk,
        M::Tremove(Tremove { fid: 9 }),
        M::Rremove,
        M::Tfallocate(Tfallocate {
            fid: 8,
            offset: 0,
            length: 1 << 20,
            mode: consts::fallocate::PUNCH_HOLE | consts::fallocate::KEEP_SIZE,
        }),
        M::Rfallocate,
        M::Tlopenatread(Tlopenatread {
            fid: 1,
            newfid: 10,
            flags: 0,
            count: 4096,
        }),
        M::Rlopenatread(Rlopenatread {
            qid: qid(23),
            iounit: 0,
            eof: true,
            data: name("small file"),
        }),
        M::Tfsyncdur(Tfsyncdur {
            fid: 8,
            datasync: 0,
            token: 77,
        }),
        M::Tgetlineage,
        M::Rgetlineage(Rgetlineage {
            token: 77,
            writer_epoch: 2,
        }),
        M::Tlopenat(Tlopenat {
            fid: 1,
            newfid: 11,
            flags: consts::open::RDONLY,
        }),
        M::Rlopenat(Rlopen {
            qid: qid(25),
            iounit: 0,
        }),
        M::Tlcreateattr(Tlcreateattr {
            dfid: 1,
            newfid: 12,
            name: name("c.txt"),
            flags: consts::open::CREAT | consts::open::RDWR,
            mode: 0o644,
            gid: 100,
        }),
        M::Rlcreateattr(Rlcreateattr {
            iounit: 0,
            stat: stat(27),
        }),
        M::Tmkdirattr(Tmkdir {
            dfid: 1,
            name: name("d2"),
            mode: 0o700,
            gid: 100,
        }),
        M::Rmkdirattr(AttrReply { stat: stat(28) }),
        M::Tsymlinkattr(Tsymlink {
            dfid: 1,
            name: name("l2"),
            symtgt: name("x"),
            gid: 100,
        }),
        M::Rsymlinkattr(AttrReply { stat: stat(29) }),
        M::Tmknodattr(Tmknod {
            dfid: 1,
            name: name("chr"),
            mode: consts::mode::S_IFCHR | 0o600,
            major: 1,
            minor: 3,
            gid: 0,
        }),
        M::Rmknodattr(AttrReply { stat: stat(31) }),
        M::Tlinkattr(Tlink {
            dfid: 1,
            fid: 3,
            name: name("hard2"),
        }),
        M::Rlinkattr(AttrReply { stat: stat(33) }),
        M::Tsetattrattr(Tsetattr {
            fid: 5,
            valid: consts::setattr::MTIME | consts::setattr::MTIME_SET,
            mtime_sec: 1_700_000_000,
            mtime_nsec: 5,
            ..Tsetattr::default()
        }),
        M::Rsetattrattr(AttrReply { stat: stat(35) }),
        M::Trebind(Trebind {
            fid: 40,
            inode_id: 35,
            n_uname: 1000,
        }),
        M::TrebindZ(TrebindZ {
            fid: 40,
            inode_id: 35,
            root_inode: 0,
            flags: 0,
            uname: name("alice"),
            n_uname: 1000,
        }),
        M::TrebindZ(TrebindZ {
            fid: 41,
            inode_id: 36,
            root_inode: 2,
            flags: 1,
            uname: creds,
            n_uname: 1000,
        }),
        M::Rrebind(Rrebind { qid: qid(35) }),
        M::Twalkgetattr(Twalk {
            fid: 0,
            newfid: 2,
            wnames: vec![name("home"), name("alice")],
        }),
        M::Rwalkgetattr(Rwalkgetattr {
            wqids: vec![qid(36), qid(37)],
            stat: stat(37),
        }),
        M::Treaddirattr(Treaddir {
            fid: 6,
            offset: 2,
            count: 65536,
        }),
        M::Rreaddirattr(Rreaddirattr {
            entries: vec![entry_plus(38, "x"), entry_plus(39, "yy")],
        }),
        // Edge cases: empty lists, names and payloads.
        M::Twalk(Twalk {
            fid: 0,
            newfid: 0,
            wnames: Vec::new(),
        }),
        M::Rread(Rread { data: Bytes::new() }),
        M::Rreaddir(Rreaddir {
            entries: Vec::new(),
        }),
        M::Rwalk(Rwalk { wqids: Vec::new() }),
    ]
}

/// The envelope of every seed mutation in `.Z`.
pub const SEED_ENVELOPE: Envelope = Envelope {
    op_id: OpId([0x5a; 16]),
    flags: consts::envelope::RETRY,
    origin_epoch: 9,
};

/// Every seed message encoded as a frame in every dialect it exists in, with its dialect.
pub fn frames() -> Vec<(Dialect, Vec<u8>)> {
    let mut out = Vec::new();
    for dialect in Dialect::ALL {
        for (tag, message) in messages().into_iter().enumerate() {
            if !message.in_dialect(dialect) {
                continue;
            }
            let tag = if matches!(message, Message::Tversion(_)) {
                consts::NOTAG
            } else {
                tag as u16
            };
            let mut frame = Frame::new(tag, message);
            if dialect.has_envelope(frame.message.msg_type()) {
                frame.envelope = Some(SEED_ENVELOPE);
            }
            let mut wire = Vec::with_capacity(frame.encoded_len(dialect));
            frame
                .encode(dialect, &mut wire)
                .expect("seed frames encode");
            out.push((dialect, wire));
        }
    }
    out
}

/// Malformed frames: every one must be refused with an error, never a panic.
pub fn malformed() -> Vec<Vec<u8>> {
    let twalk = message_frame(
        Dialect::Plain,
        &|m| matches!(m, Message::Twalk(w) if !w.wnames.is_empty()),
    );
    let rread = message_frame(
        Dialect::Plain,
        &|m| matches!(m, Message::Rread(r) if !r.data.is_empty()),
    );
    let mut out = Vec::new();
    // Truncated inside the body, size field fixed up to match.
    out.push(with_size(twalk[..twalk.len() - 2].to_vec()));
    // One trailing byte after a complete body.
    let mut trailing = twalk.clone();
    trailing.push(0);
    out.push(with_size(trailing));
    // A data count running past the end of the frame.
    let mut long_count = rread.clone();
    long_count[7..11].copy_from_slice(&u32::MAX.to_le_bytes());
    out.push(long_count);
    // A lock type outside its enumeration, an eof flag of 2.
    let mut bad_lock = message_frame(Dialect::Plain, &|m| matches!(m, Message::Tlock(_)));
    bad_lock[11] = 7;
    out.push(bad_lock);
    let mut bad_flag = message_frame(Dialect::Z, &|m| matches!(m, Message::Rlopenatread(_)));
    bad_flag[24] = 2;
    out.push(bad_flag);
    // Unknown type ids, a header-only frame, undersized and oversized size fields.
    out.push(vec![7, 0, 0, 0, 6, 1, 0]);
    out.push(vec![8, 0, 0, 0, 112, 1, 0, 0]);
    out.push(vec![7, 0, 0, 0, 120, 1, 0]);
    out.push(vec![6, 0, 0, 0, 121, 1, 0]);
    out.push(vec![0, 0, 0, 0]);
    out.push((MAX_MSIZE + 1).to_le_bytes().to_vec());
    out.push(u32::MAX.to_le_bytes().to_vec());
    // A `.Z` mutation whose envelope is cut short.
    out.push(vec![
        17,
        0,
        0,
        0,
        MessageType::Twrite.id(),
        1,
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
    ]);
    out
}

/// The encoded frame of the first seed message matching `pick`, in `dialect`.
fn message_frame(dialect: Dialect, pick: &dyn Fn(&Message) -> bool) -> Vec<u8> {
    let message = messages()
        .into_iter()
        .find(|m| pick(m))
        .expect("a seed message matches");
    let mut frame = Frame::new(1, message);
    if dialect.has_envelope(frame.message.msg_type()) {
        frame.envelope = Some(SEED_ENVELOPE);
    }
    let mut wire = Vec::new();
    frame
        .encode(dialect, &mut wire)
        .expect("seed frames encode");
    wire
}

/// `frame` with its `size[4]` set to its length.
fn with_size(mut frame: Vec<u8>) -> Vec<u8> {
    let len = frame.len() as u32;
    frame[..4].copy_from_slice(&len.to_le_bytes());
    frame
}

/// Seeds of the `roundtrip` target: every frame of [`frames`] and every [`malformed`] one.
pub fn roundtrip_seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = frames().into_iter().map(|(_, wire)| wire).collect();
    out.extend(malformed());
    dedup(out)
}

/// Seeds of the `frame_decode` target: a control byte, then a stream. Each dialect's frames
/// are grouped into streams of up to six frames, and the malformed frames follow a valid one.
pub fn frame_decode_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dialect in Dialect::ALL {
        let frames: Vec<Vec<u8>> = frames()
            .into_iter()
            .filter(|(d, _)| *d == dialect)
            .map(|(_, w)| w)
            .collect();
        for (i, group) in frames.chunks(6).enumerate() {
            let mut input = vec![(i * 37 + dialect as usize) as u8];
            input.extend(group.iter().flatten());
            out.push(input);
        }
    }
    let valid = message_frame(Dialect::Plain, &|m| matches!(m, Message::Tclunk(_)));
    for (i, bad) in malformed().into_iter().enumerate() {
        let mut input = vec![i as u8 * 11];
        input.extend(&valid);
        input.extend(bad);
        out.push(input);
    }
    // A stream cut inside the second frame's size field and inside its body.
    let mut cut = vec![200];
    cut.extend(&valid);
    cut.extend(&valid[..3]);
    out.push(cut);
    let mut cut = vec![3];
    cut.extend(&valid);
    cut.extend(&valid[..9]);
    out.push(cut);
    dedup(out)
}

fn dedup(mut seeds: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    seeds.sort();
    seeds.dedup();
    seeds
}
