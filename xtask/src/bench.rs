//! `cargo xtask bench [ARGS...]`: runs the workspace's criterion benchmarks.
//!
//! ARGS go to criterion (after `--`), e.g. `cargo xtask bench decode` to
//! filter, or `cargo xtask bench -- --save-baseline main`.
//!
//! `cargo xtask bench compare [OPTIONS]` instead runs the side-by-side comparison with
//! ZeroFS's own client (issue 7): it builds the memserver binary and the separate `bench/`
//! crate in release, installs the real servers when they are selected, and runs
//! `zerofs-bench compare OPTIONS` (`cargo xtask bench compare --help` lists them).

use std::path::PathBuf;

use crate::util::{Result, cargo, project_root, run};

pub fn main(args: &[String]) -> Result {
    if args.first().is_some_and(|a| a == "compare") {
        return compare(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "transfer") {
        return transfer(&args[1..]);
    }
    let mut cmd = cargo();
    cmd.args(["bench", "--workspace"]);
    // Let callers write `cargo xtask bench -- --flag` as well as without `--`.
    let args = match args.first() {
        Some(first) if first == "--" => &args[1..],
        _ => args,
    };
    if !args.is_empty() {
        cmd.arg("--").args(args);
    }
    run(&mut cmd)
}

/// The workspace's target dir: `$CARGO_TARGET_DIR`, else `<root>/target`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}

/// The servers `zerofs-bench compare ARGS` will start (its default is all of them).
fn selected_servers(args: &[String]) -> Vec<String> {
    let all = ["memserver-gen2", "memserver-plain", "diod", "zerofs"];
    match args.iter().position(|a| a == "--servers") {
        Some(i) => args
            .get(i + 1)
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default(),
        None => all.map(String::from).to_vec(),
    }
}

fn compare(args: &[String]) -> Result {
    let help = args.iter().any(|a| a == "-h" || a == "--help");
    let target = target_dir();
    // The bench crate has its own workspace (and lock file); keep its build apart.
    let bench_target = target.join("bench");
    let mut build = cargo();
    build
        .args([
            "build",
            "--release",
            "--manifest-path",
            "bench/Cargo.toml",
            "--target-dir",
        ])
        .arg(&bench_target);
    run(&mut build)?;
    let mut bench = std::process::Command::new(bench_target.join("release").join("zerofs-bench"));
    bench.arg("compare");
    if !help {
        build_memserver()?;
        // Binaries go through the environment, so the report shows the caller's command line.
        bench.env(
            "ZEROFS_BENCH_MEMSERVER",
            target.join("release").join("zerofs-memserver"),
        );
        let servers = selected_servers(args);
        let real = servers.iter().any(|s| s == "diod" || s == "zerofs");
        if real {
            let found = crate::servers::ensure()?;
            bench.env("ZEROFS_CLIENT_DIOD", &found.diod);
            bench.env("ZEROFS_CLIENT_ZEROFS", &found.zerofs);
        }
    }
    run(bench.args(args))
}

/// Builds the release memserver binary the comparisons start.
fn build_memserver() -> Result {
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "zerofs-memserver",
        "--bin",
        "zerofs-memserver",
    ]))
}

/// `cargo xtask bench transfer [--quick] [--reps N] [--sets a,b,c,cursor]`: bulk transfers
/// (issue 16) with `bench/`'s `zerofs-bench-transfer`, against a release memserver.
fn transfer(args: &[String]) -> Result {
    let target = target_dir();
    let bench_target = target.join("bench");
    run(cargo()
        .args([
            "build",
            "--release",
            "--manifest-path",
            "bench/Cargo.toml",
            "--bin",
            "zerofs-bench-transfer",
            "--target-dir",
        ])
        .arg(&bench_target))?;
    build_memserver()?;
    run(
        std::process::Command::new(bench_target.join("release").join("zerofs-bench-transfer"))
            .env(
                "ZEROFS_BENCH_MEMSERVER",
                target.join("release").join("zerofs-memserver"),
            )
            .args(args),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn servers_default_to_all_and_follow_the_flag() {
        assert_eq!(selected_servers(&strings(&["--quick"])).len(), 4);
        assert_eq!(
            selected_servers(&strings(&["--servers", "diod, memserver-gen2"])),
            ["diod", "memserver-gen2"]
        );
        assert!(selected_servers(&strings(&["--servers"])).is_empty());
    }
}
