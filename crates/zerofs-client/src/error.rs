//! [`ZeroFsError`]: every failure of the client, with errno and `std::io::Error` conversions.

use std::{fmt, io};

use zerofs_9p_proto::consts::errno;
use zerofs_session::SessionError;

use crate::connect_cause::ConnectCause;

/// An error from a ZeroFS client operation.
///
/// Path and name payloads are lossy display strings of the inputs. Convert into
/// [`std::io::Error`] with `?` or `.into()`; the original error stays recoverable:
///
/// ```
/// use zerofs_client::ZeroFsError;
///
/// let io: std::io::Error = ZeroFsError::NotFound { path: "/x".into() }.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// let back = io.get_ref().and_then(|e| e.downcast_ref::<ZeroFsError>()).unwrap();
/// assert_eq!(back.to_errno(), 2); // ENOENT
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZeroFsError {
    /// ENOENT.
    NotFound {
        /// The path.
        path: String,
    },
    /// EACCES.
    PermissionDenied {
        /// The path.
        path: String,
    },
    /// EPERM.
    NotPermitted {
        /// The path.
        path: String,
    },
    /// EEXIST.
    AlreadyExists {
        /// The path.
        path: String,
    },
    /// ENOTDIR.
    NotADirectory {
        /// The path.
        path: String,
    },
    /// EISDIR.
    IsADirectory {
        /// The path.
        path: String,
    },
    /// ENOTEMPTY.
    DirectoryNotEmpty {
        /// The path.
        path: String,
    },
    /// ENAMETOOLONG: a component over 255 bytes.
    NameTooLong {
        /// The offending name (or path, when the server reported it).
        name: String,
    },
    /// EINVAL.
    InvalidArgument {
        /// What was invalid.
        message: String,
    },
    /// ELOOP: more than 40 symlinks while resolving.
    TooManySymlinks {
        /// The path.
        path: String,
    },
    /// EBADF: the client, file or directory handle was closed.
    Closed,
    /// EIO: the initial connection failed.
    ConnectFailed {
        /// Why.
        message: String,
    },
    /// Any other server errno.
    Io {
        /// The errno.
        errno: i32,
        /// The path.
        path: String,
        /// The errno's description.
        message: String,
    },
    /// ESHUTDOWN (108): no server of the HA set is the serving leader (every one answered
    /// `ENOTCONN` for the whole retry horizon).
    NotLeader {
        /// The path.
        path: String,
    },
    /// ESTALE (116): the server no longer knows the handle (reopen it), or — from a sync —
    /// its durability lineage changed since earlier writes.
    Stale {
        /// The path.
        path: String,
    },
    /// EIO: the server broke the protocol, or the transport failed.
    Protocol {
        /// What happened.
        message: String,
    },
}

impl fmt::Display for ZeroFsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZeroFsError::NotFound { path } => write!(f, "not found: {path}"),
            ZeroFsError::PermissionDenied { path } => write!(f, "permission denied: {path}"),
            ZeroFsError::NotPermitted { path } => write!(f, "operation not permitted: {path}"),
            ZeroFsError::AlreadyExists { path } => write!(f, "already exists: {path}"),
            ZeroFsError::NotADirectory { path } => write!(f, "not a directory: {path}"),
            ZeroFsError::IsADirectory { path } => write!(f, "is a directory: {path}"),
            ZeroFsError::DirectoryNotEmpty { path } => write!(f, "directory not empty: {path}"),
            ZeroFsError::NameTooLong { name } => write!(f, "name too long: {name}"),
            ZeroFsError::InvalidArgument { message } => write!(f, "invalid argument: {message}"),
            ZeroFsError::TooManySymlinks { path } => {
                write!(f, "too many levels of symbolic links: {path}")
            }
            ZeroFsError::Closed => f.write_str("handle is closed"),
            ZeroFsError::ConnectFailed { message } => write!(f, "connection failed: {message}"),
            ZeroFsError::Io {
                errno,
                path,
                message,
            } => write!(f, "i/o error (errno {errno}): {path}: {message}"),
            ZeroFsError::NotLeader { path } => write!(
                f,
                "no serving leader for {path}: every server of the set refused as not the leader"
            ),
            ZeroFsError::Stale { path } => write!(
                f,
                "stale: {path}: the server lost this handle or its durability lineage changed; \
                 reopen the handle, and writes made before this error may not be durable"
            ),
            ZeroFsError::Protocol { message } => write!(f, "protocol error: {message}"),
        }
    }
}

impl std::error::Error for ZeroFsError {
    /// For [`ZeroFsError::ConnectFailed`] raised by this crate: the [`ConnectCause`] (refused,
    /// unreachable, negotiation, attach, timeout...). `None` otherwise.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ZeroFsError::ConnectFailed { message } => {
                ConnectCause::of_message(message).map(|c| c as &(dyn std::error::Error + 'static))
            }
            _ => None,
        }
    }
}

impl ZeroFsError {
    /// The errno this error stands for (lossless for [`ZeroFsError::Io`]).
    pub fn to_errno(&self) -> i32 {
        match self {
            ZeroFsError::NotFound { .. } => e(errno::ENOENT),
            ZeroFsError::PermissionDenied { .. } => e(errno::EACCES),
            ZeroFsError::NotPermitted { .. } => e(errno::EPERM),
            ZeroFsError::AlreadyExists { .. } => e(errno::EEXIST),
            ZeroFsError::NotADirectory { .. } => e(errno::ENOTDIR),
            ZeroFsError::IsADirectory { .. } => e(errno::EISDIR),
            ZeroFsError::DirectoryNotEmpty { .. } => e(errno::ENOTEMPTY),
            ZeroFsError::NameTooLong { .. } => e(errno::ENAMETOOLONG),
            ZeroFsError::InvalidArgument { .. } => e(errno::EINVAL),
            ZeroFsError::TooManySymlinks { .. } => e(errno::ELOOP),
            ZeroFsError::Closed => e(errno::EBADF),
            ZeroFsError::ConnectFailed { .. } | ZeroFsError::Protocol { .. } => e(errno::EIO),
            ZeroFsError::Io { errno, .. } => *errno,
            ZeroFsError::NotLeader { .. } => e(errno::ESHUTDOWN),
            ZeroFsError::Stale { .. } => e(errno::ESTALE),
        }
    }

    /// The error a server's `Rlerror(errno)` means for an operation on `path`.
    pub fn from_errno(ecode: u32, path: &str) -> ZeroFsError {
        let path = path.to_owned();
        match ecode {
            errno::ENOENT => ZeroFsError::NotFound { path },
            errno::EACCES => ZeroFsError::PermissionDenied { path },
            errno::EPERM => ZeroFsError::NotPermitted { path },
            errno::EEXIST => ZeroFsError::AlreadyExists { path },
            errno::ENOTDIR => ZeroFsError::NotADirectory { path },
            errno::EISDIR => ZeroFsError::IsADirectory { path },
            errno::ENOTEMPTY => ZeroFsError::DirectoryNotEmpty { path },
            errno::ENAMETOOLONG => ZeroFsError::NameTooLong { name: path },
            errno::EINVAL => ZeroFsError::InvalidArgument {
                message: format!("{path}: invalid argument"),
            },
            errno::ELOOP => ZeroFsError::TooManySymlinks { path },
            errno::ESTALE => ZeroFsError::Stale { path },
            other => {
                let errno = i32::try_from(other).unwrap_or(i32::MAX);
                ZeroFsError::Io {
                    errno,
                    path,
                    message: describe_errno(errno),
                }
            }
        }
    }

    /// The error a session failure means for an operation on `path`: a server errno maps
    /// through [`ZeroFsError::from_errno`], a walk that stopped early is `NotFound`, a fid
    /// that could not be restored after a reconnect is `ESTALE`, and transport or protocol
    /// failures are [`ZeroFsError::Protocol`].
    pub(crate) fn from_session(err: SessionError, path: &str) -> ZeroFsError {
        match err {
            SessionError::Server(ecode) => ZeroFsError::from_errno(ecode, path),
            SessionError::PartialWalk { .. } => ZeroFsError::NotFound {
                path: path.to_owned(),
            },
            SessionError::Stale { .. } => ZeroFsError::from_errno(errno::ESTALE, path),
            SessionError::Connect { ref target, .. } => {
                ZeroFsError::connect_failed(&target.clone(), err)
            }
            SessionError::TooLarge { .. } => ZeroFsError::invalid(format!("{path}: {err}")),
            SessionError::NotLeader => ZeroFsError::NotLeader {
                path: path.to_owned(),
            },
            SessionError::OutcomeUnknown { .. } => ZeroFsError::Io {
                errno: e(errno::ETIMEDOUT),
                path: path.to_owned(),
                message: err.to_string(),
            },
            other => ZeroFsError::Protocol {
                message: format!("{path}: {other}"),
            },
        }
    }

    /// The error a failed connect to `target` returns: the cause's phrase leads the message,
    /// so [`source`](std::error::Error::source) can name it.
    pub(crate) fn connect_failed(target: &str, err: SessionError) -> ZeroFsError {
        let cause = ConnectCause::of_session(&err);
        let detail = match err {
            SessionError::Connect { message, .. } => message,
            other => other.to_string(),
        };
        ZeroFsError::ConnectFailed {
            message: format!("{} {target}: {detail}", cause.phrase()),
        }
    }

    /// An [`ZeroFsError::InvalidArgument`] with this message.
    pub(crate) fn invalid(message: impl Into<String>) -> ZeroFsError {
        ZeroFsError::InvalidArgument {
            message: message.into(),
        }
    }
}

/// An errno constant as the `i32` of `std::io`.
const fn e(code: u32) -> i32 {
    code as i32
}

/// The operating system's description of an errno, without the "(os error N)" suffix.
fn describe_errno(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

impl From<ZeroFsError> for io::Error {
    /// Keeps the error as the inner error, with the `ErrorKind` of its errno.
    fn from(err: ZeroFsError) -> io::Error {
        let kind = io::Error::from_raw_os_error(err.to_errno()).kind();
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errnos_map_to_their_variants_and_back() {
        for (ecode, expect) in [
            (errno::ENOENT, e(errno::ENOENT)),
            (errno::EACCES, e(errno::EACCES)),
            (errno::EPERM, e(errno::EPERM)),
            (errno::EEXIST, e(errno::EEXIST)),
            (errno::ENOTDIR, e(errno::ENOTDIR)),
            (errno::EISDIR, e(errno::EISDIR)),
            (errno::ENOTEMPTY, e(errno::ENOTEMPTY)),
            (errno::ENAMETOOLONG, e(errno::ENAMETOOLONG)),
            (errno::EINVAL, e(errno::EINVAL)),
            (errno::ELOOP, e(errno::ELOOP)),
            (errno::EXDEV, e(errno::EXDEV)),
            (errno::ESTALE, e(errno::ESTALE)),
        ] {
            assert_eq!(
                ZeroFsError::from_errno(ecode, "/p").to_errno(),
                expect,
                "errno {ecode}"
            );
        }
        let other = ZeroFsError::from_errno(errno::EXDEV, "/p");
        assert!(matches!(&other, ZeroFsError::Io { errno, path, message }
            if *errno == e(errno::EXDEV) && path == "/p" && !message.contains("os error")));
    }

    #[test]
    fn io_error_keeps_kind_and_inner_error() {
        let err = ZeroFsError::AlreadyExists { path: "/a".into() };
        let io: io::Error = err.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            io.get_ref().unwrap().downcast_ref::<ZeroFsError>(),
            Some(&err)
        );
        let closed: io::Error = ZeroFsError::Closed.into();
        assert_eq!(
            closed
                .get_ref()
                .unwrap()
                .downcast_ref::<ZeroFsError>()
                .unwrap()
                .to_errno(),
            e(errno::EBADF)
        );
    }

    #[test]
    fn display_texts_name_the_path() {
        assert_eq!(
            ZeroFsError::NotFound { path: "/x".into() }.to_string(),
            "not found: /x"
        );
        let io = ZeroFsError::Io {
            errno: 5,
            path: "/y".into(),
            message: "boom".into(),
        };
        assert_eq!(io.to_string(), "i/o error (errno 5): /y: boom");
    }

    #[test]
    fn zdialect_errors_have_their_errnos_kinds_and_messages() {
        let stale = ZeroFsError::from_errno(errno::ESTALE, "/f");
        assert_eq!(stale, ZeroFsError::Stale { path: "/f".into() });
        assert!(stale.to_string().contains("may not be durable"));
        assert_eq!(
            io::Error::from(stale).kind(),
            io::ErrorKind::StaleNetworkFileHandle
        );
        let nl = ZeroFsError::from_session(SessionError::NotLeader, "/p");
        assert_eq!(nl, ZeroFsError::NotLeader { path: "/p".into() });
        assert_eq!(nl.to_errno(), 108);
        let unknown = SessionError::OutcomeUnknown {
            horizon: std::time::Duration::from_secs(120),
        };
        let mapped = ZeroFsError::from_session(unknown, "/d");
        assert!(matches!(&mapped, ZeroFsError::Io { errno, message, .. }
            if *errno == 110 && message.contains("outcome unknown")));
        assert_eq!(io::Error::from(mapped).kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn session_errors_map_by_kind() {
        assert_eq!(
            ZeroFsError::from_session(SessionError::Server(errno::ENOTDIR), "/a"),
            ZeroFsError::NotADirectory { path: "/a".into() }
        );
        let partial = SessionError::PartialWalk {
            walked: 1,
            requested: 3,
        };
        assert_eq!(
            ZeroFsError::from_session(partial, "/a/b/c").to_errno(),
            e(errno::ENOENT)
        );
        assert_eq!(
            ZeroFsError::from_session(SessionError::Stale { fid: 3 }, "/s").to_errno(),
            e(errno::ESTALE)
        );
        let lost = ZeroFsError::from_session(SessionError::Protocol("boom".into()), "/p");
        assert!(matches!(&lost, ZeroFsError::Protocol { message } if message.starts_with("/p: ")));
        let conn = SessionError::Connect {
            target: "t".into(),
            message: "refused".into(),
            errno: None,
            stage: zerofs_session::ConnectStage::Attach,
            source: None,
        };
        assert!(matches!(
            ZeroFsError::from_session(conn, ""),
            ZeroFsError::ConnectFailed { .. }
        ));
    }
}
