//! A loopback TCP proxy that can black-hole connections: stop forwarding in both directions
//! without closing anything (bytes are read and discarded, so TCP acknowledges them and the
//! kernel never gives up), like a wedged server or a partition that never resets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Default)]
struct State {
    /// Bumped by every black hole: connections accepted before it stop forwarding for good.
    epoch: AtomicU64,
    /// New connections are accepted and never answered.
    hold: AtomicBool,
    accepted: AtomicU64,
    silent: AtomicU64,
}

/// The proxy; dropping it stops accepting (live connections end when either side closes).
#[derive(Debug)]
pub struct BlackHoleProxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl BlackHoleProxy {
    /// Listens on 127.0.0.1 and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> BlackHoleProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let st = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                st.accepted.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(down, upstream, st.clone()));
            }
        });
        BlackHoleProxy {
            addr,
            state,
            accept,
        }
    }

    /// The target to give the client.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Every live connection stops forwarding for good (both directions, nothing closed), and
    /// new connections are accepted and never answered, until [`resume`](Self::resume).
    pub fn black_hole(&self) {
        self.state.hold.store(true, Ordering::SeqCst);
        self.state.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// New connections are accepted and never answered; live ones keep forwarding.
    pub fn hold_new(&self) {
        self.state.hold.store(true, Ordering::SeqCst);
    }

    /// New connections are forwarded again (the ones black-holed stay silent).
    pub fn resume(&self) {
        self.state.hold.store(false, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.state.accepted.load(Ordering::Relaxed)
    }

    /// Connections accepted while holding (never answered).
    pub fn silent_accepts(&self) -> u64 {
        self.state.silent.load(Ordering::Relaxed)
    }
}

impl Drop for BlackHoleProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(down: TcpStream, upstream: SocketAddr, st: Arc<State>) {
    let _ = down.set_nodelay(true);
    let epoch = st.epoch.load(Ordering::SeqCst);
    if st.hold.load(Ordering::SeqCst) {
        st.silent.fetch_add(1, Ordering::Relaxed);
        // Read and discard until the client gives up.
        let (r, _w) = down.into_split();
        discard(r).await;
        return;
    }
    let Ok(up) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = up.set_nodelay(true);
    let (dr, dw) = down.into_split();
    let (ur, uw) = up.into_split();
    tokio::join!(pump(dr, uw, &st, epoch), pump(ur, dw, &st, epoch));
}

async fn discard(mut r: impl AsyncRead + Unpin) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// Copies `r` to `w` until EOF, discarding everything once a black hole started after the
/// connection was accepted; then closes `w`'s direction.
async fn pump(
    mut r: impl AsyncRead + Unpin,
    mut w: impl AsyncWrite + Unpin,
    st: &State,
    epoch: u64,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if st.epoch.load(Ordering::SeqCst) != epoch {
            continue;
        }
        if w.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = w.shutdown().await;
}
