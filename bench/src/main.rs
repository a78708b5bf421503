//! `zerofs-bench`: the same workloads driven through this repository's zerofs-client and
//! through ZeroFS's published zerofs-client 0.1.x, against the same servers in the same run
//! (issue 7). `cargo xtask bench compare` builds and runs it; see `docs/BENCHMARKS.md`.
//!
//! Subcommands: `compare` (the driver, the default), and the children it starts: `run` (one
//! repetition of one workload with one client) and `prepare` (the fixtures).
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line driver

mod child;
mod cli;
mod clients;
mod driver;
mod outcome;
mod physical;
mod proc;
mod report;
mod servers;
mod stats;
mod table;
mod workload;

use crate::cli::flag_value;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::servers::{Binaries, ServerKind, Transport};
use crate::workload::{Sizes, Workload};

/// The reference client measured as `theirs` (pinned in Cargo.toml).
pub const REFERENCE_VERSION: &str = "0.1.4";
/// The reference client measured as `theirs` on `9P2000.L.Z` servers (pinned in Cargo.toml).
pub const REFERENCE_VERSION_Z: &str = "0.4.0";

const USAGE: &str = "\
usage: zerofs-bench [compare] [OPTIONS]
       zerofs-bench run|prepare --client ours|theirs --workload W --target T [...]   (children)

compare options:
  --quick                 smoke sizes (a tenth of the work or less) and 3 repetitions
  --servers LIST          memserver-gen2,memserver-plain,diod,zerofs,zerofs-2.3
                          (default: all but zerofs-2.3)
  --workloads LIST        W1..W8; W4 = W4 + W4at, W8 = W8unix + W8tcp (default: all)
  --size-scale F          multiply counts and byte totals by F
  --sizes K=V,...         override single sizes (w1_ops, w2_files, w3_files, small_file,
                          big_file, w5_bytes, chunk, w6_entries, w7_tasks, w7_ops,
                          w7_paths (distinct files W7 stats; default 1), w8_bytes)
  --reps N                repetitions per client (default 5, --quick 3)
  --transport unix|tcp    how clients reach the servers (default unix)
  --memserver-bin PATH    zerofs-memserver binary (default $ZEROFS_BENCH_MEMSERVER)
  --diod-bin PATH         diod (default: on PATH or /usr/sbin/diod)
  --zerofs-bin PATH       ZeroFS 0.19.1 (default $ZEROFS_CLIENT_ZEROFS or the xtask cache)
  --zerofs-2.3-bin PATH   ZeroFS 2.3.0, built from source (default $ZEROFS_HEAD_BIN);
                          measured against ZeroFS's client 0.4.0 (it speaks only .Z)
  --out FILE              also write the Markdown report to FILE

environment: ZEROFS_BENCH_MSIZE=N makes ours ask for msize N (experiments: how the cut of
large reads and writes changes a server's throughput)";

fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn default_bins() -> Binaries {
    Binaries {
        memserver: env_path("ZEROFS_BENCH_MEMSERVER"),
        diod: Some(zerofs_testenv::diod_binary()),
        zerofs: Some(zerofs_testenv::zerofs_binary()),
        zerofs23: env_path("ZEROFS_HEAD_BIN"),
    }
}

/// Parses `compare`'s options; `Ok(None)` for `--help`.
fn parse_compare(args: &[String], bins: Binaries) -> Result<Option<driver::Options>, String> {
    let mut quick = false;
    let mut scale: f64 = 1.0;
    let mut spec = String::new();
    let mut reps = None;
    let mut opts = driver::Options {
        servers: ServerKind::DEFAULT.to_vec(),
        workloads: Workload::ALL.to_vec(),
        sizes: Sizes::FULL,
        reps: 5,
        transport: Transport::Unix,
        bins,
        out: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--quick" => quick = true,
            "--servers" => opts.servers = ServerKind::parse_list(&flag_value(&mut it, flag)?)?,
            "--workloads" => opts.workloads = Workload::parse_list(&flag_value(&mut it, flag)?)?,
            "--size-scale" => {
                scale = flag_value(&mut it, flag)?
                    .parse()
                    .map_err(|e| format!("--size-scale: {e}"))?;
                if !(scale > 0.0 && scale.is_finite()) {
                    return Err("--size-scale must be positive".into());
                }
            }
            "--sizes" => spec = flag_value(&mut it, flag)?,
            "--reps" => {
                let n: usize = flag_value(&mut it, flag)?
                    .parse()
                    .map_err(|e| format!("--reps: {e}"))?;
                if n == 0 {
                    return Err("--reps must be at least 1".into());
                }
                reps = Some(n);
            }
            "--transport" => {
                opts.transport = match flag_value(&mut it, flag)?.as_str() {
                    "unix" => Transport::Unix,
                    "tcp" => Transport::Tcp,
                    other => return Err(format!("--transport: {other:?} is not unix or tcp")),
                }
            }
            "--memserver-bin" => opts.bins.memserver = Some(flag_value(&mut it, flag)?.into()),
            "--diod-bin" => opts.bins.diod = Some(flag_value(&mut it, flag)?.into()),
            "--zerofs-bin" => opts.bins.zerofs = Some(flag_value(&mut it, flag)?.into()),
            "--zerofs-2.3-bin" => opts.bins.zerofs23 = Some(flag_value(&mut it, flag)?.into()),
            "--out" => opts.out = Some(flag_value(&mut it, flag)?.into()),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let base = if quick { Sizes::QUICK } else { Sizes::FULL };
    opts.sizes = base.scaled(scale).with_spec(&spec)?;
    opts.reps = reps.unwrap_or(if quick { 3 } else { 5 });
    Ok(Some(opts))
}

fn compare_main(args: &[String]) -> ExitCode {
    let opts = match parse_compare(args, default_bins()) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("zerofs-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut command_line = String::from("cargo xtask bench compare");
    for a in args {
        command_line.push(' ');
        command_line.push_str(a);
    }
    let report = driver::compare(&opts, &command_line);
    println!("{report}");
    if let Some(path) = &opts.out
        && let Err(e) = std::fs::write(path, &report)
    {
        eprintln!("zerofs-bench: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => child::run_main(&args[1..]),
        Some("prepare") => child::prepare_main(&args[1..]),
        Some("compare") => compare_main(&args[1..]),
        _ => compare_main(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Option<driver::Options>, String> {
        let args: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        parse_compare(&args, Binaries::default())
    }

    #[test]
    fn compare_defaults_are_the_full_issue_sizes() {
        let o = parse(&[]).unwrap().unwrap();
        assert_eq!(o.sizes, Sizes::FULL);
        assert_eq!(o.reps, 5);
        assert_eq!(o.servers, ServerKind::DEFAULT);
        assert_eq!(o.workloads, Workload::ALL);
        assert_eq!(o.transport, Transport::Unix);
    }

    #[test]
    fn compare_options_combine() {
        let o = parse(&[
            "--quick",
            "--servers",
            "diod,zerofs",
            "--workloads",
            "W1,W4",
            "--size-scale",
            "2",
            "--sizes",
            "w1_ops=9",
            "--reps",
            "4",
            "--transport",
            "tcp",
            "--memserver-bin",
            "/m",
            "--out",
            "/tmp/r.md",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(o.servers, [ServerKind::Diod, ServerKind::Zerofs]);
        assert_eq!(o.workloads, [Workload::W1, Workload::W4, Workload::W4at]);
        assert_eq!(o.sizes.w1_ops, 9);
        assert_eq!(o.sizes.w2_files, 2 * Sizes::QUICK.w2_files);
        assert_eq!(o.reps, 4);
        assert_eq!(o.transport, Transport::Tcp);
        assert_eq!(o.bins.memserver, Some(PathBuf::from("/m")));
        assert_eq!(o.out, Some(PathBuf::from("/tmp/r.md")));
        assert_eq!(parse(&["--quick"]).unwrap().unwrap().reps, 3);
    }

    #[test]
    fn compare_rejects_bad_options() {
        for bad in [
            &["--reps", "0"][..],
            &["--size-scale", "-1"],
            &["--size-scale", "nan"],
            &["--transport", "udp"],
            &["--servers", "nfs"],
            &["--workloads", "W9"],
            &["--sizes", "w1_ops=0"],
            &["--bogus"],
            &["--out"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["--help"]).unwrap().is_none());
    }
}
