//! Adapters to and checks against `ninep-proto` 0.1.2 (renamed `ninep_proto_01`): ZeroFS's
//! published codec for plain `9P2000.L`, `.zerofs` (gen 1) and `.zerofs2` (gen 2) framing.
//!
//! What 0.1.2 lacks, and so is skipped:
//! - `Tauth`/`Rauth`, `Txattrcreate`/`Rxattrcreate`, `Tremove`/`Rremove`: ZeroFS never
//!   implemented them (servers answer them with `Rlerror`), so its codec has no variants.
//! - `Tfallocate`/`Rfallocate`, `Tlopenatread`/`Rlopenatread`: added after 0.1.x
//!   (`.zerofs5`/`.zerofs6`, then `.Z`).
//! - The `.Z` layouts: the `.Z` `Trebind`, the 16-byte `Rgetlineage` (0.1.2 has the 8-byte
//!   `.zerofs4` one) and the 25-byte envelope. So in the `.Z` dialect only envelope-free frames
//!   with an unchanged layout are compared (`Tfsyncdur` and `Tgetlineage` included).
//!
//! 0.1.x decodes leniently (it ignores the size field and trailing bytes, and trusts stored
//! counts), so decoding alone proves little: every check also re-encodes their decoded value and
//! compares bytes, and the adapters refuse inconsistent counts.

mod adapters;

use ninep_proto_01 as v1;
use proptest::test_runner::TestCaseError;
use zerofs_9p_proto::*;

pub use self::adapters::{from_theirs, to_theirs};
use crate::shared::{Check, NEVER_IN_ZEROFS, check_decoded, check_ours_reads};

/// Whether 0.1.2 cannot represent `ty` at all: ZeroFS never implemented it, or it came after
/// 0.1.x.
pub fn lacks(ty: MessageType) -> bool {
    use MessageType as T;
    NEVER_IN_ZEROFS.contains(&ty)
        || matches!(
            ty,
            T::Tfallocate | T::Rfallocate | T::Tlopenatread | T::Rlopenatread
        )
}

/// Whether frames of `ty` in `dialect` can be compared with 0.1.2.
pub fn supports(dialect: Dialect, ty: MessageType) -> bool {
    if lacks(ty) {
        return false;
    }
    match dialect {
        // No envelope support, and the two `.Z`-only layouts differ.
        Dialect::Z => {
            !dialect.has_envelope(ty)
                && !matches!(ty, MessageType::Trebind | MessageType::Rgetlineage)
        }
        _ => true,
    }
}

/// Decodes with 0.1.2 (standard framing, no op-id).
pub fn decode(wire: &[u8]) -> Result<v1::P9Message, String> {
    v1::P9Message::from_bytes_ctx(wire, false).map_err(|e| e.to_string())
}

/// Ours → theirs: our bytes decode in 0.1.2 to the same header and values, and 0.1.2
/// re-encodes its decoded value to the very same bytes.
pub fn ours_to_theirs(dialect: Dialect, frame: &Frame) -> Check {
    let wire = crate::common::encode(frame, dialect);
    let theirs = decode(&wire).map_err(TestCaseError::fail)?;
    let header = (theirs.size as usize, theirs.type_, theirs.tag);
    let again = theirs.to_bytes().map_err(|e| e.to_string());
    check_decoded("0.1.2", frame, &wire, header, again, || {
        from_theirs(theirs.body)
    })
}

/// Theirs → ours: the message built in 0.1.2 and encoded by it decodes in ours to the same
/// frame, and ours encodes that frame to the very same bytes.
pub fn theirs_to_ours(dialect: Dialect, frame: &Frame) -> Check {
    let body = to_theirs(&frame.message).expect("a message 0.1.2 has");
    let wire = v1::P9Message::new(frame.tag, body)
        .to_bytes()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    check_ours_reads(dialect, frame, wire)
}
