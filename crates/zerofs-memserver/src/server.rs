//! Listeners and the handle tests hold: addresses, fault injection, counters, shutdown.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info};
use zerofs_9p_proto::MessageType;

use crate::config::{Config, Generation};
use crate::conn;
use crate::counters::{Counters, LiveCounters};
use crate::dispatch::State;
use crate::faults::{Faults, ReplyLoss, lock};
use crate::fs::Fs;
use crate::ledger::Ledger;

/// State shared by the listeners, every connection and the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    /// Shared by both nodes of an HA pair.
    pub state: Arc<Mutex<State>>,
    /// Whether this node serves requests (a follower answers `ENOTCONN` before dispatch).
    pub leader: AtomicBool,
    pub counters: LiveCounters,
    pub faults: Faults,
    /// Bumped to close every live connection.
    pub drops: watch::Sender<u64>,
    pub next_conn: AtomicU64,
    /// The connections being served, by id (for [`ServerHandle::live_fids`]).
    pub conns: Mutex<HashMap<u64, Weak<conn::Conn>>>,
}

/// The in-memory ZeroFS-compatible 9P server.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use zerofs_memserver::{Config, Generation, MemServer};
///
/// let server = MemServer::start(Config::new(Generation::Z)).await?;
/// let target = server.target(); // "tcp://127.0.0.1:PORT": hand it to the client under test
/// assert!(target.starts_with("tcp://127.0.0.1:"));
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MemServer;

impl MemServer {
    /// Binds the configured listeners and starts serving (on the current tokio runtime). With
    /// no listener configured the server is reachable only through
    /// [`ServerHandle::connect_in_memory`].
    pub async fn start(config: Config) -> io::Result<ServerHandle> {
        let profile = config.generation.profile();
        let state = State {
            fs: Fs::new(profile, config.root_uid, config.root_gid),
            ledger: Ledger::new(config.ledger_retention, config.ledger_capacity),
            lineage: fresh_lineage(0),
            writer_epoch: 0,
            xattrs: HashMap::new(),
        };
        MemServer::start_node(config, Arc::new(Mutex::new(state)), true).await
    }

    /// Starts a node serving `state` (shared with another node in an HA pair).
    pub(crate) async fn start_node(
        config: Config,
        state: Arc<Mutex<State>>,
        leader: bool,
    ) -> io::Result<ServerHandle> {
        let shared = Arc::new(Shared {
            state,
            leader: AtomicBool::new(leader),
            counters: LiveCounters::default(),
            faults: Faults::default(),
            drops: watch::channel(0).0,
            next_conn: AtomicU64::new(1),
            conns: Mutex::default(),
            config,
        });
        let (listeners, tcp_addr) =
            bind(&shared, shared.config.tcp, shared.config.unix.as_deref()).await?;
        info!(generation = %shared.config.generation, ?tcp_addr, unix = ?shared.config.unix, leader, "memserver listening");
        Ok(ServerHandle {
            inner: Arc::new(Inner {
                unix_path: shared.config.unix.clone(),
                shared,
                tcp_addr,
                listeners: tokio::sync::Mutex::new(listeners),
                listening: AtomicBool::new(true),
            }),
        })
    }
}

pub(crate) fn fresh_lineage(previous: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let token = (nanos
        ^ u64::from(std::process::id()).rotate_left(32)
        ^ previous.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        | 1;
    if token == previous {
        token.wrapping_add(2)
    } else {
        token
    }
}

async fn bind(
    shared: &Arc<Shared>,
    tcp: Option<SocketAddr>,
    unix: Option<&Path>,
) -> io::Result<(Vec<JoinHandle<()>>, Option<SocketAddr>)> {
    let mut tasks = Vec::new();
    let mut tcp_addr = None;
    if let Some(addr) = tcp {
        let listener = TcpListener::bind(addr).await?;
        tcp_addr = Some(listener.local_addr()?);
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        debug!(%peer, "accepted");
                        let _ = stream.set_nodelay(true);
                        let (r, w) = stream.into_split();
                        tokio::spawn(conn::serve(shared.clone(), r, w));
                    }
                    Err(e) => {
                        debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    if let Some(path) = unix {
        let _ = std::fs::remove_file(path);
        let listener = match UnixListener::bind(path) {
            Ok(l) => l,
            Err(e) => {
                tasks.iter().for_each(JoinHandle::abort);
                return Err(e);
            }
        };
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        // Room for a whole large reply (a 1 MiB `Rread`) at once instead of
                        // one wake-up per ~200 KiB the client drains; best effort.
                        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(2 << 20);
                        let (r, w) = stream.into_split();
                        tokio::spawn(conn::serve(shared.clone(), r, w));
                    }
                    Err(e) => {
                        debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    Ok((tasks, tcp_addr))
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    tcp_addr: Option<SocketAddr>,
    unix_path: Option<PathBuf>,
    listeners: tokio::sync::Mutex<Vec<JoinHandle<()>>>,
    /// False between `stop_listening` and `resume_listening` (in-memory dials are refused).
    listening: AtomicBool,
}

/// Bytes each direction of an in-memory connection buffers (a few large replies).
const IN_MEMORY_BUFFER: usize = 4 << 20;

/// A running memserver: its addresses, fault injection and counters. Cheap to clone; every
/// clone controls the same server.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    pub(crate) inner: Arc<Inner>,
}

impl ServerHandle {
    /// The bound TCP address (the real port when the config asked for port 0).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.inner.tcp_addr
    }

    /// The unix socket path.
    pub fn unix_path(&self) -> Option<&Path> {
        self.inner.unix_path.as_deref()
    }

    /// The client's target string: `tcp://ADDR` when listening on TCP, else `unix:PATH`.
    pub fn target(&self) -> String {
        match (self.inner.tcp_addr, self.unix_target()) {
            (Some(addr), _) => format!("tcp://{addr}"),
            (None, Some(unix)) => unix,
            (None, None) => String::new(),
        }
    }

    /// The unix socket as a target string (`unix:/path`), if listening on one.
    pub fn unix_target(&self) -> Option<String> {
        self.inner
            .unix_path
            .as_ref()
            .map(|p| format!("unix:{}", p.display()))
    }

    /// The generation the server behaves as.
    pub fn generation(&self) -> Generation {
        self.inner.shared.config.generation
    }

    /// The configuration the server was started with.
    pub fn config(&self) -> &Config {
        &self.inner.shared.config
    }

    /// Closes every live connection now (their locks are released; the filesystem, the
    /// ledger and the listeners stay).
    pub fn drop_connections(&self) {
        self.inner.shared.drops.send_modify(|g| *g += 1);
    }

    /// Stops accepting connections and closes the listening sockets (live connections stay;
    /// call [`drop_connections`](Self::drop_connections) too to simulate a crash).
    pub async fn stop_listening(&self) {
        self.inner.listening.store(false, Ordering::SeqCst);
        let mut listeners = self.inner.listeners.lock().await;
        for task in listeners.drain(..) {
            task.abort();
            let _ = task.await;
        }
        if let Some(path) = &self.inner.unix_path {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Listens again on the same addresses, serving the same filesystem (a server restart).
    /// Does nothing if already listening.
    pub async fn resume_listening(&self) -> io::Result<()> {
        let mut listeners = self.inner.listeners.lock().await;
        self.inner.listening.store(true, Ordering::SeqCst);
        if !listeners.is_empty() {
            return Ok(());
        }
        let (tasks, _) = bind(
            &self.inner.shared,
            self.inner.tcp_addr,
            self.inner.unix_path.as_deref(),
        )
        .await?;
        *listeners = tasks;
        Ok(())
    }

    /// Opens a connection without a socket: the client end of an in-memory byte stream,
    /// served exactly like an accepted connection (same filesystem, generation, faults,
    /// counters; [`drop_connections`](Self::drop_connections) closes it). Refused with
    /// `ConnectionRefused` while the server is not listening, like a socket dial. Needs a
    /// tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use zerofs_memserver::{Config, Generation, MemServer};
    ///
    /// let server = MemServer::start(Config::new(Generation::Plain)).await?;
    /// let mut stream = server.connect_in_memory()?;
    /// // Tversion, tag NOTAG, msize 8192, "9P2000.L"
    /// let mut tversion = vec![21, 0, 0, 0, 100, 0xff, 0xff, 0, 0x20, 0, 0, 8, 0];
    /// tversion.extend_from_slice(b"9P2000.L");
    /// stream.write_all(&tversion).await?;
    /// let mut rversion = [0u8; 21];
    /// stream.read_exact(&mut rversion).await?;
    /// assert_eq!(rversion[4], 101); // Rversion
    /// assert_eq!(&rversion[13..], b"9P2000.L");
    /// server.stop_listening().await;
    /// assert!(server.connect_in_memory().is_err(), "refused while not listening");
    /// server.resume_listening().await?;
    /// server.drop_connections(); // closes in-memory connections too
    /// assert_eq!(stream.read(&mut rversion).await?, 0);
    /// server.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_in_memory(&self) -> io::Result<tokio::io::DuplexStream> {
        if !self.inner.listening.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the memserver is not listening",
            ));
        }
        let (client, server) = tokio::io::duplex(IN_MEMORY_BUFFER);
        let (r, w) = tokio::io::split(server);
        tokio::spawn(conn::serve(self.inner.shared.clone(), r, w));
        Ok(client)
    }

    /// Adds a reply-loss rule: a matching request is applied, then its connection is closed
    /// without a reply. Rules apply to requests arriving from now on, on every connection.
    pub fn lose_reply_after(&self, rule: ReplyLoss) {
        self.inner.shared.faults.add_loss(rule);
    }

    /// Removes every pending reply-loss rule.
    pub fn clear_reply_loss(&self) {
        self.inner.shared.faults.clear_losses();
    }

    /// Delays every reply by `delay` after the request is applied (`None`: no delay). A
    /// per-type delay set with [`set_reply_delay_for`](Self::set_reply_delay_for) wins.
    pub fn set_reply_delay(&self, delay: Option<Duration>) {
        self.inner.shared.faults.set_delay(None, delay);
    }

    /// Delays replies to requests of type `ty` (`None`: remove the per-type delay).
    pub fn set_reply_delay_for(&self, ty: MessageType, delay: Option<Duration>) {
        self.inner.shared.faults.set_delay(Some(ty), delay);
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.inner.shared.counters.snapshot()
    }

    /// Zeroes the counters.
    pub fn reset_counters(&self) {
        self.inner.shared.counters.reset();
    }

    /// The live lineage token (what `Tgetlineage` answers).
    pub fn lineage(&self) -> u64 {
        lock(&self.inner.shared.state).lineage
    }

    /// Replaces the lineage token, as a server that lost durability would: later `Tfsyncdur`
    /// with the old token fail with `ESTALE`. Returns the new token.
    pub fn rotate_lineage(&self) -> u64 {
        let mut st = lock(&self.inner.shared.state);
        st.lineage = fresh_lineage(st.lineage);
        st.lineage
    }

    /// Stops listening, closes every connection and removes the unix socket file.
    pub async fn shutdown(self) {
        self.stop_listening().await;
        self.drop_connections();
    }
}
