//! Golden frames of the ZeroFS private messages: gen 1 (PROTOCOL.md §3.2), gen 2 (§3.3) and
//! `.Z` (§3.5, envelope §3.5.1), in every layout.

use super::*;

#[test]
fn gen1_trebind_layout() {
    golden(
        &[Zerofs, Zerofs2],
        "17000000 fa 0a00  size 23, Trebind
         05000000          fid 5
         2a00000000000000  inode_id 42
         e8030000          n_uname 1000",
        Frame::new(
            10,
            Message::Trebind(Trebind {
                fid: 5,
                inode_id: 42,
                n_uname: 1000,
            }),
        ),
    );
    golden(
        GEN1_UP,
        "14000000 fb 0900 00 5f000000 2a00000000000000",
        Frame::new(
            9,
            Message::Rrebind(Rrebind {
                qid: qid(QidType::FILE, 0x5f, 42),
            }),
        ),
    );
}

#[test]
fn z_trebind_layout_with_name_and_credentials() {
    golden(
        &[Z],
        "26000000 fa 0900  size 38, Trebind
         03000000          fid 3
         2a00000000000000  inode_id 42
         0500000000000000  root_inode 5
         01                flags REPLAY
         0400 726f6f74     uname \"root\"
         e8030000          n_uname 1000",
        Frame::new(
            9,
            Message::TrebindZ(TrebindZ {
                fid: 3,
                inode_id: 42,
                root_inode: 5,
                flags: consts::rebind::REPLAY,
                uname: b(b"root"),
                n_uname: 1000,
            }),
        ),
    );
    let creds = Credentials {
        gid: 100,
        groups: vec![4, 27],
        incomplete: false,
    };
    let wire = golden(
        &[Z],
        "31000000 fa 0b00  size 49, Trebind
         07000000 0001000000000000 0000000000000000   fid 7, inode 0x100, root 0
         03                flags REPLAY|OPENED
         0f00 ff01 64000000 02 04000000 1b000000      credentials: gid 100, groups 4, 27
         00000000          n_uname 0",
        Frame::new(
            11,
            Message::TrebindZ(TrebindZ {
                fid: 7,
                inode_id: 0x100,
                root_inode: 0,
                flags: consts::rebind::REPLAY | consts::rebind::OPENED,
                uname: creds.to_bytes(),
                n_uname: 0,
            }),
        ),
    );
    let Message::TrebindZ(rebind) = Frame::decode(Bytes::from(wire), Z).unwrap().message else {
        panic!("not a .Z Trebind");
    };
    assert_eq!(Credentials::parse(&rebind.uname), Some(creds));
}

#[test]
fn gen1_walkgetattr() {
    golden(
        GEN1_UP,
        "1b000000 fc 0300 00000000 01000000 0200 0300 757372 0300 6c6962",
        Frame::new(
            3,
            Message::Twalkgetattr(Twalk {
                fid: 0,
                newfid: 1,
                wnames: vec![b(b"usr"), b(b"lib")],
            }),
        ),
    );
    golden(
        GEN1_UP,
        &format!(
            "b4000000 fd 0300  size 180, Rwalkgetattr
             0200              nwqid 2
             80 01000000 0200000000000000
             80 03000000 0400000000000000
             {STAT_A}"
        ),
        Frame::new(
            3,
            Message::Rwalkgetattr(Rwalkgetattr {
                wqids: vec![qid(QidType::DIR, 1, 2), qid(QidType::DIR, 3, 4)],
                stat: stat_a(),
            }),
        ),
    );
}

#[test]
fn gen1_readdirattr_with_two_entries() {
    golden(
        GEN1_UP,
        "17000000 fe 0800 02000000 0000000000000000 00200000",
        Frame::new(
            8,
            Message::Treaddirattr(Treaddir {
                fid: 2,
                offset: 0,
                count: 8192,
            }),
        ),
    );
    golden(
        GEN1_UP,
        &format!(
            "60010000 ff 0800  size 352, Rreaddirattr
             55010000          count 341 = 170 + 171
             80 01000000 1000000000000000 0100000000000000 04 0100 2e
             {STAT_A}
             02 09000000 9900000000000000 ffffffffffffff7f 0a 0200 6c6e
             {STAT_B}"
        ),
        Frame::new(
            8,
            Message::Rreaddirattr(Rreaddirattr {
                entries: vec![
                    DirEntryPlus {
                        qid: qid(QidType::DIR, 1, 0x10),
                        offset: 1,
                        ty: consts::dirent::DIR,
                        name: b(b"."),
                        stat: stat_a(),
                    },
                    DirEntryPlus {
                        qid: qid(QidType::SYMLINK, 9, 0x99),
                        offset: i64::MAX as u64,
                        ty: consts::dirent::LNK,
                        name: b(b"ln"),
                        stat: stat_b(),
                    },
                ],
            }),
        ),
    );
}

#[test]
fn gen2_lopenat() {
    golden(
        GEN2_UP,
        "13000000 ec 1100 01000000 05000000 02800000",
        Frame::new(
            0x11,
            Message::Tlopenat(Tlopenat {
                fid: 1,
                newfid: 5,
                flags: consts::open::RDWR | consts::open::LARGEFILE,
            }),
        ),
    );
    golden(
        GEN2_UP,
        "18000000 ed 1100 00 10000000 2000000000000000 00100000",
        Frame::new(
            0x11,
            Message::Rlopenat(Rlopen {
                qid: qid(QidType::FILE, 0x10, 0x20),
                iounit: 4096,
            }),
        ),
    );
}

#[test]
fn gen2_and_z_lcreateattr() {
    let body = "01000000 06000000 0700 6e65772e747874 41000000 a4810000 64000000";
    let frame = |envelope| Frame {
        tag: 0x12,
        envelope,
        message: Message::Tlcreateattr(Tlcreateattr {
            dfid: 1,
            newfid: 6,
            name: b(b"new.txt"),
            flags: consts::open::WRONLY | consts::open::CREAT,
            mode: 0o100644,
            gid: 100,
        }),
    };
    golden(&[Zerofs2], &format!("24000000 ee 1200 {body}"), frame(None));
    golden(
        &[Z],
        &format!("3d000000 ee 1200 {ENV_B} {body}"),
        frame(Some(env_b())),
    );
    golden(
        GEN2_UP,
        &format!("9c000000 ef 1200 00000000 {STAT_A}"),
        Frame::new(
            0x12,
            Message::Rlcreateattr(Rlcreateattr {
                iounit: 0,
                stat: stat_a(),
            }),
        ),
    );
}

/// The `T*attr` requests in both layouts (gen 2 bare, `.Z` with envelope A) and their replies.
#[test]
fn gen2_and_z_attr_family() {
    let mkdir = Tmkdir {
        dfid: 1,
        name: b(b"d"),
        mode: 0o755,
        gid: 0,
    };
    let symlink = Tsymlink {
        dfid: 1,
        name: b(b"l"),
        symtgt: b(b"/t"),
        gid: 5,
    };
    let mknod = Tmknod {
        dfid: 1,
        name: b(b"n"),
        mode: 0o20644,
        major: 1,
        minor: 3,
        gid: 0,
    };
    let link = Tlink {
        dfid: 1,
        fid: 2,
        name: b(b"h"),
    };
    let setattr = Tsetattr {
        fid: 1,
        valid: 0x1ff,
        mode: 2,
        uid: 3,
        gid: 4,
        size: 5,
        atime_sec: 6,
        atime_nsec: 7,
        mtime_sec: 8,
        mtime_nsec: 9,
    };
    // (gen 2 size, .Z size, type and tag, body, message)
    let cases = [
        (
            "16000000",
            "2f000000",
            "f0 0100",
            "01000000 0100 64 ed010000 00000000",
            Message::Tmkdirattr(mkdir),
        ),
        (
            "16000000",
            "2f000000",
            "f2 0200",
            "01000000 0100 6c 0200 2f74 05000000",
            Message::Tsymlinkattr(symlink),
        ),
        (
            "1e000000",
            "37000000",
            "f4 0300",
            "01000000 0100 6e a4210000 01000000 03000000 00000000",
            Message::Tmknodattr(mknod),
        ),
        (
            "12000000",
            "2b000000",
            "f6 0400",
            "01000000 02000000 0100 68",
            Message::Tlinkattr(link),
        ),
        (
            "43000000",
            "5c000000",
            "f8 0500",
            "01000000 ff010000 02000000 03000000 04000000 0500000000000000
             0600000000000000 0700000000000000 0800000000000000 0900000000000000",
            Message::Tsetattrattr(setattr),
        ),
    ];
    for (size, size_z, head, body, message) in cases {
        let tag = u16::from(hex(head)[1]);
        golden(
            &[Zerofs2],
            &format!("{size} {head} {body}"),
            Frame::new(tag, message.clone()),
        );
        golden(
            &[Z],
            &format!("{size_z} {head} {ENV_A} {body}"),
            Frame::with_envelope(tag, env_a(), message),
        );
    }

    let reply = |stat| AttrReply { stat };
    golden(
        GEN2_UP,
        &format!("98000000 f1 0100 {STAT_A}"),
        Frame::new(1, Message::Rmkdirattr(reply(stat_a()))),
    );
    golden(
        GEN2_UP,
        &format!("98000000 f3 0200 {STAT_B}"),
        Frame::new(2, Message::Rsymlinkattr(reply(stat_b()))),
    );
    golden(
        GEN2_UP,
        &format!("98000000 f5 0300 {STAT_A}"),
        Frame::new(3, Message::Rmknodattr(reply(stat_a()))),
    );
    golden(
        GEN2_UP,
        &format!("98000000 f7 0400 {STAT_B}"),
        Frame::new(4, Message::Rlinkattr(reply(stat_b()))),
    );
    golden(
        GEN2_UP,
        &format!("98000000 f9 0500 {STAT_A}"),
        Frame::new(5, Message::Rsetattrattr(reply(stat_a()))),
    );
}

#[test]
fn z_getlineage() {
    golden(
        &[Z],
        "07000000 e9 0100",
        Frame::new(1, Message::Tgetlineage),
    );
    golden(
        &[Z],
        "17000000 ea 0100 0807060504030201 0300000000000000",
        Frame::new(
            1,
            Message::Rgetlineage(Rgetlineage {
                token: 0x0102_0304_0506_0708,
                writer_epoch: 3,
            }),
        ),
    );
}

#[test]
fn z_lopenatread() {
    golden(
        &[Z],
        "17000000 e6 0200 01000000 02000000 00800000 00000100",
        Frame::new(
            2,
            Message::Tlopenatread(Tlopenatread {
                fid: 1,
                newfid: 2,
                flags: consts::open::LARGEFILE,
                count: 0x10000,
            }),
        ),
    );
    golden(
        &[Z],
        "22000000 e7 0200  size 34, Rlopenatread
         00 07000000 3300000000000000   qid
         00000000 01       iounit 0, eof
         05000000 68656c6c6f   \"hello\"",
        Frame::new(
            2,
            Message::Rlopenatread(Rlopenatread {
                qid: qid(QidType::FILE, 7, 0x33),
                iounit: 0,
                eof: true,
                data: b(b"hello"),
            }),
        ),
    );
}

#[test]
fn z_fsyncdur_is_answered_by_rfsync() {
    golden(
        &[Z],
        "17000000 e8 0400 09000000 02000000 efbeadde00000000",
        Frame::new(
            4,
            Message::Tfsyncdur(Tfsyncdur {
                fid: 9,
                datasync: consts::fsyncdur::INODE,
                token: 0xdead_beef,
            }),
        ),
    );
    let wire = golden(ALL, "07000000 33 0400", Frame::new(4, Message::Rfsync));
    let reply = Frame::decode(Bytes::from(wire), Z).unwrap();
    assert_eq!(
        MessageType::Tfsyncdur.reply(),
        Some(reply.message.msg_type())
    );
}

#[test]
fn z_fallocate_with_envelope() {
    golden(
        &[Z],
        &format!(
            "38000000 e4 0600  size 56 = 7 + 25 + 24, Tfallocate
             {ENV_A}
             04000000 0010000000000000 0020000000000000   fid 4, offset, length
             03000000          mode PUNCH_HOLE|KEEP_SIZE"
        ),
        Frame::with_envelope(
            6,
            env_a(),
            Message::Tfallocate(Tfallocate {
                fid: 4,
                offset: 0x1000,
                length: 0x2000,
                mode: 0x03,
            }),
        ),
    );
    golden(&[Z], "07000000 e5 0600", Frame::new(6, Message::Rfallocate));
}

#[test]
fn z_twrite_count_at_offset_44() {
    let frame = Frame::with_envelope(
        0x21,
        Envelope {
            op_id: OpId([0x11; 16]),
            flags: 0,
            origin_epoch: 7,
        },
        Message::Twrite(Twrite {
            fid: 2,
            offset: 0x10,
            data: b(b"abc"),
        }),
    );
    let wire = golden(
        &[Z],
        "33000000 76 2100  size 51, Twrite
         11111111111111111111111111111111 00 0700000000000000   envelope
         02000000 1000000000000000   fid 2, offset 0x10
         03000000 616263   count 3 (offset 44), \"abc\"",
        frame.clone(),
    );
    assert_eq!(wire[44..48], 3u32.to_le_bytes());
    let mut head = Vec::new();
    frame.encode_head(Z, &mut head).unwrap();
    assert_eq!(head[..], wire[..48]);
}

#[test]
fn z_standard_mutation_with_envelope() {
    golden(
        &[Z],
        &format!("2f000000 48 0900 {ENV_A} 01000000 0100 64 ed010000 00000000"),
        Frame::with_envelope(
            9,
            env_a(),
            Message::Tmkdir(Tmkdir {
                dfid: 1,
                name: b(b"d"),
                mode: 0o755,
                gid: 0,
            }),
        ),
    );
    golden(
        &[Z],
        &format!("2b000000 4c 0300 {ENV_B} 01000000 0100 78 00000000"),
        Frame::with_envelope(
            3,
            env_b(),
            Message::Tunlinkat(Tunlinkat {
                dirfid: 1,
                name: b(b"x"),
                flags: 0,
            }),
        ),
    );
}
