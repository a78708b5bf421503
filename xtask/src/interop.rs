//! `cargo xtask interop [--report] [--only COLUMN,...]`: the conformance suite against real
//! 9P servers no one here wrote.
//!
//! Installs diod and ZeroFS 0.19.1 if missing (`servers`), writes their configuration in a
//! temp dir, starts each once with two listeners (127.0.0.1 on a free port, and a unix socket
//! in the temp dir), waits until each answers a `Tversion`, then runs the `external::*`
//! tests of `zerofs-conformance` once per column (`diod-tcp`, `diod-unix`, `zerofs-tcp`,
//! `zerofs-unix`) with `ZEROFS_TARGET` / `ZEROFS_SERVER` / `ZEROFS_ANAME` set. Every column
//! runs even when one fails; the servers are stopped afterwards on every path.
//!
//! Stopping is robust to interruption: each server runs under a `sh` watchdog whose stdin
//! is a pipe from this process. Dropping the [`ServerProc`] closes the pipe, and so does
//! the kernel when xtask dies for any reason (Ctrl-C, SIGTERM, even SIGKILL); the watchdog
//! then sends `kill -9` to the server. (Servers started from xtask rather than from a test
//! fixture: one server per kind serves every test of a column, and the tests run in
//! separate processes under nextest, which a per-test fixture could not share.)
//!
//! Results come from nextest's JUnit report (a generated profile `interop`) and from the
//! skip log the conformance fixture writes (`ZEROFS_SKIP_LOG`: one `SKIP`/`PART` line per
//! capability check). `--report` also runs the memserver generations and writes the matrix
//! to `docs/INTEROP.md`.

mod report;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::servers::{self, Servers, ZEROFS_VERSION};
use crate::util::{self, Result, cargo, succeeds};

/// Runs `"$@"` in the background, kills it with SIGKILL once this shell's stdin (a pipe
/// from xtask) reaches EOF, and exits with the server's status.
const WATCHDOG: &str = "umask 0
exec 3<&0
\"$@\" 3<&- </dev/null &
p=$!
( read _ <&3; kill -9 $p 2>/dev/null ) &
w=$!
exec 3<&-
wait $p
s=$?
kill $w 2>/dev/null
exit $s";

/// Longest wait for a server's first `Tversion` answer (ZeroFS cold start).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The password of the throwaway ZeroFS store.
const ZEROFS_PASSWORD: &str = "interop-test-password";

/// One column of the matrix run against an external server.
#[derive(Debug, Clone)]
pub struct Column {
    /// Matrix label, e.g. `diod-tcp`.
    pub label: &'static str,
    /// `ZEROFS_SERVER`.
    pub server: &'static str,
    /// `ZEROFS_TARGET`.
    pub target: String,
    /// `ZEROFS_ANAME`.
    pub aname: String,
}

/// `cargo xtask interop`.
pub fn main(args: &[String]) -> Result {
    let mut report = false;
    let mut only: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--report" => report = true,
            "--only" => {
                let list = it
                    .next()
                    .ok_or_else(|| util::Failure("--only needs a list".into()))?;
                only = Some(list.split(',').map(str::to_owned).collect());
            }
            "-h" | "--help" => {
                help();
                return Ok(());
            }
            other => return util::fail(format!("interop: unknown argument `{other}`")),
        }
    }
    run(report, only.as_deref())
}

fn help() {
    eprintln!(
        "usage: cargo xtask interop [--report] [--only COLUMN,...]\n\n\
         Runs the conformance suite's external tests against diod and ZeroFS {ZEROFS_VERSION}\n\
         (installed and cached by `cargo xtask servers`), each on 127.0.0.1 and on a unix\n\
         socket. Columns: {}.\n\n  \
         --report   also run the memserver generations and rewrite docs/INTEROP.md\n  \
         --only     run only the named columns",
        report::EXTERNAL_COLUMNS.join(", ")
    );
}

/// The `interop` step of `cargo xtask ci`.
pub fn ci_step() -> Result {
    run(false, None)
}

/// Starts the servers, runs every selected column, stops the servers, prints (and with
/// `report`, writes) the matrix; fails if any column failed.
pub fn run(report: bool, only: Option<&[String]>) -> Result {
    if let Some(only) = only
        && let Some(bad) = only
            .iter()
            .find(|c| !report::EXTERNAL_COLUMNS.contains(&c.as_str()))
    {
        return util::fail(format!(
            "unknown column `{bad}`; columns: {}",
            report::EXTERNAL_COLUMNS.join(", ")
        ));
    }
    let wanted = |label: &str| only.is_none_or(|o| o.iter().any(|c| c == label));
    let started = Instant::now();
    let bins = servers::ensure()?;
    let nextest_path = nextest_path()?;
    let tmp = TempDir::new("zerofs-interop")?;
    let skip_log = tmp.path().join("skips.log");
    std::fs::write(&skip_log, "")?;
    // Compile once before any server starts, so start-up is not measured against a build.
    util::run(
        cargo()
            .env("PATH", &nextest_path)
            .args(["nextest", "run", "--no-run", "-p", "zerofs-conformance"]),
    )?;

    let mut runs: Vec<(String, Option<report::RunResult>)> = Vec::new();
    let mut failed = Vec::new();
    if report {
        let t = Instant::now();
        let outcome = nextest(
            &tmp,
            "memserver",
            &nextest_path,
            "test(/^(plain|gen1|gen2|z)::/)",
            false,
            &[],
            &skip_log,
        );
        eprintln!(
            "==> interop memserver: {:.1}s",
            t.elapsed().as_secs_f64()
        );
        if outcome.status.is_err() {
            failed.push("memserver".to_owned());
        }
        runs.push(("memserver".to_owned(), outcome.junit));
    }

    let mut diod = None;
    let mut zerofs = None;
    if wanted("diod-tcp") || wanted("diod-unix") {
        diod = Some(ServerProc::start_diod(&bins, &tmp)?);
    }
    if wanted("zerofs-tcp") || wanted("zerofs-unix") {
        zerofs = Some(ServerProc::start_zerofs(&bins, &tmp)?);
    }
    let mut columns = Vec::new();
    for s in diod.iter().chain(zerofs.iter()) {
        columns.extend(s.columns().into_iter().filter(|c| wanted(c.label)));
    }
    for col in &columns {
        let t = Instant::now();
        let env = column_env(col, &bins);
        let outcome = nextest(
            &tmp,
            col.label,
            &nextest_path,
            "test(/^external::/)",
            true,
            &env,
            &skip_log,
        );
        eprintln!(
            "==> interop {}: {:.1}s",
            col.label,
            t.elapsed().as_secs_f64()
        );
        if let Err(e) = &outcome.status {
            eprintln!("==> interop {}: {e}", col.label);
            failed.push(col.label.to_owned());
        }
        runs.push((col.label.to_owned(), outcome.junit));
        for s in diod.iter_mut().chain(zerofs.iter_mut()) {
            if let Some(dead) = s.exited() {
                failed.push(format!("{} exited ({dead})", s.name));
                eprintln!("==> {} exited ({dead}); log:\n{}", s.name, s.log_tail());
            }
        }
    }
    drop(diod);
    drop(zerofs);

    let skips = report::parse_skip_log(&std::fs::read_to_string(&skip_log)?);
    let matrix = report::Matrix::build(&runs, &skips);
    eprintln!("\n{}", matrix.summary());
    if report {
        let doc = report::render_doc(&matrix, &diod_version(), ZEROFS_VERSION);
        let path = util::project_root().join("docs/INTEROP.md");
        std::fs::write(&path, doc)?;
        eprintln!("==> wrote {}", path.display());
    }
    eprintln!(
        "==> interop: {} columns in {:.1}s",
        runs.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        util::fail(format!("interop failed: {}", failed.join(", ")))
    }
}

/// The environment of one external column.
fn column_env(col: &Column, bins: &Servers) -> Vec<(&'static str, OsString)> {
    let mut env: Vec<(&'static str, OsString)> = vec![
        ("ZEROFS_TARGET", col.target.clone().into()),
        ("ZEROFS_SERVER", col.server.into()),
        ("ZEROFS_ANAME", col.aname.clone().into()),
        ("ZEROFS_INTEROP_LABEL", col.label.into()),
    ];
    // The restart scenario starts private servers from these binaries.
    env.extend(bins.test_env());
    env
}

/// `PATH` with a cached cargo-nextest in front when none is installed.
fn nextest_path() -> Result<OsString> {
    if succeeds(cargo().args(["nextest", "--version"])) {
        return Ok(std::env::var_os("PATH").unwrap_or_default());
    }
    util::path_with(&util::ensure_cargo_tool(crate::ci::NEXTEST)?)
}

struct Outcome {
    status: Result,
    junit: Option<report::RunResult>,
}

/// Runs the conformance tests matching `filter` under a generated nextest profile that
/// writes a JUnit report, and reads that report back.
fn nextest(
    tmp: &TempDir,
    name: &str,
    path: &OsString,
    filter: &str,
    ignored: bool,
    env: &[(&'static str, OsString)],
    skip_log: &Path,
) -> Outcome {
    let junit = tmp.path().join(format!("junit-{name}.xml"));
    let config = tmp.path().join(format!("nextest-{name}.toml"));
    let repo_config =
        std::fs::read_to_string(util::project_root().join(".config/nextest.toml"))
            .unwrap_or_default();
    let written = std::fs::write(
        &config,
        format!(
            "{repo_config}\n\n# Added by `cargo xtask interop`.\n[profile.interop]\n\
             fail-fast = false\nretries = 0\nslow-timeout = {{ period = \"30s\", terminate-after = 4 }}\n\
             failure-output = \"immediate-final\"\n\n[profile.interop.junit]\npath = \"{}\"\n",
            junit.display()
        ),
    );
    if let Err(e) = written {
        return Outcome {
            status: Err(e.into()),
            junit: None,
        };
    }
    let mut cmd = cargo();
    cmd.env("PATH", path)
        .env("ZEROFS_SKIP_LOG", skip_log)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .args(["nextest", "run", "-p", "zerofs-conformance", "--config-file"])
        .arg(&config)
        .args(["--profile", "interop", "--no-fail-fast", "-E", filter]);
    if ignored {
        cmd.args(["--run-ignored", "only"]);
    }
    let status = util::run(&mut cmd);
    let junit = std::fs::read_to_string(&junit)
        .ok()
        .map(|xml| report::parse_junit(&xml));
    Outcome { status, junit }
}

/// The Debian version of diod, for the report.
fn diod_version() -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "diod"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown version".to_owned())
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real server under its watchdog, listening on TCP and on a unix socket.
pub struct ServerProc {
    name: &'static str,
    kind: &'static str,
    child: Option<Child>,
    log: PathBuf,
    tcp: String,
    unix: PathBuf,
    aname: String,
}

impl ServerProc {
    fn start_diod(bins: &Servers, tmp: &TempDir) -> Result<ServerProc> {
        let dir = tmp.path().join("diod");
        let export = dir.join("export");
        std::fs::create_dir_all(&export)?;
        // Like ZeroFS's root: world-writable and sticky.
        std::fs::set_permissions(
            &export,
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )?;
        let unix = dir.join("diod.sock");
        Self::start_retrying("diod", "diod", &dir, unix, export.display().to_string(), |tcp, unix| {
            let mut cmd = Command::new(&bins.diod);
            cmd.args(["-f", "-n", "-c", "/dev/null", "-e"])
                .arg(&export)
                .args(["-l", tcp, "-l"])
                .arg(unix)
                .args(["-L", "stderr"]);
            cmd
        })
    }

    fn start_zerofs(bins: &Servers, tmp: &TempDir) -> Result<ServerProc> {
        let dir = tmp.path().join("zerofs");
        std::fs::create_dir_all(&dir)?;
        let unix = dir.join("zerofs.sock");
        let config = dir.join("zerofs.toml");
        Self::start_retrying("zerofs", "zerofs-0.19.1", &dir, unix, String::new(), |tcp, unix| {
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
        })
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
    fn columns(&self) -> Vec<Column> {
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
    fn exited(&mut self) -> Option<String> {
        match self.child.as_mut()?.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    fn log_tail(&self) -> String {
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

    #[test]
    fn the_watchdog_kills_its_server_when_stdin_closes() {
        let mut child = Command::new("/bin/sh")
            .args(["-c", WATCHDOG, "watchdog", "sleep", "600"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(child.try_wait().unwrap().is_none());
        drop(child.stdin.take());
        let mut status = None;
        for _ in 0..500 {
            status = child.try_wait().unwrap();
            if status.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        // The server died of SIGKILL: the watchdog exits with 128 + 9.
        assert_eq!(status.and_then(|s| s.code()), Some(137));
    }

    #[test]
    fn unknown_columns_are_rejected() {
        assert!(run(false, Some(&["nope".to_owned()])).is_err());
    }
}
