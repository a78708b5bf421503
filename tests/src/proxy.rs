//! A small TCP proxy on 127.0.0.1 that forwards to a 9P server (TCP or unix socket) and cuts
//! every live connection on demand or at random, for the connection-loss fault tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::realserver::{Transport, transport_of};

/// A running proxy; dropping it stops accepting and closes every connection.
#[derive(Debug)]
pub struct ChaosProxy {
    port: u16,
    cut: watch::Sender<u64>,
    stats: Arc<Stats>,
    accept: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Stats {
    accepted: AtomicU64,
    cut: AtomicU64,
}

impl ChaosProxy {
    /// Listens on `127.0.0.1:0` and forwards each connection to `upstream` (a client target
    /// string: `host:port`, `tcp://host:port`, `unix:PATH` or an absolute path).
    pub async fn start(upstream: &str) -> std::io::Result<ChaosProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (cut, _) = watch::channel(0u64);
        let stats = Arc::new(Stats::default());
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream.to_owned(),
            cut.clone(),
            stats.clone(),
        ));
        Ok(ChaosProxy {
            port,
            cut,
            stats,
            accept,
        })
    }

    /// The target to give the client.
    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Closes every connection open right now (both directions, mid-frame or not).
    pub fn cut_all(&self) {
        self.cut.send_modify(|epoch| *epoch += 1);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.stats.accepted.load(Ordering::Relaxed)
    }

    /// Connections closed by a cut so far.
    pub fn cut_connections(&self) -> u64 {
        self.stats.cut.load(Ordering::Relaxed)
    }

    /// Cuts all connections `cuts` times, each after a pseudo-random pause drawn from
    /// `pause` (milliseconds) by a xorshift generator seeded with `seed`; returns the task.
    pub fn cut_randomly(
        self: &Arc<Self>,
        seed: u64,
        cuts: u32,
        pause: std::ops::Range<u64>,
    ) -> JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut x = seed | 1;
            let span = pause.end.saturating_sub(pause.start).max(1);
            for _ in 0..cuts {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                tokio::time::sleep(Duration::from_millis(pause.start + x % span)).await;
                me.cut_all();
            }
        })
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Connections watch this channel; a final cut closes them.
        self.cut_all();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    cut: watch::Sender<u64>,
    stats: Arc<Stats>,
) {
    loop {
        let Ok((down, _)) = listener.accept().await else {
            continue;
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let rx = cut.subscribe();
        let upstream = upstream.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let _ = down.set_nodelay(true);
            match transport_of(&upstream) {
                Transport::Tcp => {
                    let addr = upstream.trim_start_matches("tcp://");
                    if let Ok(up) = tokio::net::TcpStream::connect(addr).await {
                        let _ = up.set_nodelay(true);
                        pipe(down, up, rx, &stats).await;
                    }
                }
                Transport::Unix => {
                    let path = upstream
                        .trim_start_matches("unix://")
                        .trim_start_matches("unix:");
                    if let Ok(up) = tokio::net::UnixStream::connect(path).await {
                        pipe(down, up, rx, &stats).await;
                    }
                }
            }
        });
    }
}

/// Copies both ways until either side closes or the cut epoch changes; then drops both
/// sockets, which closes them.
async fn pipe<A, B>(mut a: A, mut b: B, mut cut: watch::Receiver<u64>, stats: &Stats)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
        _ = cut.changed() => {
            stats.cut.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn forwards_then_cuts() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = echo.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..4 {
                let Ok((mut s, _)) = echo.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let proxy = ChaosProxy::start(&addr.to_string()).await.unwrap();
        let mut c = tokio::net::TcpStream::connect(proxy.target())
            .await
            .unwrap();
        c.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping");
        assert_eq!(proxy.accepted(), 1);
        proxy.cut_all();
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut rest)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
        assert_eq!(proxy.cut_connections(), 1);
    }
}
