//! The one error type of the codec.

use crate::dialect::Dialect;
use crate::message::MessageType;

/// Everything that can go wrong while framing, decoding or encoding 9P messages.
///
/// Every variant is a precise description of malformed or unsupported input; the codec never
/// panics, whatever the bytes.
///
/// `#[non_exhaustive]`: a new dialect's messages bring new ways to be malformed, and adding
/// the variant that names one must not break code matching on these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The frame's `size[4]` is below the 7-byte minimum (size, type, tag).
    #[error("frame too small: size field {size} is below the 7-byte minimum")]
    FrameTooSmall {
        /// The declared frame size.
        size: u32,
    },
    /// The frame's `size[4]` exceeds the negotiated (or configured) maximum.
    #[error("frame too large: size field {size} exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// The declared frame size.
        size: u32,
        /// The largest frame accepted.
        max: u32,
    },
    /// The buffer handed to [`Frame::decode`](crate::Frame::decode) is not exactly one frame.
    #[error("frame length mismatch: size field says {declared} bytes, buffer holds {actual}")]
    LengthMismatch {
        /// The frame size the header declares.
        declared: u32,
        /// The number of bytes supplied.
        actual: usize,
    },
    /// A field runs past the end of the frame.
    #[error("truncated {message}: field `{field}` runs past the end of the frame")]
    Truncated {
        /// The message being decoded.
        message: &'static str,
        /// The field that did not fit.
        field: &'static str,
    },
    /// Bytes are left over after a complete message body.
    #[error("{count} trailing bytes after a complete {message} body")]
    TrailingBytes {
        /// The message that was decoded.
        message: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
    /// The type byte names no message of 9P2000.L or of any ZeroFS dialect.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// A field holds a value outside its enumeration (e.g. a lock type of 7).
    #[error("bad value {value} for `{field}` of {message}")]
    BadValue {
        /// The message being decoded.
        message: &'static str,
        /// The offending field.
        field: &'static str,
        /// The value found on the wire.
        value: u64,
    },
    /// The message exists, but not in the negotiated dialect.
    #[error("{message:?} is not part of dialect {dialect}")]
    NotInDialect {
        /// The message type.
        message: MessageType,
        /// The dialect in force.
        dialect: Dialect,
    },
    /// A `.Z` mutation was encoded without its envelope, or a message that takes no envelope
    /// was given one.
    #[error("{message:?} {} a mutation envelope in dialect {dialect}", if *.expected { "requires" } else { "does not take" })]
    Envelope {
        /// The message type.
        message: MessageType,
        /// The dialect in force.
        dialect: Dialect,
        /// Whether the dialect requires an envelope for this message.
        expected: bool,
    },
    /// A payload-only encoding was asked of a message that carries no data payload.
    #[error("{0:?} carries no data payload")]
    NoPayload(MessageType),
    /// A value is too large for its wire field (a string over 65535 bytes, more than 65535 walk
    /// names, a payload over 4 GiB, or a frame over 4 GiB).
    #[error("`{field}` of {message} is too long for the wire: {len} > {max}")]
    TooLong {
        /// The message being encoded.
        message: &'static str,
        /// The offending field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The largest length the wire can carry.
        max: usize,
    },
}

/// Shorthand for results of the codec.
pub type Result<T, E = Error> = core::result::Result<T, E>;
