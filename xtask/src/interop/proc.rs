//! The real servers of `cargo xtask interop` as child processes under a `sh` watchdog, and
//! the `Tversion` probe that tells when they answer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Column, TempDir};
use crate::servers::Servers;
use crate::util::{self, Result};

use zerofs_testenv::WATCHDOG;

/// Longest wait for a server's first `Tversion` answer (ZeroFS cold start).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The password of the throwaway ZeroFS store.
const ZEROFS_PASSWORD: &str = "interop-test-password";

/// A real server under its watchdog, listening on TCP and on a unix socket.
pub struct ServerProc {
    pub(super) name: &'static str,
    kind: &'static str,
    child: Option<Child>,
    log: PathBuf,
    tcp: String,
    unix: PathBuf,
    aname: String,
}

impl ServerProc {
    pub(super) fn start_diod(bins: &Servers, tmp: &TempDir) -> Result<ServerProc> {
        let dir = tmp.path().join("diod");
        let export = dir.join("export");
        std::fs::create_dir_all(&export)?;
        // Like ZeroFS's root: world-writable and sticky.
        std::fs::set_permissions(
            &export,
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )?;
        let unix = dir.join("diod.sock");
        Self::start_retrying(
            "diod",
            "diod",
            &dir,
            unix,
            export.display().to_string(),
            |tcp, unix| {
                let mut cmd = Command::new(&bins.diod);
                cmd.args(["-f", "-n", "-c", "/dev/null", "-e"])
                    .arg(&export)
                    .args(["-l", tcp, "-l"])
                    .arg(unix)
                    .args(["-L", "stderr"]);
                cmd
            },
        )
    }

    pub(super) fn start_zerofs(bins: &Servers, tmp: &TempDir) -> Result<ServerProc> {
        let dir = tmp.path().join("zerofs");
        std::fs::create_dir_all(&dir)?;
        let unix = dir.join("zerofs.sock");
        let config = dir.join("zerofs.toml");
        Self::start_retrying(
            "zerofs",
            "zerofs-0.19.1",
            &dir,
            unix,
            String::new(),
            |tcp, unix| {
                let text = format!(
                    "[cache]\ndir = \"{cache}\"\ndisk_size_gb = 1.0\nmemory_size_gb = 0.25\n\n\
                 [storage]\nurl = \"file://{store}\"\nencryption_password = \"${{ZEROFS_PASSWORD}}\"\n\n\
                 [servers.ninep]\naddresses = [\"{tcp}\"]\nunix_socket = \"{sock}\"\n",
                    cache = dir.join("cache").display(),
                    store = dir.join("store").display(),
                    sock = unix.display(),
                );
                // A failed write surfaces as a start-up failure with ZeroFS's own message.
                let _ = std::fs::write(&config, text);
                let mut cmd = Command::new(&bins.zerofs);
                cmd.arg("run")
                    .arg("-c")
                    .arg(&config)
                    .env("ZEROFS_PASSWORD", ZEROFS_PASSWORD)
                    .env("RUST_LOG", "warn");
                cmd
            },
        )
    }

    /// Starts the server on a free port (a port freed by the probe can be taken before the
    /// server binds it: up to 3 attempts) and waits until both listeners answer.
    fn start_retrying(
        name: &'static str,
        kind: &'static str,
        dir: &Path,
        unix: PathBuf,
        aname: String,
        command: impl Fn(&str, &Path) -> Command,
    ) -> Result<ServerProc> {
        let mut last = String::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let tcp = format!("127.0.0.1:{port}");
            let _ = std::fs::remove_file(&unix);
            let server = command(&tcp, &unix);
            let log = dir.join(format!("{name}.log"));
            let log_file = std::fs::File::create(&log)?;
            let mut cmd = Command::new("/bin/sh");
            // diod aborts on a malformed frame: its core dump stays in the temp dir.
            cmd.current_dir(dir)
                .arg("-c")
                .arg(WATCHDOG)
                .arg("watchdog")
                .arg(server.get_program())
                .args(server.get_args())
                .envs(
                    server
                        .get_envs()
                        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
                )
                .stdin(Stdio::piped())
                .stdout(log_file.try_clone()?)
                .stderr(log_file);
            eprintln!("$ {}", util::display(&server));
            let child = cmd.spawn()?;
            let mut proc = ServerProc {
                name,
                kind,
                child: Some(child),
                log,
                tcp,
                unix: unix.clone(),
                aname: aname.clone(),
            };
            match proc.wait_ready() {
                Ok(()) => return Ok(proc),
                Err(e) => last = e,
            }
        }
        util::fail(format!("{name} did not start: {last}"))
    }

    fn wait_ready(&mut self) -> std::result::Result<(), String> {
        let t = Instant::now();
        let deadline = t + START_TIMEOUT;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "exited during start-up ({status}); log:\n{}",
                    self.log_tail()
                ));
            }
            if answers_tcp(&self.tcp) && answers_unix(&self.unix) {
                eprintln!(
                    "xtask: {} answers on {} and {} ({:.1}s)",
                    self.name,
                    self.tcp,
                    self.unix.display(),
                    t.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no Tversion answer within {START_TIMEOUT:?}; log:\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The two columns this server serves.
    pub(super) fn columns(&self) -> Vec<Column> {
        let (tcp_label, unix_label) = match self.name {
            "diod" => ("diod-tcp", "diod-unix"),
            _ => ("zerofs-tcp", "zerofs-unix"),
        };
        vec![
            Column {
                label: tcp_label,
                server: self.kind,
                target: self.tcp.clone(),
                aname: self.aname.clone(),
            },
            Column {
                label: unix_label,
                server: self.kind,
                target: format!("unix:{}", self.unix.display()),
                aname: self.aname.clone(),
            },
        ]
    }

    /// `Some(status)` once the server (its watchdog) has exited.
    pub(super) fn exited(&mut self) -> Option<String> {
        match self.child.as_mut()?.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    pub(super) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // EOF on the watchdog's stdin: it kills the server, reaps it, and exits.
        drop(child.stdin.take());
        for _ in 0..100 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                eprintln!("xtask: stopped {}", self.name);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("xtask: {} watchdog killed", self.name);
    }
}

/// A `Tversion("9P2000.L")` with tag NOTAG and msize 8192.
fn tversion() -> Vec<u8> {
    let mut frame = Vec::with_capacity(21);
    frame.extend_from_slice(&21u32.to_le_bytes());
    frame.push(100);
    frame.extend_from_slice(&0xFFFFu16.to_le_bytes());
    frame.extend_from_slice(&8192u32.to_le_bytes());
    frame.extend_from_slice(&8u16.to_le_bytes());
    frame.extend_from_slice(b"9P2000.L");
    frame
}

/// Whether a reply header answers our `Tversion` (Rversion or Rlerror, tag NOTAG).
fn is_version_answer(head: &[u8; 7]) -> bool {
    matches!(head[4], 101 | 7) && head[5..7] == [0xFF, 0xFF]
}

fn probe(mut s: impl Read + Write) -> bool {
    let mut head = [0u8; 7];
    s.write_all(&tversion()).is_ok() && s.read_exact(&mut head).is_ok() && is_version_answer(&head)
}

fn answers_tcp(addr: &str) -> bool {
    let Ok(sock) = addr.parse() else { return false };
    match TcpStream::connect_timeout(&sock, Duration::from_secs(1)) {
        Ok(s) => {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
            probe(s)
        }
        Err(_) => false,
    }
}

fn answers_unix(path: &Path) -> bool {
    match UnixStream::connect(path) {
        Ok(s) => {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
            probe(s)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tversion_frame_layout() {
        let f = tversion();
        assert_eq!(f.len(), 21);
        assert_eq!(u32::from_le_bytes(f[..4].try_into().unwrap()), 21);
        assert_eq!(f[4], 100);
        assert_eq!(&f[13..], b"9P2000.L");
        assert!(is_version_answer(&[19, 0, 0, 0, 101, 0xFF, 0xFF]));
        assert!(is_version_answer(&[11, 0, 0, 0, 7, 0xFF, 0xFF]));
        assert!(!is_version_answer(&[11, 0, 0, 0, 7, 0, 0]));
        assert!(!is_version_answer(&[11, 0, 0, 0, 100, 0xFF, 0xFF]));
    }

    #[test]
    fn probes_fail_on_closed_endpoints() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(!answers_tcp(&format!("127.0.0.1:{port}")));
        assert!(!answers_unix(Path::new("/nonexistent/interop.sock")));
    }
}
