//! Our messages and records as ninep_proto_01's and back. What 0.1.2 shares with 0.4.0 comes
//! from `crate::shared` (`shared_records!`, `from_theirs!`, `to_theirs!`); what is 0.1.2's own
//! is written out here.

use bytes::Bytes;
use ninep_proto_01 as v1;
use zerofs_9p_proto::*;

// Payloads travel as 0.1.2's `DekuBytes`.
shared_records!(ninep_proto_01; payload = DekuBytes);

/// 0.1.2's string wrapper holds a `Vec<u8>` (0.4.0's holds `Bytes`); its payload wrapper is
/// built from `Bytes` with `From`.
fn s(b: &Bytes) -> v1::P9String {
    v1::P9String::new(b.to_vec())
}

fn data(b: &Bytes) -> v1::DekuBytes {
    v1::DekuBytes::from(b.clone())
}

/// 0.1.2 has a lock-status enum (0.4.0 a raw byte).
fn lock_status(t: LockStatus) -> v1::LockStatus {
    match t {
        LockStatus::Success => v1::LockStatus::Success,
        LockStatus::Blocked => v1::LockStatus::Blocked,
        LockStatus::Error => v1::LockStatus::LockError,
        LockStatus::Grace => v1::LockStatus::Grace,
    }
}

fn lock_status_back(t: v1::LockStatus) -> LockStatus {
    match t {
        v1::LockStatus::Success => LockStatus::Success,
        v1::LockStatus::Blocked => LockStatus::Blocked,
        v1::LockStatus::LockError => LockStatus::Error,
        v1::LockStatus::Grace => LockStatus::Grace,
    }
}

from_theirs! {
    /// A message 0.1.2 decoded, as ours; an error for values we cannot hold (inconsistent
    /// counts, the 8-byte `Rgetlineage`).
    ninep_proto_01;
    // 0.1.2's `Rgetlineage` is the 8-byte `.zerofs4` one, not the 16-byte `.Z` one we speak.
    V::Rgetlineage(m) => {
        return Err(format!("8-byte .zerofs4 Rgetlineage (token {})", m.token));
    }
    V::Rlock(m) => M::Rlock(Rlock {
        status: lock_status_back(m.status),
    }),
    // The gen 1/gen 2 `Trebind` layout (0.1.2 has no `.Z` one).
    V::Trebind(m) => M::Trebind(Trebind {
        fid: m.fid,
        inode_id: m.inode_id,
        n_uname: m.n_uname,
    }),
}

to_theirs! {
    /// Our message as 0.1.2 builds it, or `None` where 0.1.2 has no such message or layout.
    /// Counts are always set from the lengths (0.1.2 writes stored counts verbatim).
    ninep_proto_01;
    M::Rlock(m) => V::Rlock(v1::Rlock {
        status: lock_status(m.status),
    }),
    // The gen 1/gen 2 `Trebind` layout.
    M::Trebind(m) => V::Trebind(v1::Trebind {
        fid: m.fid,
        inode_id: m.inode_id,
        n_uname: m.n_uname,
    }),
    // Added after 0.1.x, or `.Z` layouts (see the module docs of `v01`).
    M::Tfallocate(_)
    | M::Rfallocate
    | M::Tlopenatread(_)
    | M::Rlopenatread(_)
    | M::Rgetlineage(_)
    | M::TrebindZ(_) => return None,
}
