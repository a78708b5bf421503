//! `ZeroFsError` as Python exceptions: `OSError` subclasses picked by errno the way Python's
//! own `OSError(errno, strerror, filename)` picks them (`FileNotFoundError`, ...), and the
//! ZeroFS-specific failures as subclasses of the package base `ZeroFsError`.

use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use zerofs_client::ZeroFsError as E;

create_exception!(
    zerofs9p,
    ZeroFsError,
    PyOSError,
    "Base of the errors only ZeroFS has (an OSError: errno and filename are set)."
);
create_exception!(
    zerofs9p,
    NotLeader,
    ZeroFsError,
    "No server of an HA set is the serving leader (errno ESHUTDOWN)."
);
create_exception!(
    zerofs9p,
    Stale,
    ZeroFsError,
    "The server lost the handle, or its durability lineage changed (errno ESTALE)."
);
create_exception!(
    zerofs9p,
    ConnectFailed,
    ZeroFsError,
    "The initial connection (dial, version, attach) failed (errno EIO)."
);
create_exception!(
    zerofs9p,
    ProtocolError,
    ZeroFsError,
    "The server broke the protocol or the transport failed (errno EIO)."
);

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ZeroFsError", py.get_type::<ZeroFsError>())?;
    m.add("NotLeader", py.get_type::<NotLeader>())?;
    m.add("Stale", py.get_type::<Stale>())?;
    m.add("ConnectFailed", py.get_type::<ConnectFailed>())?;
    m.add("ProtocolError", py.get_type::<ProtocolError>())?;
    Ok(())
}

/// The path the caller passed (str or bytes, as given), for `OSError.filename`.
pub(crate) type Filename = Option<Py<PyAny>>;

/// The Python exception for `e`; `filename` is the caller's path object when there is one
/// (else the error's own lossy path string).
pub(crate) fn to_py(e: E, filename: Filename) -> PyErr {
    let errno = e.to_errno();
    let message = e.to_string();
    let own_path = match &e {
        E::NotFound { path }
        | E::PermissionDenied { path }
        | E::NotPermitted { path }
        | E::AlreadyExists { path }
        | E::NotADirectory { path }
        | E::IsADirectory { path }
        | E::DirectoryNotEmpty { path }
        | E::TooManySymlinks { path }
        | E::Io { path, .. }
        | E::NotLeader { path }
        | E::Stale { path } => Some(path.clone()),
        E::NameTooLong { name } => Some(name.clone()),
        _ => None,
    };
    macro_rules! os {
        ($ty:ty) => {
            match (filename, own_path) {
                (Some(f), _) => <$ty>::new_err((errno, message, f)),
                (None, Some(p)) => <$ty>::new_err((errno, message, p)),
                (None, None) => <$ty>::new_err((errno, message)),
            }
        };
    }
    match e {
        E::NotLeader { .. } => os!(NotLeader),
        E::Stale { .. } => os!(Stale),
        E::ConnectFailed { .. } => os!(ConnectFailed),
        E::Protocol { .. } => os!(ProtocolError),
        // OSError(errno, ...) instantiates the builtin subclass for the errno.
        _ => os!(PyOSError),
    }
}

/// `ValueError(message)`.
pub(crate) fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}
