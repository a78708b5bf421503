//! Dialing: the [`Connector`] trait and its implementation for [`Target`].

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::target::Target;

/// A boxed byte stream half.
pub type BoxRead = Box<dyn AsyncRead + Send + Unpin>;
/// A boxed byte sink half.
pub type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;

/// A connected byte stream, split into halves.
pub struct Transport {
    /// Bytes from the server.
    pub reader: BoxRead,
    /// Bytes to the server (vectored writes are used when the sink supports them).
    pub writer: BoxWrite,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transport")
    }
}

impl Transport {
    /// Splits any bidirectional stream.
    pub fn new<S>(stream: S) -> Transport
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        let (r, w) = tokio::io::split(stream);
        Transport {
            reader: Box::new(r),
            writer: Box::new(w),
        }
    }
}

/// Opens connections to a server; the session dials again through it on every reconnect.
pub trait Connector: Send + Sync + fmt::Debug + 'static {
    /// Opens one connection.
    fn connect(&self) -> BoxFuture<'_, io::Result<Transport>>;
    /// A description for errors and traces.
    fn describe(&self) -> String;
    /// How many servers it can reach (an HA set); the session probes that many before it
    /// gives up an attempt because none is the leader. Default 1.
    fn candidates(&self) -> usize {
        1
    }
    /// The server last connected answered "not the serving leader": the next
    /// [`connect`](Self::connect) should start with another one. Default: nothing.
    fn not_leader(&self) {}
}

/// TCP keepalive: first probe after 45 s idle, then every 15 s.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(45);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// Linux `TCP_USER_TIMEOUT`: data written and not acknowledged for this long fails the socket
/// (instead of the ~15 minutes of retransmissions by default; keepalive does not fire while
/// data is unacknowledged), so even with the session's stall detection off a request on a
/// connection whose peer vanished without a reset fails in bounded time and is resent.
pub(crate) const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// Sets NODELAY (small requests must not wait for Nagle), keepalive and, on Linux, the TCP user
/// timeout on a dialled socket.
fn tune_tcp(s: &tokio::net::TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let ka = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    let sock = socket2::SockRef::from(s);
    sock.set_tcp_keepalive(&ka)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    sock.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT))?;
    Ok(())
}

/// Send buffer asked for on unix sockets: room for a window of large requests (e.g. a 1 MiB
/// `write_at` cut into 256 KiB `Twrite`s), so the writer hands them all to the kernel at once
/// instead of waking up once per ~200 KiB the server drains (the usual default). The kernel
/// caps it at `net.core.wmem_max` and allocates only what is queued. TCP is left to the
/// kernel's autotuning, which a fixed size would switch off.
#[cfg(unix)]
const UNIX_SEND_BUFFER: usize = 2 << 20;

/// Enlarges a dialled unix socket's send buffer (best effort: the default still works).
#[cfg(unix)]
fn tune_unix(s: &tokio::net::UnixStream) {
    if let Err(e) = socket2::SockRef::from(s).set_send_buffer_size(UNIX_SEND_BUFFER) {
        tracing::debug!(error = %e, "could not enlarge the unix socket send buffer");
    }
}

/// Resolves a host name to socket addresses.
async fn resolve_host(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    Ok(tokio::net::lookup_host((host.as_str(), port))
        .await?
        .collect())
}

/// Dials `host:port`: looks the name up through `resolve` now (nothing is cached, so every
/// dial, including every HA re-probe, sees the current DNS answer) and connects to the
/// first address that accepts.
async fn dial_tcp<R, F>(host: &str, port: u16, resolve: R) -> io::Result<Transport>
where
    R: FnOnce(String, u16) -> F,
    F: Future<Output = io::Result<Vec<SocketAddr>>>,
{
    let mut last = io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
    for addr in resolve(host.to_owned(), port).await? {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(s) => {
                tune_tcp(&s)?;
                let (r, w) = s.into_split();
                return Ok(Transport {
                    reader: Box::new(r),
                    writer: Box::new(w),
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Connector for Target {
    fn connect(&self) -> BoxFuture<'_, io::Result<Transport>> {
        Box::pin(async move {
            match self {
                Target::Tcp { host, port } => dial_tcp(host, *port, resolve_host).await,
                #[cfg(unix)]
                Target::Unix(path) => {
                    let s = tokio::net::UnixStream::connect(path).await?;
                    tune_unix(&s);
                    let (r, w) = s.into_split();
                    Ok(Transport {
                        reader: Box::new(r),
                        writer: Box::new(w),
                    })
                }
                #[cfg(not(unix))]
                Target::Unix(_) => Err(io::Error::new(io::ErrorKind::Unsupported, "unix sockets")),
            }
        })
    }

    fn describe(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dialled_tcp_sockets_get_nodelay_keepalive_and_a_user_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(!s.nodelay().unwrap(), "the OS default is Nagle on");
        tune_tcp(&s).unwrap();
        assert!(s.nodelay().unwrap());
        let sock = socket2::SockRef::from(&s);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), KEEPALIVE_IDLE);
        assert_eq!(sock.tcp_keepalive_interval().unwrap(), KEEPALIVE_INTERVAL);
        #[cfg(target_os = "linux")]
        assert_eq!(sock.tcp_user_timeout().unwrap(), Some(TCP_USER_TIMEOUT));
    }

    /// The send buffer grows to what was asked for, as far as `net.core.wmem_max` allows
    /// (Linux reports twice the granted size).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn dialled_unix_sockets_get_a_larger_send_buffer() {
        let dir = std::env::temp_dir().join(format!("zerofs-sndbuf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let plain = tokio::net::UnixStream::connect(&path).await.unwrap();
        let default = socket2::SockRef::from(&plain).send_buffer_size().unwrap();
        let s = tokio::net::UnixStream::connect(&path).await.unwrap();
        tune_unix(&s);
        let got = socket2::SockRef::from(&s).send_buffer_size().unwrap();
        let cap = std::fs::read_to_string("/proc/sys/net/core/wmem_max")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let want = UNIX_SEND_BUFFER.min(cap) * 2;
        assert!(got >= want.max(default), "send buffer {got}, wanted {want}");
        drop(listener);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn target_connector_dials_tcp_in_every_form() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        for form in [
            format!("tcp://127.0.0.1:{port}"),
            format!("127.0.0.1:{port}"),
        ] {
            let target = Target::parse(&form).unwrap();
            let t = target.connect().await.unwrap();
            let (_peer, _) = listener.accept().await.unwrap();
            drop(t);
        }
        drop(listener);
        let closed = Target::parse(&format!("127.0.0.1:{port}")).unwrap();
        assert!(closed.connect().await.is_err(), "nothing listens any more");
    }

    #[tokio::test]
    async fn every_dial_resolves_the_host_name_again() {
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let second = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (a, b) = (first.local_addr().unwrap(), second.local_addr().unwrap());
        // A fake DNS: "node-a" moves from the first listener to the second between dials.
        let answer = Mutex::new(a);
        let lookups = AtomicUsize::new(0);
        let resolve = |host: String, port: u16| {
            assert_eq!((host.as_str(), port), ("node-a", 5564));
            lookups.fetch_add(1, Ordering::SeqCst);
            let addr = *answer.lock().unwrap();
            async move { Ok(vec![addr]) }
        };
        let t = dial_tcp("node-a", 5564, resolve).await.unwrap();
        let (_peer, from) = first.accept().await.unwrap();
        assert_eq!(from.ip(), a.ip());
        drop(t);
        *answer.lock().unwrap() = b;
        let t = dial_tcp("node-a", 5564, resolve).await.unwrap();
        let accepted = tokio::time::timeout(Duration::from_secs(10), second.accept()).await;
        assert!(
            accepted.unwrap().is_ok(),
            "the second dial reached the new address"
        );
        assert_eq!(lookups.load(Ordering::SeqCst), 2, "one lookup per dial");
        drop(t);
        let none = |_: String, _: u16| async { Ok(Vec::new()) };
        let err = dial_tcp("gone", 1, none).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn targets_keep_host_names_unresolved() {
        // Nothing resolved is stored: a target (and so an HA set) holds only the name.
        let t = Target::parse("node-a.example:5564").unwrap();
        assert_eq!(
            t,
            Target::Tcp {
                host: "node-a.example".into(),
                port: 5564
            }
        );
    }
}
