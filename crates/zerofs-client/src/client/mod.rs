//! [`Client`]: the path-based entry point (connect, data, metadata and namespace operations).

mod builder;
pub(crate) mod data;
mod meta;
mod namespace;
mod std_like;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use zerofs_session::{Session, SessionError};

use crate::ctx::Ctx;
use crate::error::ZeroFsError;
use crate::records::{Capabilities, ClientStats, ConnectOptions, TrafficStats};

pub use self::builder::ClientBuilder;

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
/// client.close().await;
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

    /// Connects to `target` with `opts` (identity, export, msize, timeout).
    ///
    /// Negotiates the best dialect the server grants (`9P2000.L.Z`, `.zerofs2`, `.zerofs`,
    /// then plain `9P2000.L`, which also suits diod) and attaches as `opts.uid`. A
    /// comma-separated list (`node-a:5564,node-b:5564`) is an HA set, as with
    /// [`connect_multi`](Self::connect_multi). More settings: [`Client::builder`].
    pub async fn connect_with(
        target: &str,
        opts: ConnectOptions,
    ) -> Result<Arc<Client>, ZeroFsError> {
        Client::builder(target).options(opts).connect().await
    }

    /// A [`ClientBuilder`] for `target`: every setting of [`ConnectOptions`] plus those
    /// ZeroFS's own client lacks (retry horizon, probe timeout, pipelining, backoff).
    pub fn builder(target: &str) -> ClientBuilder {
        ClientBuilder::new(target)
    }

    /// Connects to the serving leader of an HA set of servers (ZeroFS `.Z` high
    /// availability): each target is probed, a server answering `ENOTCONN` is not the leader,
    /// and after any disconnect the set is probed again. Requests refused with `ENOTCONN`
    /// are re-routed before dispatch; those cut by `ESHUTDOWN` are resent with RETRY (the
    /// server de-duplicates them). When no server leads for the retry horizon
    /// ([`ClientBuilder::retry_horizon`], default 120 s), calls fail with
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
        ClientBuilder::multi(targets).options(opts).connect().await
    }

    /// The client over a connected session, or the connect error for `target`.
    fn finish(
        session: Result<Session, SessionError>,
        target: &str,
    ) -> Result<Arc<Client>, ZeroFsError> {
        let session = session.map_err(|e| ZeroFsError::connect_failed(target, e))?;
        Ok(Arc::new(Client {
            cx: Arc::new(Ctx::new(session)),
            closed: AtomicBool::new(false),
        }))
    }

    /// What the current connection negotiated (a live snapshot; it may change on reconnect).
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::new(self.cx.dialect(), self.cx.session.msize())
    }

    /// Closes the client: immediate, idempotent, never fails, and never waits on the network
    /// (it is `async` only to match ZeroFS's own client, so `client.close().await` works). Later calls on the client
    /// return [`ZeroFsError::Closed`]; open [`File`](crate::File) and [`Dir`](crate::Dir)
    /// handles keep working. The connection ends once the client and every handle are dropped.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether the client is open and a connection is up right now (during a reconnect,
    /// calls wait instead of failing).
    pub fn is_connected(&self) -> bool {
        !self.closed.load(Ordering::Acquire) && self.cx.session.is_connected()
    }

    /// Every counter the session keeps (requests, bytes, reconnects, replays, stale fids,
    /// protocol violations, in flight): a cheap snapshot of atomics, callable at any rate.
    /// With the `metrics` feature, [`publish_metrics`](Self::publish_metrics) exports them.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
    /// # let client = zerofs_client::Client::connect(&server.target()).await?;
    /// let before = client.stats();
    /// client.write("/f", "x").await?;
    /// let after = client.stats();
    /// assert!(after.requests > before.requests && after.bytes_sent > before.bytes_sent);
    /// assert_eq!(after.reconnects, 0);
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> ClientStats {
        self.cx.session.stats().into()
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
