//! Strategies for the fields of messages: integers, names, payloads, records, enumerations and
//! the `.Z` envelope.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use zerofs_9p_proto::*;

/// `n` pseudo-random bytes from `seed` (cheaper than a proptest vector for kilobyte payloads).
pub fn seeded_bytes(n: usize, seed: u64) -> Bytes {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// Any `u32`, with the edges (0, `u32::MAX` = NOFID) drawn often.
pub fn u32s() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![8 => any::<u32>(), 1 => Just(0), 1 => Just(u32::MAX)]
}

/// Any `u64`, with the edges drawn often.
pub fn u64s() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![8 => any::<u64>(), 1 => Just(0), 1 => Just(u64::MAX)]
}

/// `n` pseudo-random bytes from `seed`, all from the portable file name set `[A-Za-z0-9._-]`.
pub fn seeded_printable(n: usize, seed: u64) -> Bytes {
    const SET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    seeded_bytes(n, seed)
        .iter()
        .map(|b| SET[usize::from(*b) % SET.len()])
        .collect::<Vec<u8>>()
        .into()
}

/// A short name: arbitrary bytes (non-UTF-8 included), printable names, or empty.
///
/// Bytes come from a seed rather than one proptest value per byte: generation stays cheap in
/// debug builds, and shrinking still shortens the name.
pub fn short_name() -> impl Strategy<Value = Bytes> + Clone {
    prop_oneof![
        4 => (0..=24usize, any::<u64>()).prop_map(|(n, seed)| seeded_bytes(n, seed)),
        2 => (0..=16usize, any::<u64>()).prop_map(|(n, seed)| seeded_printable(n, seed)),
        1 => Just(Bytes::new()),
    ]
}

/// A 9P string: mostly short, occasionally up to 1 KiB.
pub fn string() -> impl Strategy<Value = Bytes> + Clone {
    prop_oneof![
        9 => short_name(),
        1 => (0..=1024usize, any::<u64>()).prop_map(|(n, seed)| seeded_bytes(n, seed)),
    ]
}

/// A data payload of 0 to 4 KiB.
pub fn payload() -> impl Strategy<Value = Bytes> + Clone {
    prop_oneof![
        3 => (0..=64usize, any::<u64>()).prop_map(|(n, seed)| seeded_bytes(n, seed)),
        2 => (0..=4096usize, any::<u64>()).prop_map(|(n, seed)| seeded_bytes(n, seed)),
        1 => Just(Bytes::new()),
    ]
}

/// Walk names: 0 to 16 (MAXWELEM), occasionally more (the codec takes up to 65535).
pub fn wnames() -> impl Strategy<Value = Vec<Bytes>> + Clone {
    prop_oneof![9 => vec(short_name(), 0..=16), 1 => vec(short_name(), 17..=40)]
}

/// Any qid.
pub fn arb_qid() -> impl Strategy<Value = Qid> + Clone {
    (any::<u8>(), u32s(), u64s()).prop_map(|(ty, version, path)| Qid {
        ty: QidType(ty),
        version,
        path,
    })
}

/// Walked qids: 0 to 16, occasionally more.
pub fn wqids() -> impl Strategy<Value = Vec<Qid>> + Clone {
    prop_oneof![9 => vec(arb_qid(), 0..=16), 1 => vec(arb_qid(), 17..=40)]
}

/// Any 145-byte stat block.
pub fn arb_stat() -> impl Strategy<Value = Stat> + Clone {
    (arb_qid(), any::<[u32; 3]>(), any::<[u64; 15]>()).prop_map(|(qid, [mode, uid, gid], n)| Stat {
        qid,
        mode,
        uid,
        gid,
        nlink: n[0],
        rdev: n[1],
        size: n[2],
        blksize: n[3],
        blocks: n[4],
        atime_sec: n[5],
        atime_nsec: n[6],
        mtime_sec: n[7],
        mtime_nsec: n[8],
        ctime_sec: n[9],
        ctime_nsec: n[10],
        btime_sec: n[11],
        btime_nsec: n[12],
        generation: n[13],
        data_version: n[14],
    })
}

/// A `DT_*` type byte: mostly a real one, sometimes anything.
pub fn dirent_type() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![3 => proptest::sample::select(vec![0u8, 1, 2, 4, 6, 8, 10, 12]), 1 => any::<u8>()]
}

/// A directory entry.
pub fn arb_dirent() -> impl Strategy<Value = DirEntry> + Clone {
    (arb_qid(), u64s(), dirent_type(), string()).prop_map(|(qid, offset, ty, name)| DirEntry {
        qid,
        offset,
        ty,
        name,
    })
}

/// A directory entry with its stat.
pub fn arb_dirent_plus() -> impl Strategy<Value = DirEntryPlus> + Clone {
    (arb_qid(), u64s(), dirent_type(), string(), arb_stat()).prop_map(
        |(qid, offset, ty, name, stat)| DirEntryPlus {
            qid,
            offset,
            ty,
            name,
            stat,
        },
    )
}

/// Any lock type.
pub fn lock_type() -> impl Strategy<Value = LockType> + Clone {
    prop_oneof![
        Just(LockType::Read),
        Just(LockType::Write),
        Just(LockType::Unlock)
    ]
}

/// Any lock status.
pub fn lock_status() -> impl Strategy<Value = LockStatus> + Clone {
    prop_oneof![
        Just(LockStatus::Success),
        Just(LockStatus::Blocked),
        Just(LockStatus::Error),
        Just(LockStatus::Grace),
    ]
}

/// A `.Z` mutation envelope with a random (sometimes all-zero) op-id and random flags.
pub fn arb_envelope() -> impl Strategy<Value = Envelope> + Clone {
    (
        prop_oneof![4 => any::<[u8; 16]>(), 1 => Just([0u8; 16])],
        prop_oneof![2 => Just(0u8), 2 => Just(1u8), 1 => any::<u8>()],
        u64s(),
    )
        .prop_map(|(op_id, flags, origin_epoch)| Envelope {
            op_id: OpId(op_id),
            flags,
            origin_epoch,
        })
}

/// A version string: a real dialect, `unknown`, or anything.
pub fn version_string() -> impl Strategy<Value = Bytes> + Clone {
    let mut known: Vec<Bytes> = Dialect::ALL
        .iter()
        .map(|d| Bytes::from_static(d.version().as_bytes()))
        .collect();
    known.push(Bytes::from_static(b"unknown"));
    prop_oneof![proptest::sample::select(known), string()]
}

/// A `Trebind.uname` of `.Z`: a user name or a credential payload.
pub fn rebind_uname() -> impl Strategy<Value = Bytes> + Clone {
    prop_oneof![
        string(),
        (any::<u32>(), vec(any::<u32>(), 0..=20), any::<bool>()).prop_map(
            |(gid, groups, incomplete)| Credentials {
                gid,
                groups,
                incomplete
            }
            .to_bytes()
        ),
    ]
}
