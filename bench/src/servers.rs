//! The servers under test, each a child process in its own temp dir, stopped on drop: the
//! memserver (gen 2 and plain, with `--control-stdin` for its frame counters), diod,
//! ZeroFS 0.19.1 and, when its binary is given, ZeroFS 2.3 (`9P2000.L.Z`, built from source).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::child::Reference;
use crate::proc::Proc;

/// Longest wait for a server to answer its first `Tversion` (ZeroFS cold start).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Longest wait for a memserver control answer.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerKind {
    /// The memserver as a ZeroFS 1.2.5–1.2.7 (`9P2000.L.zerofs2`).
    MemGen2,
    /// The memserver as plain 9P2000.L (like ZeroFS 0.19.1).
    MemPlain,
    /// diod (Debian).
    Diod,
    /// ZeroFS 0.19.1 from the crate registry.
    Zerofs,
    /// ZeroFS 2.3.0 (`9P2000.L.Z`), built from source (not in the default set: CI has none).
    Zerofs23,
}

impl ServerKind {
    /// The servers measured when none are named, in report order.
    pub const DEFAULT: [ServerKind; 4] = [
        ServerKind::MemGen2,
        ServerKind::MemPlain,
        ServerKind::Diod,
        ServerKind::Zerofs,
    ];

    /// Every server `--servers` accepts.
    pub const ALL: [ServerKind; 5] = [
        ServerKind::MemGen2,
        ServerKind::MemPlain,
        ServerKind::Diod,
        ServerKind::Zerofs,
        ServerKind::Zerofs23,
    ];

    /// The name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::MemGen2 => "memserver-gen2",
            ServerKind::MemPlain => "memserver-plain",
            ServerKind::Diod => "diod",
            ServerKind::Zerofs => "zerofs",
            ServerKind::Zerofs23 => "zerofs-2.3",
        }
    }

    /// Which reference client `theirs` is on this server.
    pub fn reference(self) -> Reference {
        match self {
            ServerKind::Zerofs23 => Reference::V04,
            _ => Reference::V01,
        }
    }

    /// Whether it is the memserver (which counts frames).
    pub fn is_memserver(self) -> bool {
        matches!(self, ServerKind::MemGen2 | ServerKind::MemPlain)
    }

    /// Parses a comma-separated list of names.
    pub fn parse_list(list: &str) -> Result<Vec<ServerKind>, String> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let kind = ServerKind::ALL
                .into_iter()
                .find(|k| k.name().eq_ignore_ascii_case(item))
                .ok_or_else(|| {
                    format!(
                        "unknown server {item:?} (memserver-gen2, memserver-plain, diod, zerofs, zerofs-2.3)"
                    )
                })?;
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        Ok(out)
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How clients reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A unix socket in the server's temp dir.
    Unix,
    /// TCP on 127.0.0.1.
    Tcp,
}

/// Where the server binaries are.
#[derive(Debug, Clone, Default)]
pub struct Binaries {
    /// `zerofs-memserver`.
    pub memserver: Option<PathBuf>,
    /// `diod`.
    pub diod: Option<PathBuf>,
    /// ZeroFS 0.19.1's `zerofs`.
    pub zerofs: Option<PathBuf>,
    /// ZeroFS 2.3.0's `zerofs` (`--zerofs-2.3-bin`, `$ZEROFS_HEAD_BIN`).
    pub zerofs23: Option<PathBuf>,
}

/// A directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "zerofs-bench-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server. Dropping it stops the process and removes its temp dir.
#[derive(Debug)]
pub struct Server {
    /// Which one.
    pub kind: ServerKind,
    /// The client target string.
    pub target: String,
    /// The attach name (diod: the export path; others: empty).
    pub aname: String,
    // Field order matters: the process stops before its directory goes.
    proc: Proc,
    _dir: TempDir,
}

/// Frame counts by message type name, from the memserver.
pub type Frames = BTreeMap<String, u64>;

impl Server {
    /// Starts `kind` and waits until it answers a `Tversion`.
    pub fn start(
        kind: ServerKind,
        bins: &Binaries,
        transport: Transport,
    ) -> Result<Server, String> {
        let missing = |what: &str| {
            format!("{what} binary not given or not found (cargo xtask servers installs it)")
        };
        let dir = TempDir::new(kind.name())?;
        let sock = dir.0.join("9p.sock");
        let tcp = match transport {
            Transport::Tcp => Some(free_port()?),
            Transport::Unix => None,
        };
        let (cmd, aname) = match kind {
            ServerKind::MemGen2 | ServerKind::MemPlain => {
                let bin = bins
                    .memserver
                    .as_ref()
                    .filter(|p| p.is_file())
                    .ok_or_else(|| missing("zerofs-memserver"))?;
                let mut cmd = Command::new(bin);
                let generation = if kind == ServerKind::MemGen2 {
                    "gen2"
                } else {
                    "plain"
                };
                cmd.args(["--generation", generation, "--control-stdin"]);
                match tcp {
                    Some(addr) => cmd.arg("--listen").arg(addr.to_string()),
                    None => cmd.arg("--unix").arg(&sock),
                };
                (cmd, String::new())
            }
            ServerKind::Diod => {
                let bin = bins
                    .diod
                    .as_ref()
                    .filter(|p| p.is_file())
                    .ok_or_else(|| missing("diod"))?;
                let export = dir.0.join("export");
                std::fs::create_dir(&export)
                    .map_err(|e| format!("create {}: {e}", export.display()))?;
                // diod applies the process umask to creates; `exec` keeps the pid we kill.
                // SIGPIPE is ignored (inherited across exec), as systemd does for services:
                // diod writes replies without MSG_NOSIGNAL and dies of SIGPIPE when a client
                // leaves with replies pending (the reference client, refused at Tversion).
                let mut cmd = Command::new("/bin/sh");
                cmd.arg("-c")
                    .arg("umask 022 && trap '' PIPE && exec \"$0\" \"$@\"")
                    .arg(bin)
                    .args(["-f", "-n", "-c", "/dev/null", "-e"])
                    .arg(&export)
                    .arg("-l");
                match tcp {
                    Some(addr) => cmd.arg(addr.to_string()),
                    None => cmd.arg(&sock),
                };
                cmd.args(["-L", "stderr"]);
                (cmd, export.to_string_lossy().into_owned())
            }
            ServerKind::Zerofs | ServerKind::Zerofs23 => {
                let bin = match kind {
                    ServerKind::Zerofs => bins.zerofs.as_ref(),
                    _ => bins.zerofs23.as_ref(),
                };
                let bin = bin
                    .filter(|p| p.is_file())
                    .ok_or_else(|| missing(kind.name()))?;
                let config = zerofs_config(&dir.0, &sock, tcp, kind == ServerKind::Zerofs23);
                let config_path = dir.0.join("zerofs.toml");
                std::fs::write(&config_path, config)
                    .map_err(|e| format!("write zerofs config: {e}"))?;
                let mut cmd = Command::new(bin);
                cmd.arg("run")
                    .arg("-c")
                    .arg(&config_path)
                    .env("ZEROFS_PASSWORD", "zerofs-bench-password")
                    .env("RUST_LOG", "warn");
                (cmd, String::new())
            }
        };
        let proc = Proc::spawn(kind.name(), cmd)?;
        let mut server = Server {
            kind,
            target: match tcp {
                Some(addr) => format!("tcp://{addr}"),
                None => format!("unix:{}", sock.display()),
            },
            aname,
            proc,
            _dir: dir,
        };
        server.wait_ready(&sock, tcp)?;
        Ok(server)
    }

    fn wait_ready(&mut self, sock: &Path, tcp: Option<SocketAddr>) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.proc.exited() {
                return Err(format!(
                    "{} exited during start-up ({status}): {}",
                    self.kind,
                    self.proc.stderr_tail()
                ));
            }
            if answers_version(sock, tcp) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not answer Tversion within {START_TIMEOUT:?}: {}",
                    self.kind,
                    self.proc.stderr_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// If the server process has exited: its status and last stderr lines.
    pub fn exit_report(&mut self) -> Option<String> {
        let status = self.proc.exited()?;
        // Give the stderr thread a moment to drain the pipe.
        std::thread::sleep(Duration::from_millis(100));
        Some(format!(
            "{} exited ({status}): {}",
            self.kind,
            self.proc.stderr_tail()
        ))
    }

    /// Zeroes the memserver's counters (no-op elsewhere).
    pub fn reset_counters(&mut self) -> Result<(), String> {
        if !self.kind.is_memserver() {
            return Ok(());
        }
        self.proc.send("reset")?;
        match self.proc.line(CONTROL_TIMEOUT)? {
            l if l == "ok" => Ok(()),
            other => Err(format!("{}: reset answered {other:?}", self.kind)),
        }
    }

    /// The memserver's frame counters (`None` elsewhere).
    pub fn counters(&mut self) -> Result<Option<Frames>, String> {
        if !self.kind.is_memserver() {
            return Ok(None);
        }
        self.proc.send("counters")?;
        let mut lines = Vec::new();
        for _ in 0..1024 {
            let line = self.proc.line(CONTROL_TIMEOUT)?;
            let end = line == "end";
            lines.push(line);
            if end {
                return parse_counters(&lines).map(Some);
            }
        }
        Err(format!("{}: counters without an end", self.kind))
    }
}

/// Parses the memserver's `counters` answer (`frames TYPE N` lines, `unknown N`,
/// `connections N`, `end`) into frames by type; unknown frames count as `unknown`.
pub fn parse_counters(lines: &[String]) -> Result<Frames, String> {
    let mut frames = Frames::new();
    let mut ended = false;
    for line in lines {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| {
            s.parse::<u64>()
                .map_err(|e| format!("counters line {line:?}: {e}"))
        };
        match parts.as_slice() {
            ["frames", ty, n] => {
                frames.insert((*ty).to_owned(), num(n)?);
            }
            ["unknown", n] => {
                let n = num(n)?;
                if n > 0 {
                    frames.insert("unknown".into(), n);
                }
            }
            ["connections", n] => {
                num(n)?;
            }
            ["end"] => ended = true,
            _ => return Err(format!("unexpected counters line {line:?}")),
        }
    }
    if ended {
        Ok(frames)
    } else {
        Err("counters without an end".into())
    }
}

/// ZeroFS's config. 2.x (`head`) refuses a `file://` store (its start-up check needs
/// conditional writes), so it gets the in-memory one, and its telemetry is turned off.
fn zerofs_config(data: &Path, sock: &Path, tcp: Option<SocketAddr>, head: bool) -> String {
    let addresses = tcp.map(|a| format!("\"{a}\"")).unwrap_or_default();
    let url = if head {
        "memory:///zerofs".to_owned()
    } else {
        format!("file://{}", data.join("store").display())
    };
    let telemetry = if head {
        "\n[telemetry]\nenabled = false\n"
    } else {
        ""
    };
    format!(
        "[cache]\ndir = \"{cache}\"\ndisk_size_gb = 1.0\nmemory_size_gb = 0.25\n\n\
         [storage]\nurl = \"{url}\"\nencryption_password = \"${{ZEROFS_PASSWORD}}\"\n\n\
         [servers.ninep]\naddresses = [{addresses}]\nunix_socket = \"{sock}\"\n{telemetry}",
        cache = data.join("cache").display(),
        sock = sock.display(),
    )
}

/// A TCP port on 127.0.0.1 free right now.
fn free_port() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))
}

/// `Tversion(tag NOTAG, msize 8192, "9P2000.L")` on the wire.
pub fn tversion_frame() -> Vec<u8> {
    let version = b"9P2000.L";
    let size = 4 + 1 + 2 + 4 + 2 + version.len();
    let mut f = Vec::with_capacity(size);
    f.extend_from_slice(&(size as u32).to_le_bytes());
    f.push(100);
    f.extend_from_slice(&0xFFFFu16.to_le_bytes());
    f.extend_from_slice(&8192u32.to_le_bytes());
    f.extend_from_slice(&(version.len() as u16).to_le_bytes());
    f.extend_from_slice(version);
    f
}

/// Whether the server answers a `Tversion` with an `Rversion` (type 101) within 2 s.
fn answers_version(sock: &Path, tcp: Option<SocketAddr>) -> bool {
    fn ask(mut s: impl Read + Write) -> bool {
        let mut head = [0u8; 5];
        s.write_all(&tversion_frame()).is_ok() && s.read_exact(&mut head).is_ok() && head[4] == 101
    }
    let timeout = Some(Duration::from_secs(2));
    match tcp {
        Some(addr) => TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .is_ok_and(|s| s.set_read_timeout(timeout).is_ok() && ask(s)),
        None => {
            UnixStream::connect(sock).is_ok_and(|s| s.set_read_timeout(timeout).is_ok() && ask(s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lists_parse_and_dedupe() {
        assert_eq!(
            ServerKind::parse_list("diod, memserver-gen2,diod").unwrap(),
            [ServerKind::Diod, ServerKind::MemGen2]
        );
        assert!(ServerKind::parse_list("nfs").is_err());
        assert!(ServerKind::MemPlain.is_memserver() && !ServerKind::Zerofs.is_memserver());
    }

    #[test]
    fn counters_answer_parses() {
        let lines: Vec<String> = [
            "frames Twalk 12",
            "frames Tclunk 3",
            "unknown 1",
            "connections 2",
            "end",
        ]
        .map(String::from)
        .to_vec();
        let f = parse_counters(&lines).unwrap();
        assert_eq!(f.get("Twalk"), Some(&12));
        assert_eq!(f.get("Tclunk"), Some(&3));
        assert_eq!(f.get("unknown"), Some(&1));
        assert_eq!(f.len(), 3);
        assert!(parse_counters(&lines[..4]).is_err());
        assert!(parse_counters(&["frames Twalk x".into(), "end".into()]).is_err());
        assert!(parse_counters(&["hello".into(), "end".into()]).is_err());
    }

    #[test]
    fn tversion_frame_layout() {
        let f = tversion_frame();
        assert_eq!(f.len(), 21);
        assert_eq!(&f[..7], &[21, 0, 0, 0, 100, 0xFF, 0xFF]);
        assert_eq!(&f[7..11], &8192u32.to_le_bytes());
        assert_eq!(&f[11..], b"\x08\x009P2000.L");
    }

    #[test]
    fn zerofs_config_names_the_listeners() {
        let c = zerofs_config(Path::new("/d"), Path::new("/d/s.sock"), None, false);
        assert!(c.contains("addresses = []\nunix_socket = \"/d/s.sock\""));
        assert!(c.contains("url = \"file:///d/store\""));
        assert!(!c.contains("telemetry"));
        let c = zerofs_config(
            Path::new("/d"),
            Path::new("/d/s.sock"),
            Some("127.0.0.1:9".parse().unwrap()),
            true,
        );
        assert!(c.contains("addresses = [\"127.0.0.1:9\"]"));
        assert!(c.contains("url = \"memory:///zerofs\""));
        assert!(c.contains("[telemetry]\nenabled = false"));
    }
}
