//! Adapters to and checks against `ninep-proto` 0.4.0 (renamed `ninep_proto_04`): ZeroFS's
//! published codec for plain `9P2000.L` (`op_id_enabled = false`) and `9P2000.L.Z`
//! (`op_id_enabled = true`, which only switches the 25-byte envelope on).
//!
//! What 0.4.0 lacks, and so is skipped:
//! - `Tauth`/`Rauth`, `Txattrcreate`/`Rxattrcreate`, `Tremove`/`Rremove`: ZeroFS never
//!   implemented them (servers answer them with `Rlerror`), so its codec has no variants.
//! - The gen 1/gen 2 `Trebind` layout: 0.4.0 only knows the `.Z` one, whatever the framing.
//!
//! With plain framing 0.4.0 is also compared in the gen 1/gen 2 dialects, whose other private
//! messages have the same layout as in `.Z`. 0.4.0 is strict about sizes and trailing bytes but
//! writes stored counts verbatim, so counts are always set from lengths, and the adapters refuse
//! inconsistent ones.

mod adapters;

use ninep_proto_04 as v4;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use zerofs_9p_proto::*;

use self::adapters::envelope;
pub use self::adapters::{from_theirs, to_theirs};
use crate::shared::{Check, NEVER_IN_ZEROFS, check_decoded, check_ours_reads};

/// Whether 0.4.0 cannot represent `ty` at all: only what ZeroFS never implemented.
pub fn lacks(ty: MessageType) -> bool {
    NEVER_IN_ZEROFS.contains(&ty)
}

/// Whether frames of `ty` in `dialect` can be compared with 0.4.0.
pub fn supports(dialect: Dialect, ty: MessageType) -> bool {
    !lacks(ty) && (dialect == Dialect::Z || ty != MessageType::Trebind)
}

/// The `op_id_enabled` switch of 0.4.0 for a dialect.
pub fn z(dialect: Dialect) -> bool {
    dialect == Dialect::Z
}

/// Decodes with 0.4.0 in the framing of `dialect`.
pub fn decode(wire: &[u8], dialect: Dialect) -> Result<v4::P9Message, String> {
    v4::P9Message::from_bytes_ctx(wire, z(dialect)).map_err(|e| e.to_string())
}

/// Ours → theirs: our bytes decode in 0.4.0 to the same header, envelope and values, and 0.4.0
/// re-encodes its decoded value to the very same bytes.
pub fn ours_to_theirs(dialect: Dialect, frame: &Frame) -> Check {
    let wire = crate::common::encode(frame, dialect);
    let theirs = decode(&wire, dialect).map_err(TestCaseError::fail)?;
    let env = v4::MutationEnvelope {
        op_id: theirs.op_id,
        flags: theirs.op_flags,
        origin_writer_epoch: theirs.op_origin_epoch,
    };
    prop_assert_eq!(
        env,
        frame.envelope.as_ref().map(envelope).unwrap_or_default()
    );
    let header = (theirs.size as usize, theirs.type_, theirs.tag);
    let again = theirs.to_bytes_ctx(z(dialect)).map_err(|e| e.to_string());
    check_decoded("0.4.0", frame, &wire, header, again, || {
        from_theirs(theirs.body)
    })
}

/// Theirs → ours: the message built in 0.4.0 (with the frame's envelope) and encoded by it
/// decodes in ours to the same frame, and ours encodes that frame to the very same bytes.
pub fn theirs_to_ours(dialect: Dialect, frame: &Frame) -> Check {
    let body = to_theirs(&frame.message).expect("a message 0.4.0 has");
    // Where the frame takes no envelope, hand 0.4.0 a non-zero one anyway: it must leave it out.
    let junk = v4::MutationEnvelope {
        op_id: [0x5a; 16],
        flags: 1,
        origin_writer_epoch: 9,
    };
    let env = frame.envelope.as_ref().map_or(junk, envelope);
    let msg = v4::P9Message::new_with_op_id_flags_and_origin(
        frame.tag,
        env.op_id,
        env.flags,
        env.origin_writer_epoch,
        body,
    );
    let wire = msg
        .to_bytes_ctx(z(dialect))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    check_ours_reads(dialect, frame, wire)
}
