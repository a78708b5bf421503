//! [`ClientBuilder`]: every connection setting, including those ZeroFS's own client lacks.

use std::sync::Arc;
use std::time::Duration;

use zerofs_session::{Backoff, Options, Session};

use super::Client;
use crate::error::ZeroFsError;
use crate::records::ConnectOptions;

/// Where to connect: one target string (possibly a comma-separated HA set) or a list.
#[derive(Debug, Clone)]
enum Targets {
    One(String),
    Many(Vec<String>),
}

/// Connects a [`Client`] with settings beyond [`ConnectOptions`]: the `.Z` retry horizon, the
/// HA probe timeout, pipelining and in-flight limits, and the reconnect backoff.
///
/// [`Client::connect_with`] is `Client::builder(target).options(opts).connect()`; programs
/// written for ZeroFS's own client never need the builder.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = zerofs_memserver::MemServer::start(zerofs_memserver::Config::new(zerofs_memserver::Generation::Gen2)).await?;
/// use std::time::Duration;
/// use zerofs_client::{Client, ConnectOptions};
///
/// let client = Client::builder(&server.target())
///     .options(ConnectOptions { aname: String::new(), ..ConnectOptions::default() })
///     .retry_horizon(Duration::from_secs(60))
///     .bulk_window(16)
///     .connect()
///     .await?;
/// client.write("/f", "built").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `.connect().await`"]
pub struct ClientBuilder {
    targets: Targets,
    options: Options,
}

impl ClientBuilder {
    /// A builder for `target` (the grammar of [`Client::connect`]; a comma-separated list is
    /// an HA set) with the default options.
    pub fn new(target: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            targets: Targets::One(target.into()),
            options: session_options(&ConnectOptions::default()),
        }
    }

    /// A builder for the HA set `targets` (see [`Client::connect_multi`]).
    pub fn multi(targets: &[String]) -> ClientBuilder {
        ClientBuilder {
            targets: Targets::Many(targets.to_vec()),
            ..ClientBuilder::new(String::new())
        }
    }

    /// Identity, export, msize and connect timeout, as [`Client::connect_with`] takes them.
    /// Replaces only those settings; the others set on this builder stay.
    pub fn options(mut self, opts: ConnectOptions) -> ClientBuilder {
        let o = session_options(&opts);
        self.options = Options {
            uid: o.uid,
            gid: o.gid,
            uname: o.uname,
            aname: o.aname,
            msize: o.msize,
            connect_timeout: o.connect_timeout,
            ..self.options
        };
        self
    }

    /// `9P2000.L.Z` only: how long a mutation whose outcome is unknown (its connection died,
    /// or the server answered `ESHUTDOWN`) is resent before it fails as possibly applied, and
    /// how long calls wait for an HA set to have a leader before they fail with
    /// [`NotLeader`](crate::ZeroFsError::NotLeader). Default 120 s; capped at 150 s (how long
    /// servers remember an operation).
    pub fn retry_horizon(mut self, horizon: Duration) -> ClientBuilder {
        self.options.retry_horizon = horizon;
        self
    }

    /// HA sets: how long one server may take to accept and negotiate before the next one is
    /// tried (default 3 s; `None`: only the connect timeout bounds it).
    pub fn probe_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.options.probe_timeout = timeout;
        self
    }

    /// Chunks kept in flight per bulk read or write (default 8, at most 256).
    pub fn bulk_window(mut self, chunks: usize) -> ClientBuilder {
        self.options.bulk_window = chunks;
        self
    }

    /// Most requests in flight at once over the connection (default 1024, at most 32768);
    /// more wait for a slot.
    pub fn max_in_flight(mut self, requests: usize) -> ClientBuilder {
        self.options.max_in_flight = requests;
        self
    }

    /// Most request and reply bytes buffered for callers at once (default 64 MiB).
    pub fn max_buffered_bytes(mut self, bytes: usize) -> ClientBuilder {
        self.options.max_buffered_bytes = bytes;
        self
    }

    /// Delays between reconnect attempts (default 50 ms doubling to 2 s, half jittered).
    pub fn backoff(mut self, backoff: Backoff) -> ClientBuilder {
        self.options.backoff = backoff;
        self
    }

    /// Liveness: when requests have been outstanding this long with no byte received, the
    /// connection is probed; if the probe is not answered within
    /// [`liveness_timeout`](Self::liveness_timeout) the connection is declared dead and the
    /// client reconnects and resends (calls block meanwhile, as after any loss). Default 8 s;
    /// `None` turns detection off (a vanished peer is then found by TCP alone). At least 10 ms.
    pub fn stall_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.options.stall_timeout = timeout;
        self
    }

    /// How long a liveness probe (see [`stall_timeout`](Self::stall_timeout)) has to be
    /// answered before the connection is declared dead. Default 3 s; at least 10 ms.
    pub fn liveness_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.options.liveness_timeout = timeout;
        self
    }

    /// A request unanswered this long while its connection is otherwise alive (a server that
    /// skipped it) is recovered: flushed and resent on the same connection, or, where the
    /// server refuses or ignores the flush or the request cannot be flushed, resent on a new
    /// connection. The call keeps blocking meanwhile and completes once answered; each
    /// recovery of the same request doubles its timeout (up to 64×), so a merely slow
    /// operation still completes. Default 120 s; `None` turns it off. At least 10 ms.
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.options.request_timeout = timeout;
        self
    }

    /// The session options this builder connects with (for inspection).
    pub fn session_options(&self) -> &Options {
        &self.options
    }

    /// Connects: negotiates the best dialect the server grants and attaches. Any failure
    /// (dial, version, attach, timeout) is [`ZeroFsError::ConnectFailed`], with the cause as
    /// its [`source`](std::error::Error::source).
    pub async fn connect(self) -> Result<Arc<Client>, ZeroFsError> {
        let shown = match &self.targets {
            Targets::One(t) => t.clone(),
            Targets::Many(ts) => ts.join(","),
        };
        self.connect_to(shown).await
    }

    /// [`connect`](Self::connect) in its span; `shown` names the target(s) in errors.
    #[tracing::instrument(level = "debug", name = "connect", skip_all, fields(path = %shown), err(level = "debug", Display))]
    async fn connect_to(self, shown: String) -> Result<Arc<Client>, ZeroFsError> {
        let session = match self.targets {
            Targets::One(t) => Session::connect(&t, self.options).await,
            Targets::Many(ts) => Session::connect_multi(&ts, self.options).await,
        };
        Client::finish(session, &shown)
    }
}

/// The session options for `opts` (every other setting at its default).
fn session_options(opts: &ConnectOptions) -> Options {
    Options {
        uid: opts.effective_uid(),
        gid: opts.effective_gid(),
        uname: opts.effective_uname(),
        aname: opts.aname.clone(),
        msize: opts.msize,
        connect_timeout: opts
            .connect_timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms))),
        ..Options::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_options_and_defaults_match_the_session() {
        let b = ClientBuilder::new("unix:/x");
        assert_eq!(b.options.retry_horizon, Duration::from_secs(120));
        assert_eq!(b.options.probe_timeout, Some(Duration::from_secs(3)));
        assert_eq!(b.options.stall_timeout, Some(Duration::from_secs(8)));
        assert_eq!(b.options.liveness_timeout, Duration::from_secs(3));
        assert_eq!(b.options.request_timeout, Some(Duration::from_secs(120)));
        let b = b
            .request_timeout(Some(Duration::from_secs(30)))
            .stall_timeout(Some(Duration::from_millis(700)))
            .liveness_timeout(Duration::from_millis(300))
            .retry_horizon(Duration::from_millis(1500))
            .bulk_window(3)
            .max_in_flight(7)
            .options(ConnectOptions {
                uid: Some(42),
                gid: Some(43),
                uname: Some("u".into()),
                aname: "/vol".into(),
                msize: 8192,
                connect_timeout_ms: Some(250),
            });
        let o = b.session_options();
        assert_eq!(o.retry_horizon, Duration::from_millis(1500));
        assert_eq!(o.stall_timeout, Some(Duration::from_millis(700)));
        assert_eq!(o.liveness_timeout, Duration::from_millis(300));
        assert_eq!(o.request_timeout, Some(Duration::from_secs(30)));
        assert_eq!((o.bulk_window, o.max_in_flight), (3, 7));
        assert_eq!((o.uid, o.gid, o.uname.as_str()), (42, 43, "u"));
        assert_eq!((o.aname.as_str(), o.msize), ("/vol", 8192));
        assert_eq!(o.connect_timeout, Some(Duration::from_millis(250)));
        let none = ClientBuilder::new("x").options(ConnectOptions {
            connect_timeout_ms: None,
            ..ConnectOptions::default()
        });
        assert_eq!(none.session_options().connect_timeout, None);
        let off = ClientBuilder::new("x").stall_timeout(None);
        assert_eq!(off.session_options().stall_timeout, None);
        let off = ClientBuilder::new("x").request_timeout(None);
        assert_eq!(off.session_options().request_timeout, None);
    }
}
