//! Real 9P servers (diod, ZeroFS 0.19.1) as child processes of a test, for the fault tests
//! that must kill and restart a server the other tests do not share.
//!
//! Each server runs under a small `sh` watchdog whose stdin is a pipe from this process:
//! when the pipe closes (the guard is dropped, the test panics, or the test process dies,
//! even by SIGKILL) the watchdog sends `kill -9` to the server. [`RealServer::kill9`] uses
//! the same path, so a "crash" is exactly `kill -9`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest wait for a server to answer its first `Tversion` (ZeroFS cold start).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

use zerofs_testenv::WATCHDOG;

/// Which real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealKind {
    /// diod 1.0.24 (Debian), a POSIX passthrough.
    Diod,
    /// ZeroFS 0.19.1 from the crate registry, `file://` store.
    Zerofs,
}

/// How the server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// 127.0.0.1 on a port chosen at the first start and kept across restarts.
    Tcp,
    /// A unix socket in the server's temp dir.
    Unix,
}

/// The `ZEROFS_SERVER` name of a real server (`diod`, `zerofs-0.19.1`).
pub fn kind_from_name(name: &str) -> Option<RealKind> {
    match name {
        "diod" => Some(RealKind::Diod),
        "zerofs-0.19.1" => Some(RealKind::Zerofs),
        _ => None,
    }
}

/// The transport of a client target string (`unix:`, `unix://`, an absolute path: unix).
pub fn transport_of(target: &str) -> Transport {
    if target.starts_with("unix:") || target.starts_with('/') {
        Transport::Unix
    } else {
        Transport::Tcp
    }
}

/// The binary of `kind`: `ZEROFS_CLIENT_DIOD` / `ZEROFS_CLIENT_ZEROFS` (set by
/// `cargo xtask interop`), else the usual install locations.
pub fn binary(kind: RealKind) -> PathBuf {
    match kind {
        RealKind::Diod => zerofs_testenv::diod_binary(),
        RealKind::Zerofs => zerofs_testenv::zerofs_binary(),
    }
}

/// A running (or killed, restartable) real server with its own temp dir of data.
#[derive(Debug)]
pub struct RealServer {
    kind: RealKind,
    transport: Transport,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RealServer {
    /// Starts a fresh server of `kind` on `transport` and waits until it answers `Tversion`.
    pub async fn start(kind: RealKind, transport: Transport) -> std::io::Result<RealServer> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "zerofs-conformance-{}-{}-{n}",
            match kind {
                RealKind::Diod => "diod",
                RealKind::Zerofs => "zerofs",
            },
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("export"))?;
        let mut s = RealServer {
            kind,
            transport,
            dir,
            port: 0,
            child: None,
        };
        // A port freed by the probe may be taken before the server binds it: retry (bounded).
        let mut last = None;
        for _ in 0..3 {
            if transport == Transport::Tcp {
                s.port = std::net::TcpListener::bind("127.0.0.1:0")?
                    .local_addr()?
                    .port();
            }
            match s.restart().await {
                Ok(()) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("server did not start")))
    }

    /// The client target string.
    pub fn target(&self) -> String {
        match self.transport {
            Transport::Tcp => format!("127.0.0.1:{}", self.port),
            Transport::Unix => format!("unix:{}", self.socket().display()),
        }
    }

    /// The `aname` to attach with (diod: the export path; ZeroFS: empty).
    pub fn aname(&self) -> String {
        match self.kind {
            RealKind::Diod => self.dir.join("export").display().to_string(),
            RealKind::Zerofs => String::new(),
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("server.sock")
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `kill -9` the server and reap it; its data stays for [`restart`](Self::restart).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Closing the watchdog's stdin makes it SIGKILL the server, then exit.
            drop(child.stdin.take());
            for _ in 0..200 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on the same data, address and password, and waits until
    /// it answers `Tversion` (bounded by [`START_TIMEOUT`]); a server that exits during
    /// start-up (e.g. its port still held) is retried twice.
    pub async fn restart(&mut self) -> std::io::Result<()> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.spawn_once().await {
                Err(e) if tries < 3 && self.child.is_none() => {
                    eprintln!("server start-up failed, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => return other,
            }
        }
    }

    async fn spawn_once(&mut self) -> std::io::Result<()> {
        self.kill9();
        let _ = std::fs::remove_file(self.socket());
        let mut cmd = Command::new("/bin/sh");
        cmd.current_dir(&self.dir)
            .arg("-c")
            .arg(WATCHDOG)
            .arg("watchdog");
        match self.kind {
            RealKind::Diod => {
                cmd.arg(binary(RealKind::Diod))
                    .args(["-f", "-n", "-c", "/dev/null", "-e"])
                    .arg(self.dir.join("export"))
                    .arg("-l");
                match self.transport {
                    Transport::Tcp => cmd.arg(format!("127.0.0.1:{}", self.port)),
                    Transport::Unix => cmd.arg(self.socket()),
                };
                cmd.args(["-L", "stderr"]);
            }
            RealKind::Zerofs => {
                let address = match self.transport {
                    Transport::Tcp => format!("\"127.0.0.1:{}\"", self.port),
                    Transport::Unix => String::new(),
                };
                let config = format!(
                    "[cache]\ndir = \"{cache}\"\ndisk_size_gb = 1.0\nmemory_size_gb = 0.25\n\n\
                     [storage]\nurl = \"file://{store}\"\n\
                     encryption_password = \"${{ZEROFS_PASSWORD}}\"\n\n\
                     [servers.ninep]\naddresses = [{address}]\nunix_socket = \"{sock}\"\n",
                    cache = self.dir.join("cache").display(),
                    store = self.dir.join("store").display(),
                    sock = self.socket().display(),
                );
                let config_path = self.dir.join("zerofs.toml");
                std::fs::write(&config_path, config)?;
                cmd.arg(binary(RealKind::Zerofs))
                    .arg("run")
                    .arg("-c")
                    .arg(config_path)
                    .env("ZEROFS_PASSWORD", "conformance-restart-password")
                    .env("RUST_LOG", "warn");
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))?;
        let child = cmd
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> std::io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(std::io::Error::other(format!(
                    "{:?} exited during start-up ({status}); log:\n{}",
                    self.kind,
                    self.log_tail()
                )));
            }
            if answers_version(&self.target()).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(std::io::Error::other(format!(
                    "{:?} did not answer Tversion within {START_TIMEOUT:?}; log:\n{}",
                    self.kind,
                    self.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `target` answers a `Tversion("9P2000.L")` with any well-formed reply within 2 s.
pub async fn answers_version(target: &str) -> bool {
    let probe = async {
        let mut frame = Vec::with_capacity(21);
        frame.extend_from_slice(&21u32.to_le_bytes());
        frame.push(100); // Tversion
        frame.extend_from_slice(&0xFFFFu16.to_le_bytes());
        frame.extend_from_slice(&8192u32.to_le_bytes());
        frame.extend_from_slice(&8u16.to_le_bytes());
        frame.extend_from_slice(b"9P2000.L");
        let mut head = [0u8; 7];
        match transport_of(target) {
            Transport::Unix => {
                let path = target
                    .trim_start_matches("unix://")
                    .trim_start_matches("unix:");
                let mut s = tokio::net::UnixStream::connect(Path::new(path)).await?;
                s.write_all(&frame).await?;
                s.read_exact(&mut head).await?;
            }
            Transport::Tcp => {
                let mut s =
                    tokio::net::TcpStream::connect(target.trim_start_matches("tcp://")).await?;
                s.write_all(&frame).await?;
                s.read_exact(&mut head).await?;
            }
        }
        std::io::Result::Ok(head)
    };
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        // Rversion (101) or Rlerror (7) for our NOTAG request.
        Ok(Ok(head)) => matches!(head[4], 101 | 7) && head[5..7] == [0xFF, 0xFF],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_map_to_transports() {
        assert_eq!(transport_of("unix:/tmp/s"), Transport::Unix);
        assert_eq!(transport_of("unix:///tmp/s"), Transport::Unix);
        assert_eq!(transport_of("/tmp/s"), Transport::Unix);
        assert_eq!(transport_of("127.0.0.1:564"), Transport::Tcp);
        assert_eq!(transport_of("tcp://127.0.0.1:564"), Transport::Tcp);
        assert_eq!(kind_from_name("diod"), Some(RealKind::Diod));
        assert_eq!(kind_from_name("zerofs-0.19.1"), Some(RealKind::Zerofs));
        assert_eq!(kind_from_name("gen2"), None);
    }

    #[tokio::test]
    async fn a_closed_port_does_not_answer() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(!answers_version(&format!("127.0.0.1:{port}")).await);
    }
}
