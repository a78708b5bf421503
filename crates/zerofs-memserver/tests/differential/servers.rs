//! The servers under comparison: diod and ZeroFS 0.19.1 as child processes listening on a unix
//! socket in a temp dir (killed on drop, even when a test panics), and the memserver in-process.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::wire::{Target, answers_version};

/// Longest wait for a real server to answer its first `Tversion` (ZeroFS cold start).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Which server a transcript comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// ZeroFS 0.19.1 from the crate registry: the reference.
    Zerofs,
    /// The in-memory server of this crate, plain generation.
    Mem,
    /// diod 1.0.24 from Debian.
    Diod,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Zerofs => "zerofs-0.19.1",
            Kind::Mem => "memserver(plain)",
            Kind::Diod => "diod",
        })
    }
}

/// A running server.
pub struct Server {
    /// Which one.
    pub kind: Kind,
    /// Where it listens.
    pub target: Target,
    /// The `aname` that attaches to the root of its exported tree.
    pub root_aname: Vec<u8>,
    guard: Guard,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("kind", &self.kind)
            .field("target", &self.target)
            .finish()
    }
}

enum Guard {
    Child(ChildGuard),
    /// The in-process server stops with the test's runtime.
    Mem(#[allow(dead_code)] zerofs_memserver::ServerHandle),
}

impl Server {
    /// The server's log so far (child processes only), for failure messages.
    pub fn log_tail(&self) -> String {
        match &self.guard {
            Guard::Child(c) => c.log_tail(),
            Guard::Mem(_) => String::new(),
        }
    }
}

/// A child process killed and reaped on drop; its temp dir (config, data, socket, log) is
/// removed after it.
struct ChildGuard {
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl ChildGuard {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use zerofs_testenv::servers_required;

/// The binary of a real server, or `None` (after saying so on stderr) when it is missing and
/// servers are not required. Panics with installation advice when they are.
#[allow(clippy::print_stderr)]
fn binary(kind: Kind) -> Option<PathBuf> {
    let (path, var) = match kind {
        Kind::Diod => (zerofs_testenv::diod_binary(), zerofs_testenv::DIOD_VAR),
        Kind::Zerofs => (zerofs_testenv::zerofs_binary(), zerofs_testenv::ZEROFS_VAR),
        Kind::Mem => unreachable!("the memserver is in-process"),
    };
    if path.is_file() {
        return Some(path);
    }
    let msg = format!(
        "{kind} not found at {} (set {var} to override); install the real servers with \
         `cargo xtask servers`",
        path.display()
    );
    assert!(
        !servers_required(),
        "ZEROFS_CLIENT_REQUIRE_SERVERS=1 but {msg}"
    );
    eprintln!("SKIPPED comparisons with {kind}: {msg}");
    None
}

/// Starts diod, or returns `None` if it is not installed (and not required).
pub async fn start_diod() -> Option<Server> {
    let bin = binary(Kind::Diod)?;
    let dir = tempfile::Builder::new()
        .prefix("difftest-diod")
        .tempdir()
        .expect("temp dir");
    let export = dir.path().join("export");
    std::fs::create_dir(&export).expect("export dir");
    // ZeroFS's root directory is 1777; give the export the same mode.
    std::fs::set_permissions(
        &export,
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .expect("chmod export dir");
    let sock = dir.path().join("diod.sock");
    // diod applies the process umask to creates; clear it so modes compare with ZeroFS, which
    // applies none. diod aborts on some malformed frames (a scripted step provokes it), so it
    // runs in the temp dir, where a core dump is removed with the rest (diod refuses a zero
    // core limit). `exec` keeps the pid, so killing the child kills diod.
    let mut cmd = Command::new("/bin/sh");
    cmd.current_dir(dir.path())
        .arg("-c")
        .arg("umask 0 && exec \"$0\" \"$@\"")
        .arg(&bin)
        .args(["-f", "-n", "-c", "/dev/null", "-e"])
        .arg(&export)
        .arg("-l")
        .arg(&sock)
        .args(["-L", "stderr"]);
    let root_aname = export.as_os_str().as_encoded_bytes().to_vec();
    Some(spawn(Kind::Diod, cmd, dir, sock, root_aname).await)
}

/// Starts ZeroFS 0.19.1 on a fresh `file://` store, or returns `None` if it is not installed
/// (and not required).
pub async fn start_zerofs() -> Option<Server> {
    let bin = binary(Kind::Zerofs)?;
    let dir = tempfile::Builder::new()
        .prefix("difftest-zerofs")
        .tempdir()
        .expect("temp dir");
    let data = dir.path();
    let sock = data.join("zerofs.9p.sock");
    let config = format!(
        "[cache]\ndir = \"{cache}\"\ndisk_size_gb = 1.0\nmemory_size_gb = 0.25\n\n\
         [storage]\nurl = \"file://{store}\"\nencryption_password = \"${{ZEROFS_PASSWORD}}\"\n\n\
         [servers.ninep]\naddresses = []\nunix_socket = \"{sock}\"\n",
        cache = data.join("cache").display(),
        store = data.join("store").display(),
        sock = sock.display(),
    );
    let config_path = data.join("zerofs.toml");
    std::fs::write(&config_path, config).expect("write zerofs config");
    let mut cmd = Command::new(bin);
    cmd.arg("run")
        .arg("-c")
        .arg(&config_path)
        .env("ZEROFS_PASSWORD", "difftest-password")
        .env("RUST_LOG", "warn");
    Some(spawn(Kind::Zerofs, cmd, dir, sock, Vec::new()).await)
}

async fn spawn(
    kind: Kind,
    mut cmd: Command,
    dir: TempDir,
    sock: PathBuf,
    aname: Vec<u8>,
) -> Server {
    let log = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let err_file = log_file.try_clone().expect("log file");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(err_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {kind} ({:?}): {e}", cmd.get_program()));
    let mut guard = ChildGuard {
        child,
        log,
        _dir: dir,
    };
    let target = Target::Unix(sock.clone());
    wait_ready(kind, &mut guard, &sock, &target).await;
    Server {
        kind,
        target,
        root_aname: aname,
        guard: Guard::Child(guard),
    }
}

/// Polls (bounded by [`START_TIMEOUT`]) until the server answers a `Tversion`.
async fn wait_ready(kind: Kind, guard: &mut ChildGuard, sock: &Path, target: &Target) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = guard.child.try_wait() {
            panic!(
                "{kind} exited during start-up ({status}); log:\n{}",
                guard.log_tail()
            );
        }
        if sock.exists() && answers_version(target).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{kind} did not answer Tversion within {START_TIMEOUT:?}; log:\n{}",
            guard.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the memserver, plain generation, on TCP `127.0.0.1:0`.
pub async fn start_mem() -> Server {
    use zerofs_memserver::{Config, Generation, MemServer};
    let handle = MemServer::start(Config::new(Generation::Plain))
        .await
        .expect("start the memserver");
    let addr = handle.tcp_addr().expect("the memserver listens on TCP");
    Server {
        kind: Kind::Mem,
        target: Target::Tcp(addr),
        root_aname: Vec::new(),
        guard: Guard::Mem(handle),
    }
}
