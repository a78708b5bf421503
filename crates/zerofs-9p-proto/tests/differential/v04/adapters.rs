//! Our messages and records as ninep_proto_04's and back. What 0.4.0 shares with 0.1.2 comes
//! from `crate::shared` (`shared_records!`, `from_theirs!`, `to_theirs!`); what is 0.4.0's own
//! is written out here.

use bytes::Bytes;
use ninep_proto_04 as v4;
use zerofs_9p_proto::*;

// Payloads travel as 0.4.0's `P9Bytes` (a `WireBytes`).
shared_records!(ninep_proto_04; payload = P9Bytes);

/// 0.4.0's string wrapper holds `Bytes` (0.1.2's a `Vec<u8>`); its payload wrapper is the
/// tuple struct `WireBytes`.
fn s(b: &Bytes) -> v4::P9String {
    v4::P9String::new(b.clone())
}

fn data(b: &Bytes) -> v4::P9Bytes {
    v4::WireBytes(b.clone())
}

/// Our `.Z` envelope as 0.4.0's (0.1.2 has none).
pub(super) fn envelope(e: &Envelope) -> v4::MutationEnvelope {
    v4::MutationEnvelope {
        op_id: e.op_id.0,
        flags: e.flags,
        origin_writer_epoch: e.origin_epoch,
    }
}

from_theirs! {
    /// A message 0.4.0 decoded, as ours; an error for values we cannot hold (inconsistent
    /// counts, out-of-range `Rlock.status` or `Rlopenatread.eof`, which 0.4.0 does not check).
    ninep_proto_04;
    // The 16-byte `.Z` `Rgetlineage` (0.1.2 has the 8-byte `.zerofs4` one).
    V::Rgetlineage(m) => M::Rgetlineage(Rgetlineage {
        token: m.token,
        writer_epoch: m.writer_epoch,
    }),
    // Messages 0.1.2 does not have.
    V::Tfallocate(m) => M::Tfallocate(Tfallocate {
        fid: m.fid,
        offset: m.offset,
        length: m.length,
        mode: m.mode,
    }),
    V::Rfallocate(_) => M::Rfallocate,
    V::Tlopenatread(m) => M::Tlopenatread(Tlopenatread {
        fid: m.fid,
        newfid: m.newfid,
        flags: m.flags,
        count: m.count,
    }),
    V::Rlopenatread(m) => M::Rlopenatread(Rlopenatread {
        qid: qid_back(&m.qid),
        iounit: m.iounit,
        eof: match m.eof {
            0 => false,
            1 => true,
            other => return Err(format!("Rlopenatread eof {other}")),
        },
        data: data_back(m.count, m.data)?,
    }),
    // The lock status is a raw byte in 0.4.0.
    V::Rlock(m) => M::Rlock(Rlock {
        status: LockStatus::from_u8(m.status).ok_or(format!("Rlock status {}", m.status))?,
    }),
    // 0.4.0 only knows the `.Z` `Trebind` layout.
    V::Trebind(m) => M::TrebindZ(TrebindZ {
        fid: m.fid,
        inode_id: m.inode_id,
        root_inode: m.root_inode,
        flags: m.flags,
        uname: s_back(m.uname)?,
        n_uname: m.n_uname,
    }),
}

to_theirs! {
    /// Our message as 0.4.0 builds it, or `None` where 0.4.0 has no such message or layout.
    /// Counts are always set from the lengths (0.4.0 writes stored counts verbatim).
    ninep_proto_04;
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
    M::Rlock(m) => V::Rlock(v4::Rlock {
        status: u8::from(m.status),
    }),
    M::TrebindZ(m) => V::Trebind(v4::Trebind {
        fid: m.fid,
        inode_id: m.inode_id,
        root_inode: m.root_inode,
        flags: m.flags,
        uname: s(&m.uname),
        n_uname: m.n_uname,
    }),
    // 0.4.0 has only the `.Z` `Trebind` layout (see the module docs of `v04`).
    M::Trebind(_) => return None,
}
