//! What the adapters to ninep-proto 0.1.2 (`v01`) and 0.4.0 (`v04`) share. Most of their
//! types have the same names and fields, so the conversions for those are written once as
//! macros over the crate path (`shared_records!`, `from_theirs!`, `to_theirs!`); each version's
//! module adds what is its own. The checks both run on a frame are plain functions here.

#[macro_use]
mod records;
#[macro_use]
mod from_theirs;
#[macro_use]
mod to_theirs;

use std::fmt::Display;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use zerofs_9p_proto::*;

/// The outcome of one differential check.
pub type Check = Result<(), TestCaseError>;

/// Types neither version can represent: ZeroFS never implemented them (its servers answer them
/// with `Rlerror`), so its codec has no variants for them.
pub const NEVER_IN_ZEROFS: &[MessageType] = &[
    MessageType::Tauth,
    MessageType::Rauth,
    MessageType::Txattrcreate,
    MessageType::Rxattrcreate,
    MessageType::Tremove,
    MessageType::Rremove,
];

/// A string's bytes as ours: an error if its stored length `len` is not theirs.
pub fn checked_string(len: u16, data: impl Into<Bytes>) -> Result<Bytes, String> {
    let data = data.into();
    if usize::from(len) != data.len() {
        return Err(format!("string len {len} for {} bytes", data.len()));
    }
    Ok(data)
}

/// Their directory entries as ours: an error if the stored `count` is not the payload's `len`
/// (checked before `decode` runs), if `decode` fails or if an entry cannot be held (`back`).
pub fn entries_back<E, T, D: Display>(
    what: &str,
    count: u32,
    len: usize,
    decode: impl FnOnce() -> Result<Vec<E>, D>,
    back: impl Fn(E) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    if count as usize != len {
        return Err(format!("{what} count {count} for {len} bytes"));
    }
    let entries = decode().map_err(|e| e.to_string())?;
    entries.into_iter().map(back).collect()
}

/// Ours → theirs, once the `peer` version has decoded `wire` (our encoding of `frame`): the
/// header it read (`size`, type, tag) is the frame's, its re-encoding `again` is `wire` to the
/// byte, and its body converts `back` to the frame's message.
pub fn check_decoded(
    peer: &str,
    frame: &Frame,
    wire: &[u8],
    (size, ty, tag): (usize, u8, u16),
    again: Result<Vec<u8>, String>,
    back: impl FnOnce() -> Result<Message, String>,
) -> Check {
    prop_assert_eq!(size, wire.len());
    prop_assert_eq!(ty, frame.message.msg_type().id());
    prop_assert_eq!(tag, frame.tag);
    let again = again.map_err(TestCaseError::fail)?;
    prop_assert_eq!(&again, wire, "{} re-encoding differs", peer);
    let back = back().map_err(TestCaseError::fail)?;
    prop_assert_eq!(&back, &frame.message);
    Ok(())
}

/// Theirs → ours, once a peer version has encoded `frame` as `wire`: ours decodes `wire` to the
/// same frame, and encodes that frame to the very same bytes.
pub fn check_ours_reads(dialect: Dialect, frame: &Frame, wire: Vec<u8>) -> Check {
    let ours = Frame::decode(Bytes::from(wire.clone()), dialect)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&ours, frame);
    prop_assert_eq!(&crate::common::encode(&ours, dialect), &wire);
    Ok(())
}
