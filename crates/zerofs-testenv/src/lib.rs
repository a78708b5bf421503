//! Where this repository's real test servers live and how they are run: the cache of slow
//! installs, the binaries of diod and ZeroFS 0.19.1, and the watchdog script that kills a
//! server when the process that started it goes away.
//!
//! Shared by `xtask` (which installs the servers), the conformance suite, the memserver's
//! differential tests and the benchmark harness, so they all look in the same places. Only
//! std: `cargo xtask` must build in seconds.
//!
//! ```
//! let root = zerofs_testenv::zerofs_root();
//! assert!(root.starts_with(zerofs_testenv::cache_dir()));
//! assert!(root.ends_with(format!("zerofs-{}", zerofs_testenv::ZEROFS_VERSION)));
//! ```
#![warn(missing_docs)]

use std::ffi::OsString;
use std::path::PathBuf;

/// The ZeroFS release the interop tests and benchmarks run against.
pub const ZEROFS_VERSION: &str = "0.19.1";

/// Environment variable naming the diod binary (set by `cargo xtask`).
pub const DIOD_VAR: &str = "ZEROFS_CLIENT_DIOD";
/// Environment variable naming the ZeroFS binary (set by `cargo xtask`).
pub const ZEROFS_VAR: &str = "ZEROFS_CLIENT_ZEROFS";
/// Environment variable that, set to `1`, makes a missing real server a test failure.
pub const REQUIRE_VAR: &str = "ZEROFS_CLIENT_REQUIRE_SERVERS";

/// A `sh -c` script that runs `"$@"` in the background with stdin closed, kills it with
/// SIGKILL as soon as the script's own stdin (a pipe from the parent) reaches EOF, and exits
/// with the server's status; so a server never outlives its parent, even one killed by
/// SIGKILL. SIGPIPE is ignored, as systemd does for services (diod writes replies without
/// `MSG_NOSIGNAL` and dies of SIGPIPE when a client leaves with replies pending), and the
/// umask is cleared so created modes are the client's.
pub const WATCHDOG: &str = "umask 0
trap '' PIPE
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

/// The cache of slow installs: `$ZEROFS_CLIENT_CACHE`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/zerofs-client` (empty variables count as unset).
pub fn cache_dir() -> PathBuf {
    cache_dir_from(|key| std::env::var_os(key))
}

/// [`cache_dir`] over an arbitrary environment lookup.
pub fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |key: &str| var(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("ZEROFS_CLIENT_CACHE") {
        return dir;
    }
    set("XDG_CACHE_HOME")
        .or_else(|| set("HOME").map(|home| home.join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("zerofs-client")
}

/// Where `cargo install --root` puts ZeroFS [`ZEROFS_VERSION`]: `<cache>/zerofs-0.19.1`.
pub fn zerofs_root() -> PathBuf {
    cache_dir().join(format!("zerofs-{ZEROFS_VERSION}"))
}

/// The ZeroFS binary: `$ZEROFS_CLIENT_ZEROFS`, else `<zerofs_root>/bin/zerofs`.
pub fn zerofs_binary() -> PathBuf {
    non_empty(ZEROFS_VAR).unwrap_or_else(|| zerofs_root().join("bin").join("zerofs"))
}

/// The diod binary: `$ZEROFS_CLIENT_DIOD`, else `diod` on `PATH`, else `/usr/sbin/diod`
/// (where Debian installs it, outside a normal user's `PATH`).
pub fn diod_binary() -> PathBuf {
    non_empty(DIOD_VAR)
        .or_else(|| on_path("diod"))
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/diod"))
}

/// Whether a missing real server must fail the test (`ZEROFS_CLIENT_REQUIRE_SERVERS=1`, as
/// in CI) rather than skip it.
pub fn servers_required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| v == "1")
}

/// The first file called `name` in a `PATH` directory.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn non_empty(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| {
            owned
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn cache_dir_prefers_explicit_override() {
        let env = env_of(&[
            ("ZEROFS_CLIENT_CACHE", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(cache_dir_from(env), PathBuf::from("/c"));
    }

    #[test]
    fn cache_dir_falls_back_to_xdg_then_home() {
        let xdg = env_of(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(cache_dir_from(xdg), PathBuf::from("/x/zerofs-client"));
        let home = env_of(&[("XDG_CACHE_HOME", ""), ("HOME", "/h")]);
        assert_eq!(
            cache_dir_from(home),
            PathBuf::from("/h/.cache/zerofs-client")
        );
    }

    #[test]
    fn the_watchdog_kills_its_server_when_stdin_closes() {
        use std::process::{Command, Stdio};
        use std::time::Duration;
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
}
