//! Helpers for the debug spans every public operation runs in.

use bytes::Bytes;

use crate::ZeroFsError;

/// Records the length of a successful read as the current span's `bytes` field (declared
/// `Empty` by the operation's `#[tracing::instrument]`) and passes the result through.
pub(crate) fn record_len(r: Result<Bytes, ZeroFsError>) -> Result<Bytes, ZeroFsError> {
    if let Ok(data) = &r {
        tracing::Span::current().record("bytes", data.len());
    }
    r
}
