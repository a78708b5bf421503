//! Helpers shared by every xtask command: running processes, locating the
//! repository and the cache, installing pinned cargo tools.

use std::env;
use std::error::Error;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Result type of every xtask operation.
pub type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// A failure with a plain message (usage errors, failed commands).
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Failure {}

/// Returns `Err(Failure(msg))`.
pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Box::new(Failure(msg.into())))
}

/// Prints `$ <command line>` to stderr, runs `cmd` with inherited stdio, and
/// turns a non-zero exit (or a failure to start) into an error.
pub fn run(cmd: &mut Command) -> Result {
    let shown = display(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| Failure(format!("could not start `{shown}`: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        fail(format!("`{shown}` failed ({status})"))
    }
}

/// Runs `cmd` silently and reports whether it started and exited 0.
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Shell-like rendering of a command, including the environment variables
/// and working directory it sets, for the `$ ...` lines.
pub fn display(cmd: &Command) -> String {
    let mut parts = Vec::new();
    if let Some(dir) = cmd.get_current_dir() {
        parts.push(format!("(cd {})", quote(&dir.to_string_lossy())));
    }
    for (key, value) in cmd.get_envs() {
        // PATH is only ever extended by us; printing it is noise.
        if key == "PATH" {
            continue;
        }
        if let Some(value) = value {
            parts.push(format!(
                "{}={}",
                key.to_string_lossy(),
                quote(&value.to_string_lossy())
            ));
        }
    }
    parts.push(quote(&cmd.get_program().to_string_lossy()));
    parts.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    parts.join(" ")
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A `cargo` command (the same cargo that runs xtask) started at the
/// repository root.
pub fn cargo() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root());
    cmd
}

/// The workspace root (the parent of this crate's directory).
pub fn project_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

pub use zerofs_testenv::cache_dir;

/// A cargo subcommand installed by [`ensure_cargo_tool`].
#[derive(Debug, Clone, Copy)]
pub struct CargoTool {
    /// Crate name on crates.io, e.g. `cargo-fuzz`.
    pub krate: &'static str,
    /// Exact pinned version.
    pub version: &'static str,
}

impl CargoTool {
    /// `<cache>/tools/<crate>-<version>`, the `cargo install --root`.
    pub fn root(&self) -> PathBuf {
        cache_dir()
            .join("tools")
            .join(format!("{}-{}", self.krate, self.version))
    }

    /// Directory holding the installed binary.
    pub fn bin_dir(&self) -> PathBuf {
        self.root().join("bin")
    }
}

/// Installs `tool` with `cargo install --locked` into the cache unless that
/// exact version is already there, and returns its `bin` directory.
pub fn ensure_cargo_tool(tool: CargoTool) -> Result<PathBuf> {
    let bin_dir = tool.bin_dir();
    if bin_dir.join(tool.krate).is_file() {
        eprintln!(
            "xtask: using cached {} {} from {}",
            tool.krate,
            tool.version,
            bin_dir.display()
        );
        return Ok(bin_dir);
    }
    eprintln!(
        "xtask: installing {} {} into {}",
        tool.krate,
        tool.version,
        tool.root().display()
    );
    run(cargo()
        .args(["install", "--locked", tool.krate, "--version", tool.version])
        .arg("--root")
        .arg(tool.root()))?;
    Ok(bin_dir)
}

/// `PATH` with `dir` in front, so `cargo <tool>` finds a cached binary.
pub fn path_with(dir: &Path) -> Result<OsString> {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(path) = env::var_os("PATH") {
        paths.extend(env::split_paths(&path));
    }
    Ok(env::join_paths(paths)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let mut cmd = Command::new("cargo");
        cmd.args(["fuzz", "run", "decode", "--", "-max_total_time=60"])
            .arg("two words")
            .env("RUSTC_BOOTSTRAP", "1");
        assert_eq!(
            display(&cmd),
            "RUSTC_BOOTSTRAP=1 cargo fuzz run decode -- -max_total_time=60 'two words'"
        );
    }

    #[test]
    fn run_reports_failure() {
        assert!(run(&mut Command::new("false")).is_err());
        assert!(run(&mut Command::new("true")).is_ok());
        assert!(run(&mut Command::new("/nonexistent/xtask-test-binary")).is_err());
    }
}
