//! Errors in plain words, and the exit status.

use std::fmt;
use std::io;

use zerofs_client::ZeroFsError;
use zerofs_client::transfer::TransferError;

/// One failed operation, as printed: `zerofs-cli: CMD: MESSAGE`.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The symbolic name of an errno (the usual Linux numbers).
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        1 => "EPERM",
        2 => "ENOENT",
        5 => "EIO",
        9 => "EBADF",
        13 => "EACCES",
        17 => "EEXIST",
        18 => "EXDEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        27 => "EFBIG",
        28 => "ENOSPC",
        30 => "EROFS",
        36 => "ENAMETOOLONG",
        38 => "ENOSYS",
        39 => "ENOTEMPTY",
        40 => "ELOOP",
        95 => "EOPNOTSUPP",
        103 => "ECONNABORTED",
        104 => "ECONNRESET",
        107 => "ENOTCONN",
        108 => "ESHUTDOWN",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        116 => "ESTALE",
        _ => "",
    }
}

/// `(ENAME)` or `(errno N)`.
fn tag(errno: i32) -> String {
    match errno_name(errno) {
        "" => format!("(errno {errno})"),
        n => format!("({n})"),
    }
}

impl From<ZeroFsError> for Failure {
    fn from(e: ZeroFsError) -> Failure {
        match e {
            ZeroFsError::ConnectFailed { message } => {
                Failure(format!("cannot reach the server: {message}"))
            }
            e => Failure(format!("{e} {}", tag(e.to_errno()))),
        }
    }
}

impl From<TransferError> for Failure {
    fn from(e: TransferError) -> Failure {
        if let Some(z) = e
            .error
            .get_ref()
            .and_then(|x| x.downcast_ref::<ZeroFsError>())
        {
            return Failure::from(z.clone());
        }
        local(&e.path, &e.error)
    }
}

/// A local error on `path`, in words: `PATH: No such file or directory (ENOENT)`.
pub fn local(path: &str, e: &io::Error) -> Failure {
    match e.raw_os_error() {
        Some(n) => {
            let words = io::Error::from_raw_os_error(n).to_string();
            let words = words
                .split(" (os error")
                .next()
                .unwrap_or(&words)
                .to_owned();
            Failure(format!("{path}: {words} {}", tag(n)))
        }
        None => Failure(format!("{path}: {e}")),
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Failure {
        Failure(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_path_and_errno_in_words() {
        let f = Failure::from(ZeroFsError::NotFound { path: "/x".into() });
        assert_eq!(f.0, "not found: /x (ENOENT)");
        let f = local("/tmp/y", &io::Error::from_raw_os_error(13));
        assert_eq!(f.0, "/tmp/y: Permission denied (EACCES)");
        let f = Failure::from(ZeroFsError::Io {
            errno: 999,
            path: "/z".into(),
            message: "odd".into(),
        });
        assert!(f.0.ends_with("(errno 999)"), "{}", f.0);
    }
}
