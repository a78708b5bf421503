//! Golden frames written out by hand, field by field, from the layouts in PROTOCOL.md (§1, §2.2,
//! §3.2, §3.3, §3.5, §3.5.1) — not produced by any encoder. Each must decode to the expected
//! struct in the dialects listed, encode from that struct to exactly these bytes, and not decode
//! to the same frame in any other dialect.

use bytes::Bytes;
use zerofs_9p_proto::consts::{NOFID, NONUNAME, NOTAG};
use zerofs_9p_proto::*;

use Dialect::{Plain, Z, Zerofs, Zerofs2};

#[path = "golden/private.rs"]
mod private;

const ALL: &[Dialect] = &[Plain, Zerofs, Zerofs2, Z];
const GEN1_UP: &[Dialect] = &[Zerofs, Zerofs2, Z];
const GEN2_UP: &[Dialect] = &[Zerofs2, Z];

/// Stat A: a directory, every field distinct.
const STAT_A: &str = "
    80 44332211 0807060504030201    qid: DIR, version 0x11223344, path 0x0102030405060708
    ed410000 e8030000 e9030000      mode 040755, uid 1000, gid 1001
    0200000000000000                nlink 2
    0708000000000000                rdev 0x0807
    3412000000000000                size 0x1234
    0010000000000000                blksize 4096
    2800000000000000                blocks 0x28
    1100000000000000 1200000000000000   atime
    2100000000000000 2200000000000000   mtime
    3100000000000000 3200000000000000   ctime
    4100000000000000 4200000000000000   btime
    5100000000000000                gen
    6100000000000000                data_version
";

fn stat_a() -> Stat {
    Stat {
        qid: Qid {
            ty: QidType::DIR,
            version: 0x1122_3344,
            path: 0x0102_0304_0506_0708,
        },
        mode: 0o40755,
        uid: 1000,
        gid: 1001,
        nlink: 2,
        rdev: 0x0807,
        size: 0x1234,
        blksize: 4096,
        blocks: 0x28,
        atime_sec: 0x11,
        atime_nsec: 0x12,
        mtime_sec: 0x21,
        mtime_nsec: 0x22,
        ctime_sec: 0x31,
        ctime_nsec: 0x32,
        btime_sec: 0x41,
        btime_nsec: 0x42,
        generation: 0x51,
        data_version: 0x61,
    }
}

/// Stat B: a symlink.
const STAT_B: &str = "
    02 09000000 9900000000000000    qid: SYMLINK, version 9, path 0x99
    ffa10000 00000000 00000000      mode 0120777, uid 0, gid 0
    0100000000000000                nlink 1
    0000000000000000                rdev 0
    0600000000000000                size 6
    0010000000000000                blksize 4096
    0100000000000000                blocks 1
    00f1536500000000 ffc99a3b00000000   atime 0x6553f100 . 999999999
    01f1536500000000 0000000000000000   mtime
    02f1536500000000 0000000000000000   ctime
    0000000000000000 0000000000000000   btime
    0000000000000000                gen
    ffffffffffffffff                data_version
";

fn stat_b() -> Stat {
    Stat {
        qid: Qid {
            ty: QidType::SYMLINK,
            version: 9,
            path: 0x99,
        },
        mode: 0o120777,
        nlink: 1,
        size: 6,
        blksize: 4096,
        blocks: 1,
        atime_sec: 0x6553_f100,
        atime_nsec: 999_999_999,
        mtime_sec: 0x6553_f101,
        ctime_sec: 0x6553_f102,
        data_version: u64::MAX,
        ..Stat::default()
    }
}

/// Envelope A: op-id 00..0f, RETRY, origin epoch 2.
const ENV_A: &str = "000102030405060708090a0b0c0d0e0f 01 0200000000000000";

fn env_a() -> Envelope {
    Envelope {
        op_id: OpId(core::array::from_fn(|i| i as u8)),
        flags: 1,
        origin_epoch: 2,
    }
}

/// Envelope B: op-id ff.., no flags, origin epoch 0.
const ENV_B: &str = "ffffffffffffffffffffffffffffffff 00 0000000000000000";

fn env_b() -> Envelope {
    Envelope {
        op_id: OpId([0xff; 16]),
        flags: 0,
        origin_epoch: 0,
    }
}

fn b(s: &'static [u8]) -> Bytes {
    Bytes::from_static(s)
}

fn qid(ty: QidType, version: u32, path: u64) -> Qid {
    Qid { ty, version, path }
}

/// Parses hex digits, ignoring whitespace and anything after two or more spaces on a line
/// (field comments).
fn hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .map(|line| line.trim_start().split("  ").next().unwrap_or(""))
        .flat_map(|code| code.chars().filter(|c| !c.is_whitespace()))
        .collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits: {digits}");
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .unwrap_or_else(|_| panic!("bad hex at {i}: {digits}"))
        })
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks one golden frame: its size field, its decoding in `dialects`, its encoding, and that
/// no other dialect decodes it to the same frame. Returns the wire bytes.
fn golden(dialects: &[Dialect], text: &str, expected: Frame) -> Vec<u8> {
    let wire = hex(text);
    let size = u32::from_le_bytes(wire[..4].try_into().unwrap());
    assert_eq!(
        size as usize,
        wire.len(),
        "golden {} has a wrong size field",
        expected.message.name()
    );
    for &dialect in dialects {
        let decoded = Frame::decode(Bytes::from(wire.clone()), dialect)
            .unwrap_or_else(|e| panic!("golden {} in {dialect}: {e}", expected.message.name()));
        assert_eq!(decoded, expected, "decoding in {dialect}");
        let mut out = Vec::new();
        expected.encode(dialect, &mut out).unwrap();
        assert_eq!(
            to_hex(&out),
            to_hex(&wire),
            "encoding {} in {dialect}",
            expected.message.name()
        );
        assert_eq!(expected.encoded_len(dialect), wire.len());
    }
    for dialect in ALL.iter().filter(|d| !dialects.contains(d)) {
        assert_ne!(
            Frame::decode(Bytes::from(wire.clone()), *dialect),
            Ok(expected.clone()),
            "{dialect}"
        );
    }
    wire
}

#[test]
fn standard_version_attach_error() {
    golden(
        ALL,
        "17000000 64 ffff  size 23, Tversion, NOTAG
         00200000          msize 8192
         0a00 3950323030302e4c2e5a   \"9P2000.L.Z\"",
        Frame::new(
            NOTAG,
            Message::Tversion(Tversion {
                msize: 8192,
                version: b(b"9P2000.L.Z"),
            }),
        ),
    );
    golden(
        ALL,
        "1b000000 68 0100 00000000 ffffffff 0400 726f6f74 0000 ffffffff",
        Frame::new(
            1,
            Message::Tattach(Tattach {
                fid: 0,
                afid: NOFID,
                uname: b(b"root"),
                aname: Bytes::new(),
                n_uname: NONUNAME,
            }),
        ),
    );
    golden(
        ALL,
        "0b000000 07 0300 02000000",
        Frame::new(3, Message::error(consts::errno::ENOENT)),
    );
}

#[test]
fn standard_rgetattr_is_160_bytes() {
    let wire = golden(
        ALL,
        &format!("a0000000 19 0201 ff3f000000000000 {STAT_A}"),
        Frame::new(
            0x0102,
            Message::Rgetattr(Rgetattr {
                valid: consts::getattr::ALL,
                stat: stat_a(),
            }),
        ),
    );
    assert_eq!(wire.len(), 160);
}

#[test]
fn standard_twalk_with_names() {
    golden(
        ALL,
        "18000000 6e 0700  size 24, Twalk, tag 7
         01000000 02000000   fid 1, newfid 2
         0200              nwname 2
         0200 6162         \"ab\"
         0100 ff           non-UTF-8 name",
        Frame::new(
            7,
            Message::Twalk(Twalk {
                fid: 1,
                newfid: 2,
                wnames: vec![b(b"ab"), b(b"\xff")],
            }),
        ),
    );
    golden(
        ALL,
        "09000000 6f 0700 0000",
        Frame::new(7, Message::Rwalk(Rwalk { wqids: vec![] })),
    );
}

#[test]
fn standard_rreaddir() {
    golden(
        ALL,
        "40000000 29 0500  size 64, Rreaddir
         35000000          count 53
         80 01000000 1000000000000000 0100000000000000 04 0100 2e
         00 02000000 1100000000000000 ffffffffffffffff 08 0400 66696c65",
        Frame::new(
            5,
            Message::Rreaddir(Rreaddir {
                entries: vec![
                    DirEntry {
                        qid: qid(QidType::DIR, 1, 0x10),
                        offset: 1,
                        ty: consts::dirent::DIR,
                        name: b(b"."),
                    },
                    DirEntry {
                        qid: qid(QidType::FILE, 2, 0x11),
                        offset: u64::MAX,
                        ty: consts::dirent::REG,
                        name: b(b"file"),
                    },
                ],
            }),
        ),
    );
    golden(
        ALL,
        "0b000000 29 0500 00000000",
        Frame::new(5, Message::Rreaddir(Rreaddir { entries: vec![] })),
    );
}

#[test]
fn standard_tlock_and_rlock() {
    golden(
        ALL,
        "2a000000 34 0900  size 42, Tlock
         03000000 01       fid 3, type WRITE
         01000000          flags BLOCK
         0001000000000000 0000000000000000   start 0x100, length 0
         34120000 0400 686f7374              proc_id, client_id \"host\"",
        Frame::new(
            9,
            Message::Tlock(Tlock {
                fid: 3,
                ty: LockType::Write,
                flags: consts::lock_flags::BLOCK,
                start: 0x100,
                length: 0,
                proc_id: 0x1234,
                client_id: b(b"host"),
            }),
        ),
    );
    golden(
        ALL,
        "08000000 35 0900 01",
        Frame::new(
            9,
            Message::Rlock(Rlock {
                status: LockStatus::Blocked,
            }),
        ),
    );
}

#[test]
fn standard_twrite_count_at_offset_19() {
    let wire = golden(
        ALL.split_last().unwrap().1,
        "1a000000 76 2100 02000000 1000000000000000 03000000 616263",
        Frame::new(
            0x21,
            Message::Twrite(Twrite {
                fid: 2,
                offset: 0x10,
                data: b(b"abc"),
            }),
        ),
    );
    assert_eq!(wire[19..23], 3u32.to_le_bytes());
}
