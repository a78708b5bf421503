//! [`Client`]: the path-based entry point (connect, data, metadata and namespace operations).

pub(crate) mod data;
mod meta;
mod namespace;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zerofs_session::{Options, Session, SessionError};

use crate::ctx::Ctx;
use crate::error::ZeroFsError;
use crate::records::{Capabilities, ConnectOptions, TrafficStats};

/// A connection to a ZeroFS (or any 9P2000.L) server, addressed by paths.
///
/// One multiplexed connection serves every concurrent call; share the client as
/// `Arc<Client>` across tasks. After a connection loss it reconnects and restores open
/// [`File`](crate::File) and [`Dir`](crate::Dir) handles by itself; calls in progress wait
/// for the new connection and then complete.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
/// # let target = server.target();
/// use zerofs_client::Client;
///
/// let client = Client::connect(&target).await?;
/// client.write("/hello.txt", b"hello, world").await?;
/// assert_eq!(&client.read("/hello.txt").await?[..], b"hello, world");
/// assert_eq!(client.stat("/hello.txt").await?.size, 12);
/// client.close();
/// # Ok(()) }
/// ```
pub struct Client {
    pub(crate) cx: Arc<Ctx>,
    closed: AtomicBool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `target` with default options.
    ///
    /// Targets: `unix:/path`, `/path` or `./path` (unix socket), `tcp://host:port`,
    /// `host:port`, `[v6]:port`, or a bare host (port 5564). Any failure (dial, version,
    /// attach, timeout) is [`ZeroFsError::ConnectFailed`].
    pub async fn connect(target: &str) -> Result<Arc<Client>, ZeroFsError> {
        Client::connect_with(target, ConnectOptions::default()).await
    }

    /// Connects to `target` with `opts` (identity, export, msize, timeout, retry horizon).
    ///
    /// Negotiates the best dialect the server grants (`9P2000.L.Z`, `.zerofs2`, `.zerofs`,
    /// then plain `9P2000.L`, which also suits diod) and attaches as `opts.uid`. A
    /// comma-separated list (`node-a:5564,node-b:5564`) is an HA set, as with
    /// [`connect_multi`](Self::connect_multi).
    pub async fn connect_with(
        target: &str,
        opts: ConnectOptions,
    ) -> Result<Arc<Client>, ZeroFsError> {
        let (options, gid) = session_options(&opts);
        Client::finish(Session::connect(target, options).await, gid, target)
    }

    /// Connects to the serving leader of an HA set of servers (ZeroFS `.Z` high
    /// availability): each target is probed, a server answering `ENOTCONN` is not the leader,
    /// and after any disconnect the set is probed again. Requests refused with `ENOTCONN`
    /// are re-routed before dispatch; those cut by `ESHUTDOWN` are resent with RETRY (the
    /// server de-duplicates them). When no server leads for the retry horizon
    /// ([`ConnectOptions::retry_horizon_ms`], default 120 s), calls fail with
    /// [`ZeroFsError::NotLeader`]. Each target gets 3 s to answer a probe, so a node that
    /// accepts connections but never answers cannot stall leader discovery; host names are
    /// resolved again at every probe.
    pub async fn connect_multi(targets: &[String]) -> Result<Arc<Client>, ZeroFsError> {
        Client::connect_multi_with(targets, ConnectOptions::default()).await
    }

    /// [`connect_multi`](Self::connect_multi) with `opts`.
    pub async fn connect_multi_with(
        targets: &[String],
        opts: ConnectOptions,
    ) -> Result<Arc<Client>, ZeroFsError> {
        let (options, gid) = session_options(&opts);
        let joined = targets.join(",");
        Client::finish(Session::connect_multi(targets, options).await, gid, &joined)
    }

    fn finish(
        session: Result<Session, SessionError>,
        gid: u32,
        target: &str,
    ) -> Result<Arc<Client>, ZeroFsError> {
        let session = session.map_err(|e| match e {
            SessionError::Connect {
                target, message, ..
            } => ZeroFsError::ConnectFailed {
                message: format!("connecting to {target}: {message}"),
            },
            other => ZeroFsError::ConnectFailed {
                message: format!("connecting to {target}: {other}"),
            },
        })?;
        Ok(Arc::new(Client {
            cx: Arc::new(Ctx::new(session, gid)),
            closed: AtomicBool::new(false),
        }))
    }

    /// What the current connection negotiated (a live snapshot; it may change on reconnect).
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::new(self.cx.dialect(), self.cx.session.msize())
    }

    /// Closes the client: immediate, idempotent, never fails. Later calls on the client
    /// return [`ZeroFsError::Closed`]; open [`File`](crate::File) and [`Dir`](crate::Dir)
    /// handles keep working. The connection ends once the client and every handle are dropped.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether the client is open and a connection is up right now (during a reconnect,
    /// calls wait instead of failing).
    pub fn is_connected(&self) -> bool {
        !self.closed.load(Ordering::Acquire) && self.cx.session.is_connected()
    }

    /// Bytes and requests exchanged so far, over every connection.
    pub fn traffic_stats(&self) -> TrafficStats {
        self.cx.session.stats().into()
    }

    /// Fids allocated and not yet released (root, handles, in flight, awaiting clunk).
    #[doc(hidden)]
    pub fn outstanding_fids(&self) -> usize {
        self.cx.session.outstanding_fids()
    }

    /// The shared state, or `Closed`.
    pub(crate) fn cx(&self) -> Result<&Arc<Ctx>, ZeroFsError> {
        if self.closed.load(Ordering::Acquire) {
            Err(ZeroFsError::Closed)
        } else {
            Ok(&self.cx)
        }
    }
}

/// The session options for `opts`, and the gid for creates.
fn session_options(opts: &ConnectOptions) -> (Options, u32) {
    let gid = opts.effective_gid();
    let options = Options {
        uid: opts.effective_uid(),
        gid,
        uname: opts.effective_uname(),
        aname: opts.aname.clone(),
        msize: opts.msize,
        connect_timeout: opts
            .connect_timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms))),
        ..Options::default()
    };
    let options = match opts.retry_horizon_ms {
        Some(ms) => Options {
            retry_horizon: Duration::from_millis(u64::from(ms)),
            ..options
        },
        None => options,
    };
    (options, gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_horizon_defaults_to_the_session_default_and_can_be_set() {
        let (o, _) = session_options(&ConnectOptions::default());
        assert_eq!(o.retry_horizon, Duration::from_secs(120));
        let (o, _) = session_options(&ConnectOptions {
            retry_horizon_ms: Some(1500),
            ..ConnectOptions::default()
        });
        assert_eq!(o.retry_horizon, Duration::from_millis(1500));
        assert_eq!(o.probe_timeout, Some(Duration::from_secs(3)));
    }
}
