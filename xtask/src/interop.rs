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

mod proc;
mod report;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::servers::{self, Servers, ZEROFS_VERSION};
use crate::util::{self, Result, cargo, succeeds};
use proc::ServerProc;

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
    util::run(cargo().env("PATH", &nextest_path).args([
        "nextest",
        "run",
        "--no-run",
        "-p",
        "zerofs-conformance",
    ]))?;

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
        eprintln!("==> interop memserver: {:.1}s", t.elapsed().as_secs_f64());
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
    if matrix.any_failed() && failed.is_empty() {
        failed.push("a test case (see the matrix)".to_owned());
    }
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

/// Starts diod and ZeroFS 0.19.1 as the interop step does, runs `f` for each of their
/// columns (TCP and unix socket), stops them, and fails if any run failed. The Python
/// interop step (`xtask python`) runs its suite this way.
pub(crate) fn for_each_column(mut f: impl FnMut(&Column) -> Result) -> Result {
    let bins = servers::ensure()?;
    let tmp = TempDir::new("zerofs-columns")?;
    let mut procs = vec![
        ServerProc::start_diod(&bins, &tmp)?,
        ServerProc::start_zerofs(&bins, &tmp)?,
    ];
    let mut failed = Vec::new();
    for p in procs.iter_mut() {
        for col in p.columns() {
            if let Err(e) = f(&col) {
                failed.push(format!("{}: {e}", col.label));
            }
            if let Some(dead) = p.exited() {
                failed.push(format!("{} exited ({dead})", p.name));
                eprintln!("==> {} exited ({dead}); log:\n{}", p.name, p.log_tail());
            }
        }
    }
    drop(procs);
    if failed.is_empty() {
        Ok(())
    } else {
        util::fail(failed.join("; "))
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
    let repo_config = std::fs::read_to_string(util::project_root().join(".config/nextest.toml"))
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
        .args([
            "nextest",
            "run",
            "-p",
            "zerofs-conformance",
            "--config-file",
        ])
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

/// `cargo xtask ci object-store-interop`: `object_store`'s conformance suite against
/// `ZeroFsStore` (the `external::*` tests of `zerofs-object-store`) on every real-server column.
pub fn object_store_step() -> Result {
    external_tests_per_column(
        "object-store interop",
        &["-p", "zerofs-object-store", "--test", "conformance"],
        "test(/^external::/)",
    )
}

/// `cargo xtask ci cli-interop`: the `zerofs-cli` binary (the ignored `external_` tests of
/// crates/zerofs-cli) on every real-server column.
pub fn cli_step() -> Result {
    external_tests_per_column("cli-interop", &["-p", "zerofs-cli"], "test(/^external_/)")
}

/// Builds the nextest `selection` before any server starts, then runs its ignored tests
/// matching `filter` once per column of [`for_each_column`] with that column's environment.
fn external_tests_per_column(step: &str, selection: &[&str], filter: &str) -> Result {
    let bins = servers::ensure()?;
    let path = nextest_path()?;
    let nextest = |extra: &[&str]| {
        let mut cmd = cargo();
        cmd.env("PATH", &path)
            .args(["nextest", "run"])
            .args(selection)
            .args(extra);
        cmd
    };
    util::run(&mut nextest(&["--no-run"]))?;
    for_each_column(|col| {
        let t = Instant::now();
        let status = util::run(
            nextest(&["--no-fail-fast", "--run-ignored", "only", "-E", filter])
                .envs(column_env(col, &bins)),
        );
        eprintln!(
            "==> {step} {}: {:.1}s",
            col.label,
            t.elapsed().as_secs_f64()
        );
        status
    })
    .map_err(|e| format!("{step} failed: {e}").into())
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

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_columns_are_rejected() {
        assert!(run(false, Some(&["nope".to_owned()])).is_err());
    }
}
