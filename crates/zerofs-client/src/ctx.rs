//! What every handle of one client shares: the session, the create gid, and what this
//! connection's server was found not to support.

use std::sync::Mutex;

use bytes::Bytes;
use zerofs_9p_proto::{Dialect, Stat};
use zerofs_session::{Session, SessionError};

use crate::coalesce::Coalescer;
use crate::error::ZeroFsError;

/// A session result (mapped to [`ZeroFsError`] at the public boundary, with the path).
pub(crate) type SResult<T> = Result<T, SessionError>;

/// Maps a session result to the public error for an operation on `path`.
pub(crate) trait OrPath<T> {
    /// The result with any session error mapped for `path`.
    fn at(self, path: &str) -> Result<T, ZeroFsError>;
}

impl<T> OrPath<T> for SResult<T> {
    fn at(self, path: &str) -> Result<T, ZeroFsError> {
        self.map_err(|e| ZeroFsError::from_session(e, path))
    }
}

/// A server limitation learnt from an answer, remembered for the connection it came from.
/// (Request types a server does not implement at all, such as diod's `Tunlinkat`, are
/// remembered by the session itself, per connection.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quirk {
    /// `Tfsync` needs an opened fid (diod): `Client::sync` opens the root first.
    FsyncNeedsOpen = 4,
}

/// The shared state of a client and all its handles.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The session (one multiplexed, self-healing connection).
    pub session: Session,
    /// Group of created nodes.
    pub gid: u32,
    /// (reconnect count when learnt, quirk bits).
    quirks: Mutex<(u64, u8)>,
    /// Concurrent identical stats (base fid, names) share a round trip.
    pub stats: Coalescer<(u32, Vec<Bytes>), SResult<Stat>>,
}

impl Ctx {
    /// The shared state over `session`; creates use the gid its options carry.
    pub(crate) fn new(session: Session) -> Ctx {
        Ctx {
            gid: session.options().gid,
            session,
            quirks: Mutex::new((0, 0)),
            stats: Coalescer::new(),
        }
    }

    /// The dialect of the current connection.
    pub(crate) fn dialect(&self) -> Dialect {
        self.session.dialect()
    }

    /// Whether `Twalkgetattr`/`Treaddirattr` are available.
    pub(crate) fn gen1(&self) -> bool {
        self.dialect().has_gen1()
    }

    /// Whether `Tlopenat`/`Tlcreateattr`/`T*attr` are available.
    pub(crate) fn gen2(&self) -> bool {
        self.dialect().has_gen2()
    }

    /// Whether the current connection's server has `quirk`.
    pub(crate) fn has(&self, quirk: Quirk) -> bool {
        let epoch = self.session.stats().reconnects;
        let q = self.quirks.lock().unwrap_or_else(|e| e.into_inner());
        q.0 == epoch && q.1 & quirk as u8 != 0
    }

    /// Remembers `quirk` for the current connection.
    pub(crate) fn learn(&self, quirk: Quirk) {
        let epoch = self.session.stats().reconnects;
        let mut q = self.quirks.lock().unwrap_or_else(|e| e.into_inner());
        if q.0 != epoch {
            *q = (epoch, 0);
        }
        q.1 |= quirk as u8;
        tracing::debug!(?quirk, "server quirk learnt for this connection");
    }
}

/// Whether a server error means "this request type is not implemented here".
pub(crate) fn unsupported(e: &SessionError) -> bool {
    use zerofs_9p_proto::consts::errno::{ENOSYS, EOPNOTSUPP};
    matches!(e, SessionError::Server(c) if *c == EOPNOTSUPP || *c == ENOSYS)
}

/// Whether a session error is the server errno `code`.
pub(crate) fn is_errno(e: &SessionError, code: u32) -> bool {
    matches!(e, SessionError::Server(c) if *c == code)
}
