//! How client failures become [`object_store::Error`]s.

use object_store::Error;
use zerofs_client::ZeroFsError;

/// The store name in [`Error::Generic`].
pub(crate) const STORE: &str = "ZeroFS";

/// A failure of an operation that writes or moves `path`: only `ENOENT` is `NotFound`.
pub(crate) fn write_error(err: ZeroFsError, path: &str) -> Error {
    match err {
        ZeroFsError::NotFound { .. } => not_found(path, err),
        other => common(other, path),
    }
}

/// A failure while looking `path` up to read, stat or delete it: a name that is missing, a
/// parent that is a file (`ENOTDIR`), or a directory where the object should be (`EISDIR`)
/// all mean "no such object".
pub(crate) fn lookup_error(err: ZeroFsError, path: &str) -> Error {
    match err {
        ZeroFsError::NotFound { .. }
        | ZeroFsError::NotADirectory { .. }
        | ZeroFsError::IsADirectory { .. } => not_found(path, err),
        other => common(other, path),
    }
}

/// The mapping shared by reads and writes.
fn common(err: ZeroFsError, path: &str) -> Error {
    match err {
        ZeroFsError::AlreadyExists { .. } => Error::AlreadyExists {
            path: path.to_owned(),
            source: Box::new(err),
        },
        ZeroFsError::PermissionDenied { .. } | ZeroFsError::NotPermitted { .. } => {
            Error::PermissionDenied {
                path: path.to_owned(),
                source: Box::new(err),
            }
        }
        other => Error::Generic {
            store: STORE,
            source: Box::new(other),
        },
    }
}

/// `NotFound` for `path`, caused by `source`.
pub(crate) fn not_found(
    path: &str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::NotFound {
        path: path.to_owned(),
        source: source.into(),
    }
}

/// A [`Error::Generic`] with this message.
pub(crate) fn generic(message: impl Into<String>) -> Error {
    Error::Generic {
        store: STORE,
        source: message.into().into(),
    }
}

/// [`Error::NotImplemented`] for `operation`.
pub(crate) fn not_implemented(operation: &str) -> Error {
    Error::NotImplemented {
        operation: operation.to_owned(),
        implementer: STORE.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_treat_a_file_parent_as_missing_but_writes_do_not() {
        let enotdir = || ZeroFsError::NotADirectory { path: "/a".into() };
        assert!(matches!(
            lookup_error(enotdir(), "a/b"),
            Error::NotFound { path, .. } if path == "a/b"
        ));
        assert!(matches!(
            write_error(enotdir(), "a/b"),
            Error::Generic { store: STORE, .. }
        ));
        assert!(matches!(
            write_error(ZeroFsError::NotFound { path: "/x".into() }, "x"),
            Error::NotFound { .. }
        ));
    }

    #[test]
    fn exists_and_permission_errors_keep_their_kind() {
        assert!(matches!(
            write_error(ZeroFsError::AlreadyExists { path: "/x".into() }, "x"),
            Error::AlreadyExists { .. }
        ));
        for e in [
            ZeroFsError::PermissionDenied { path: "/x".into() },
            ZeroFsError::NotPermitted { path: "/x".into() },
        ] {
            assert!(matches!(
                lookup_error(e, "x"),
                Error::PermissionDenied { .. }
            ));
        }
        assert!(matches!(
            not_implemented("put"),
            Error::NotImplemented { implementer, .. } if implementer == STORE
        ));
    }
}
