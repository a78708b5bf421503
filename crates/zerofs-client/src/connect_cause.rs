//! [`ConnectCause`]: why a connect failed, reachable as the `source()` of
//! [`ZeroFsError::ConnectFailed`](crate::ZeroFsError::ConnectFailed).

use std::fmt;

use zerofs_session::{ConnectStage, SessionError};

/// Why a connect failed: the [`source`](std::error::Error::source) of a
/// [`ZeroFsError::ConnectFailed`](crate::ZeroFsError::ConnectFailed) this crate raised.
///
/// `ConnectFailed` keeps the reference client's shape (one `message` field, so programs that
/// match `ConnectFailed { message }` keep compiling); the cause travels as its source
/// instead of a new field.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::error::Error;
/// use zerofs_client::{Client, ConnectCause};
///
/// let err = Client::connect("unix:/nonexistent/zerofs.sock").await.unwrap_err();
/// let cause = err.source().and_then(|s| s.downcast_ref::<ConnectCause>());
/// assert_eq!(cause, Some(&ConnectCause::Refused));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectCause {
    /// The target string is not valid.
    InvalidTarget,
    /// Nothing listens there: the connection was refused, or the unix socket does not exist.
    Refused,
    /// The target could not be reached otherwise (name not resolved, network unreachable,
    /// permission denied on the socket...).
    Unreachable,
    /// The server answered but version negotiation failed (not `9P2000.L`, msize too small,
    /// an error reply, or no server of an HA set is the leader).
    Negotiation,
    /// The server refused the attach (identity or export), or dropped the connection during it.
    Attach,
    /// The connect timeout expired.
    TimedOut,
}

/// Every cause, for lookups by message.
const ALL: [ConnectCause; 6] = [
    ConnectCause::InvalidTarget,
    ConnectCause::Refused,
    ConnectCause::Unreachable,
    ConnectCause::Negotiation,
    ConnectCause::Attach,
    ConnectCause::TimedOut,
];

impl ConnectCause {
    /// The words that start a `ConnectFailed` message with this cause.
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            ConnectCause::InvalidTarget => "invalid target",
            ConnectCause::Refused => "connection refused by",
            ConnectCause::Unreachable => "cannot reach",
            ConnectCause::Negotiation => "version negotiation failed with",
            ConnectCause::Attach => "attach refused by",
            ConnectCause::TimedOut => "timed out connecting to",
        }
    }

    /// The cause of a failed session connect.
    pub(crate) fn of_session(err: &SessionError) -> ConnectCause {
        use std::io::ErrorKind;
        match err {
            SessionError::Connect { stage, source, .. } => match stage {
                ConnectStage::Target => ConnectCause::InvalidTarget,
                ConnectStage::Dial => match source.as_ref().map(|e| e.kind()) {
                    Some(ErrorKind::ConnectionRefused | ErrorKind::NotFound) => {
                        ConnectCause::Refused
                    }
                    Some(ErrorKind::TimedOut) => ConnectCause::TimedOut,
                    _ => ConnectCause::Unreachable,
                },
                ConnectStage::Attach => ConnectCause::Attach,
                ConnectStage::TimedOut => ConnectCause::TimedOut,
                _ => ConnectCause::Negotiation,
            },
            _ => ConnectCause::Negotiation,
        }
    }

    /// The cause a `ConnectFailed` message this crate wrote starts with.
    pub(crate) fn of_message(message: &str) -> Option<&'static ConnectCause> {
        ALL.iter().find(|c| {
            message
                .strip_prefix(c.phrase())
                .is_some_and(|rest| rest.starts_with(' '))
        })
    }
}

impl fmt::Display for ConnectCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectCause::InvalidTarget => "invalid target",
            ConnectCause::Refused => "connection refused",
            ConnectCause::Unreachable => "target unreachable",
            ConnectCause::Negotiation => "version negotiation failed",
            ConnectCause::Attach => "attach refused",
            ConnectCause::TimedOut => "timed out",
        })
    }
}

impl std::error::Error for ConnectCause {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_round_trips_through_its_message() {
        for c in ALL {
            let message = format!("{} unix:/x: detail", c.phrase());
            assert_eq!(ConnectCause::of_message(&message), Some(&c));
        }
        assert_eq!(ConnectCause::of_message("something else"), None);
        assert_eq!(ConnectCause::of_message("cannot reachable"), None);
    }

    #[test]
    fn session_stages_and_dial_errors_map_to_causes() {
        use std::io::{Error, ErrorKind};
        use std::sync::Arc;
        let connect = |stage, kind: Option<ErrorKind>| SessionError::Connect {
            target: "t".into(),
            message: "m".into(),
            errno: None,
            stage,
            source: kind.map(|k| Arc::new(Error::from(k))),
        };
        for (stage, kind, want) in [
            (ConnectStage::Target, None, ConnectCause::InvalidTarget),
            (
                ConnectStage::Dial,
                Some(ErrorKind::ConnectionRefused),
                ConnectCause::Refused,
            ),
            (
                ConnectStage::Dial,
                Some(ErrorKind::NotFound),
                ConnectCause::Refused,
            ),
            (
                ConnectStage::Dial,
                Some(ErrorKind::TimedOut),
                ConnectCause::TimedOut,
            ),
            (
                ConnectStage::Dial,
                Some(ErrorKind::PermissionDenied),
                ConnectCause::Unreachable,
            ),
            (ConnectStage::Negotiate, None, ConnectCause::Negotiation),
            (ConnectStage::Attach, None, ConnectCause::Attach),
            (ConnectStage::TimedOut, None, ConnectCause::TimedOut),
        ] {
            assert_eq!(
                ConnectCause::of_session(&connect(stage, kind)),
                want,
                "{stage:?}"
            );
        }
    }
}
