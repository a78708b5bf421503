//! The error type of filesystem operations: a Linux errno, as carried by `Rlerror`.

use zerofs_9p_proto::consts::errno;

/// A Linux errno value (PROTOCOL.md §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub u32);

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: Errno = Errno(errno::$name);
            )*
        }
    };
}

errnos!(
    EPERM,
    ENOENT,
    EBADF,
    EAGAIN,
    EACCES,
    EBUSY,
    EEXIST,
    ENOTDIR,
    EISDIR,
    EINVAL,
    EFBIG,
    EMLINK,
    ENAMETOOLONG,
    ENOSYS,
    ENOTEMPTY,
    ENODATA,
    EOPNOTSUPP,
    ESTALE,
);

/// Result of a filesystem operation.
pub type FsResult<T> = Result<T, Errno>;
