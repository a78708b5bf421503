//! `cargo xtask servers`: installs the real 9P servers the differential tests compare the
//! memserver with — diod (Debian package) and ZeroFS 0.19.1 (crate registry, cached) — and
//! prints their paths. Idempotent: what is installed is reused.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result, cargo, run};

/// The ZeroFS release the tests run against (the last one published to the crate registry).
pub use zerofs_testenv::ZEROFS_VERSION;

/// Where the servers are.
#[derive(Debug, Clone)]
pub struct Servers {
    /// The diod binary.
    pub diod: PathBuf,
    /// The ZeroFS 0.19.1 binary.
    pub zerofs: PathBuf,
}

impl Servers {
    /// The environment the differential tests read: servers are required, and where they are.
    pub fn test_env(&self) -> [(&'static str, OsString); 3] {
        [
            ("ZEROFS_CLIENT_REQUIRE_SERVERS", "1".into()),
            ("ZEROFS_CLIENT_DIOD", self.diod.clone().into()),
            ("ZEROFS_CLIENT_ZEROFS", self.zerofs.clone().into()),
        ]
    }
}

/// `cargo xtask servers`.
pub fn main(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        if arg == "-h" || arg == "--help" {
            eprintln!(
                "usage: cargo xtask servers\n\nInstalls diod (apt-get) and ZeroFS {ZEROFS_VERSION} \
                 (cargo install, cached in {}) if missing, and prints their paths.",
                zerofs_root().display()
            );
            return Ok(());
        }
        return util::fail(format!("servers takes no arguments, got `{arg}`"));
    }
    let servers = ensure()?;
    println!("diod={}", servers.diod.display());
    println!("zerofs={}", servers.zerofs.display());
    Ok(())
}

/// Installs whatever is missing and returns the binaries.
pub fn ensure() -> Result<Servers> {
    Ok(Servers {
        diod: ensure_diod()?,
        zerofs: ensure_zerofs()?,
    })
}

pub use zerofs_testenv::zerofs_root;

fn find_diod() -> Option<PathBuf> {
    Some(zerofs_testenv::diod_binary()).filter(|p| p.is_file())
}

fn ensure_diod() -> Result<PathBuf> {
    if let Some(found) = find_diod() {
        eprintln!("xtask: using diod at {}", found.display());
        return Ok(found);
    }
    eprintln!("xtask: installing diod with apt-get");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update"]))?;
    run(&mut apt(&["install", "-y", "diod"]))?;
    match find_diod() {
        Some(found) => Ok(found),
        None => {
            util::fail("apt-get installed diod, but no diod binary is on PATH or at /usr/sbin/diod")
        }
    }
}

fn ensure_zerofs() -> Result<PathBuf> {
    let root = zerofs_root();
    let bin = root.join("bin").join("zerofs");
    if bin.is_file() {
        eprintln!(
            "xtask: using cached ZeroFS {ZEROFS_VERSION} at {}",
            bin.display()
        );
        return Ok(bin);
    }
    eprintln!(
        "xtask: installing ZeroFS {ZEROFS_VERSION} into {} (about 10 minutes on 2 cores, once)",
        root.display()
    );
    install_zerofs(&root)?;
    if bin.is_file() {
        Ok(bin)
    } else {
        util::fail(format!("{} missing after install", bin.display()))
    }
}

fn install_zerofs(root: &Path) -> Result {
    run(cargo()
        .args([
            "install",
            "zerofs",
            "--version",
            ZEROFS_VERSION,
            "--locked",
            "--root",
        ])
        .arg(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_env_requires_servers_and_names_both_binaries() {
        let s = Servers {
            diod: "/d/diod".into(),
            zerofs: "/z/zerofs".into(),
        };
        let env = s.test_env();
        assert_eq!(env[0], ("ZEROFS_CLIENT_REQUIRE_SERVERS", "1".into()));
        assert_eq!(env[1], ("ZEROFS_CLIENT_DIOD", "/d/diod".into()));
        assert_eq!(env[2], ("ZEROFS_CLIENT_ZEROFS", "/z/zerofs".into()));
    }

    #[test]
    fn zerofs_is_cached_per_version() {
        assert!(zerofs_root().ends_with(format!("zerofs-{ZEROFS_VERSION}")));
    }
}
