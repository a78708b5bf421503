//! The session's error type.

use std::sync::Arc;

use zerofs_9p_proto::{Message, MessageType, ReplyError, Request};

/// Everything a session operation can fail with.
///
/// `#[non_exhaustive]`: the session grows with the dialects (`NotLeader` and `OutcomeUnknown`
/// came with `.Z`); the facade maps these to the exhaustive `ZeroFsError` its users match on.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The server answered `Rlerror` with this Linux errno.
    #[error("server error: errno {0}")]
    Server(u32),
    /// The fid could not be restored after a reconnect (its inode is gone, its path now names
    /// another file, or its lock could not be re-taken). Reopen from a path.
    #[error("fid {fid} is stale: it could not be restored after a reconnect")]
    Stale {
        /// The fid number.
        fid: u32,
    },
    /// The first connection could not be established (dial, version, attach or timeout).
    #[error("connecting to {target} failed: {message}")]
    Connect {
        /// The target.
        target: String,
        /// What went wrong.
        message: String,
        /// The server's errno when the server refused (e.g. the attach).
        errno: Option<u32>,
        /// The step that failed.
        stage: ConnectStage,
        /// The operating system's error, when the dial failed.
        #[source]
        source: Option<Arc<std::io::Error>>,
    },
    /// The request names a fid this session does not hold (never allocated, or released).
    #[error("fid {0} is not held by this session")]
    UnknownFid(u32),
    /// The message creates or releases fids; use the typed operation named.
    #[error("{message} must go through Session::{instead}")]
    Usage {
        /// The refused message.
        message: MessageType,
        /// The typed operation to use.
        instead: &'static str,
    },
    /// The message cannot be encoded in the negotiated dialect (or a field is too long).
    #[error("cannot encode request: {0}")]
    Encode(#[from] zerofs_9p_proto::Error),
    /// The request does not fit in the negotiated msize.
    #[error("request of {len} bytes exceeds msize {msize}")]
    TooLarge {
        /// Encoded length.
        len: usize,
        /// Negotiated msize.
        msize: u32,
    },
    /// A walk stopped early: the first `walked` names exist, the next does not.
    #[error("walk stopped after {walked} of {requested} names")]
    PartialWalk {
        /// Names walked.
        walked: usize,
        /// Names asked for.
        requested: usize,
    },
    /// The connection was lost while a request that cannot be resent was in flight (a
    /// `Tremove`): it may or may not have been applied.
    #[error("connection lost with a non-resendable request in flight; outcome unknown")]
    Ambiguous,
    /// `.Z`: a de-duplicated mutation was written but never answered (its connection died, or
    /// the server answered `ESHUTDOWN`), and no resend with RETRY got an answer within the
    /// retry horizon ([`Options::retry_horizon`](crate::Options)). It may or may not have been
    /// applied; check the state before repeating it.
    #[error(
        "outcome unknown: no answer within the {}-second retry horizon after the connection \
         was lost; the operation may or may not have been applied",
        horizon.as_secs_f64()
    )]
    OutcomeUnknown {
        /// The horizon that expired.
        horizon: std::time::Duration,
    },
    /// `.Z` high availability: every server of the set answered `ENOTCONN` (not the serving
    /// leader) for the whole retry horizon.
    #[error("no server of the set is the serving leader")]
    NotLeader,
    /// The server answered with a reply of the wrong type (the connection is recycled).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A local I/O error outside any connection (e.g. while dialing).
    #[error("i/o error: {0}")]
    Io(Arc<std::io::Error>),
}

/// Which step of the first connection failed (see [`SessionError::Connect`]).
///
/// `#[non_exhaustive]`: a dialect may add a step to the handshake (as `.Z` added
/// `Tgetlineage` after `Tversion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectStage {
    /// The target string is not valid.
    Target,
    /// Dialling failed (refused, unreachable, no such socket, name not resolved...).
    Dial,
    /// Version negotiation failed (no `9P2000.L`, msize too small, an error reply, no leader).
    Negotiate,
    /// The server refused the attach, or the connection was lost during it.
    Attach,
    /// The connect timeout expired.
    TimedOut,
}

impl SessionError {
    /// The Linux errno that best describes the error (the server's own for `Server`).
    pub fn errno(&self) -> u32 {
        use zerofs_9p_proto::consts::errno::*;
        match self {
            SessionError::Server(e) => *e,
            SessionError::Stale { .. } => ESTALE,
            SessionError::UnknownFid(_) => EBADF,
            SessionError::Usage { .. } | SessionError::Encode(_) => EINVAL,
            SessionError::TooLarge { .. } => EINVAL,
            SessionError::PartialWalk { .. } => ENOENT,
            SessionError::Connect { errno, .. } => errno.unwrap_or(EIO),
            SessionError::OutcomeUnknown { .. } => ETIMEDOUT,
            SessionError::NotLeader => ESHUTDOWN,
            _ => EIO,
        }
    }
}

impl From<std::io::Error> for SessionError {
    fn from(e: std::io::Error) -> Self {
        SessionError::Io(Arc::new(e))
    }
}

impl From<ReplyError> for SessionError {
    fn from(e: ReplyError) -> Self {
        match e {
            ReplyError::Server(errno) => SessionError::Server(errno),
            ReplyError::Unexpected { .. } => {
                SessionError::Protocol(format!("unexpected reply: {e}"))
            }
        }
    }
}

/// The reply body of `R` from an answer (see `typed.rs` for why anything else is a bug).
pub(crate) fn reply<R: Request>(answer: Message) -> Result<R::Reply, SessionError> {
    R::reply(answer).map_err(SessionError::from)
}
