//! Messages as types: every [`Message`] variant has a marker type in [`kind`](crate::kind)
//! implementing [`Variant`] (its body and how it goes into and out of a [`Message`]), and every
//! request's marker implements [`Request`], which names its reply. Both are generated from the
//! message table (`message/mod.rs`), whose request rows name their reply.
//!
//! A transport sends `R::message(body)` and hands the answer to `R::reply`, which returns the
//! reply's body or says what was wrong with the answer: no `match` on [`Message`] with an
//! arm for replies that cannot happen.
//!
//! ```
//! use zerofs_9p_proto::{kind, Message, Rgetattr, ReplyError, Request, Stat, Tgetattr};
//!
//! let sent = kind::Tgetattr::message(Tgetattr { fid: 1, request_mask: 0x7ff });
//! assert!(matches!(sent, Message::Tgetattr(_)));
//!
//! let answer = Message::Rgetattr(Rgetattr { valid: 0x7ff, stat: Stat::default() });
//! let reply: Rgetattr = kind::Tgetattr::reply(answer)?;
//! assert_eq!(reply.valid, 0x7ff);
//! assert_eq!(kind::Tgetattr::reply(Message::error(2)), Err(ReplyError::Server(2)));
//! # Ok::<(), ReplyError>(())
//! ```

use super::{Message, MessageType};

/// One variant of [`Message`] as a type (the markers in [`kind`](crate::kind)).
pub trait Variant {
    /// What the variant carries: its body struct, or `()` for an empty body.
    type Body: Send + 'static;
    /// The variant's type byte.
    const TYPE: MessageType;

    /// The message of this variant carrying `body`.
    fn wrap(body: Self::Body) -> Message;

    /// The body, if `message` is this variant; else the message, untouched.
    // The message comes back by value, as large as the body would have been: no allocation.
    #[allow(clippy::result_large_err)]
    fn unwrap(message: Message) -> Result<Self::Body, Message>;
}

/// A request (T-message) variant, paired with its successful reply.
pub trait Request: Variant {
    /// The body of the successful reply (`()` for an empty reply such as `Rclunk`).
    type Reply: Send + 'static;
    /// The successful reply's type byte (`Rfsync` for `Tfsyncdur`).
    const REPLY: MessageType;

    /// The request message carrying `body`.
    fn message(body: Self::Body) -> Message {
        Self::wrap(body)
    }

    /// The typed reply from an answer: `Rlerror` is [`ReplyError::Server`], any message other
    /// than the reply variant (including one sharing its body struct, such as `Rmkdir` for
    /// `Tmkdirattr`) is [`ReplyError::Unexpected`].
    fn reply(answer: Message) -> Result<Self::Reply, ReplyError>;
}

/// Why an answer is not a request's successful reply.
///
/// Exhaustive: an answer is the reply, an error reply, or something else, whatever the
/// dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The server answered `Rlerror` with this Linux errno.
    #[error("server error: errno {0}")]
    Server(u32),
    /// The answer is another message than the request's reply (a protocol violation).
    #[error("{reply} does not answer {request}")]
    Unexpected {
        /// The request.
        request: MessageType,
        /// The message received instead of its reply.
        reply: MessageType,
    },
}

/// [`Request::reply`] for a request `R` whose reply variant is `A`.
pub(crate) fn reply_of<R: Variant, A: Variant>(answer: Message) -> Result<A::Body, ReplyError> {
    match answer {
        Message::Rlerror(e) => Err(ReplyError::Server(e.ecode)),
        other => A::unwrap(other).map_err(|m| ReplyError::Unexpected {
            request: R::TYPE,
            reply: m.msg_type(),
        }),
    }
}
