//! `cargo xtask fuzz [--seconds N] [--sanitizer S] [--corpus-only] [TARGET...]`
//!
//! Two modes (see `docs/FUZZING.md`):
//!
//! * `--corpus-only`: replays the checked-in `fuzz/corpus/<target>/*` through
//!   every target as ordinary tests (`cargo test --manifest-path
//!   fuzz/Cargo.toml`). Needs neither cargo-fuzz nor nightly; CI runs this.
//! * otherwise: installs the pinned cargo-fuzz into the cache and runs
//!   `cargo fuzz run --sanitizer S TARGET -- -max_total_time=N` per target.
//!   `--sanitizer none` (the default) builds on stable rustc as is; any real
//!   sanitizer needs `-Zsanitizer=…`, so then `RUSTC_BOOTSTRAP=1` is set.

use std::fs;
use std::path::PathBuf;

use crate::util::{self, CargoTool, Result, cargo, fail, run};

/// Pinned cargo-fuzz (latest 0.13.x when this was written).
pub const CARGO_FUZZ: CargoTool = CargoTool {
    krate: "cargo-fuzz",
    version: "0.13.2",
};

const DEFAULT_SECONDS: u64 = 60;
const SANITIZERS: &[&str] = &["none", "address", "leak", "memory", "thread"];

pub const USAGE: &str = "\
usage: cargo xtask fuzz [--seconds N] [--sanitizer S] [--corpus-only] [TARGET...]

  --corpus-only     replay fuzz/corpus/<target>/* as tests (stable, no cargo-fuzz)
  --seconds N       libFuzzer time budget per target (default 60)
  --sanitizer S     none (default, stable rustc) | address | leak | memory | thread
                    (any sanitizer but none sets RUSTC_BOOTSTRAP=1 for -Zsanitizer)
  TARGET...         fuzz targets to run (default: every [[bin]] in fuzz/Cargo.toml)";

/// Parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    seconds: u64,
    sanitizer: String,
    corpus_only: bool,
    targets: Vec<String>,
}

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut opts = Options {
        seconds: DEFAULT_SECONDS,
        sanitizer: "none".to_owned(),
        corpus_only: false,
        targets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| match args.next() {
            Some(v) => Ok(v.clone()),
            None => fail(format!("{flag} needs a value\n\n{USAGE}")),
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--corpus-only" => opts.corpus_only = true,
            "--seconds" => {
                let v = value("--seconds")?;
                opts.seconds = match v.parse() {
                    Ok(n) if n > 0 => n,
                    _ => return fail(format!("--seconds wants a positive integer, got `{v}`")),
                };
            }
            "--sanitizer" | "-s" => {
                let v = value("--sanitizer")?;
                if !SANITIZERS.contains(&v.as_str()) {
                    return fail(format!(
                        "unknown sanitizer `{v}`; one of {}",
                        SANITIZERS.join(", ")
                    ));
                }
                opts.sanitizer = v;
            }
            flag if flag.starts_with('-') => {
                return fail(format!("unknown option `{flag}`\n\n{USAGE}"));
            }
            target => opts.targets.push(target.to_owned()),
        }
    }
    Ok(Some(opts))
}

pub fn main(args: &[String]) -> Result {
    let Some(opts) = parse(args)? else {
        eprintln!("{USAGE}");
        return Ok(());
    };
    let manifest = fuzz_dir().join("Cargo.toml");
    if !manifest.is_file() {
        if opts.corpus_only {
            eprintln!(
                "xtask fuzz: notice: {} does not exist yet; no fuzz targets, skipping corpus replay",
                manifest.display()
            );
            return Ok(());
        }
        return fail(format!(
            "{} does not exist: no fuzz targets",
            manifest.display()
        ));
    }
    let known = targets_in(&fs::read_to_string(&manifest)?);
    for t in &opts.targets {
        if !known.contains(t) {
            return fail(format!(
                "unknown fuzz target `{t}`; targets: {}",
                known.join(", ")
            ));
        }
    }
    if opts.corpus_only {
        replay_corpus(&opts)
    } else {
        let targets = if opts.targets.is_empty() {
            known
        } else {
            opts.targets.clone()
        };
        fuzz(&opts, &targets)
    }
}

fn fuzz_dir() -> PathBuf {
    util::project_root().join("fuzz")
}

/// `cargo test` on the fuzz crate; its corpus-replay harness runs
/// `fuzz/corpus/<target>/*` through each target's function. Target names,
/// if given, become libtest name filters.
fn replay_corpus(opts: &Options) -> Result {
    let mut cmd = cargo();
    cmd.args(["test", "--manifest-path", "fuzz/Cargo.toml"]);
    if !opts.targets.is_empty() {
        cmd.arg("--").args(&opts.targets);
    }
    run(&mut cmd)
}

fn fuzz(opts: &Options, targets: &[String]) -> Result {
    if targets.is_empty() {
        return fail("fuzz/Cargo.toml declares no [[bin]] fuzz targets");
    }
    let bin_dir = util::ensure_cargo_tool(CARGO_FUZZ)?;
    let path = util::path_with(&bin_dir)?;
    for target in targets {
        let mut cmd = cargo();
        cmd.env("PATH", &path);
        if opts.sanitizer != "none" {
            // cargo-fuzz passes -Zsanitizer=<S>: a nightly flag that stable
            // rustc accepts only under RUSTC_BOOTSTRAP=1.
            cmd.env("RUSTC_BOOTSTRAP", "1");
        }
        cmd.args(["fuzz", "run", "--sanitizer", &opts.sanitizer, target, "--"])
            .arg(format!("-max_total_time={}", opts.seconds));
        run(&mut cmd)?;
    }
    Ok(())
}

/// Names of the `[[bin]]` targets in a cargo-fuzz manifest, in order.
fn targets_in(manifest: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if !in_bin {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "name" {
            let name = value.trim().trim_matches('"').trim_matches('\'');
            targets.push(name.to_owned());
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_flags_and_targets() {
        let opts = parse(&strings(&["--seconds", "5", "-s", "address", "a", "b"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            opts,
            Options {
                seconds: 5,
                sanitizer: "address".to_owned(),
                corpus_only: false,
                targets: strings(&["a", "b"]),
            }
        );
        let opts = parse(&strings(&["--corpus-only"])).unwrap().unwrap();
        assert!(opts.corpus_only);
        assert_eq!(opts.seconds, DEFAULT_SECONDS);
        assert_eq!(opts.sanitizer, "none");
    }

    #[test]
    fn rejects_bad_arguments() {
        for bad in [
            &["--seconds"][..],
            &["--seconds", "0"],
            &["--seconds", "x"],
            &["--sanitizer", "bogus"],
            &["--frobnicate"],
        ] {
            assert!(parse(&strings(bad)).is_err(), "{bad:?}");
        }
        assert!(parse(&strings(&["--help"])).unwrap().is_none());
    }

    #[test]
    fn finds_bin_targets() {
        let manifest = r#"
[package]
name = "zerofs-fuzz"

[package.metadata]
cargo-fuzz = true

[[bin]]
name = "decode_message"
path = "fuzz_targets/decode_message.rs"
test = false

[dependencies]
name = "not-a-target"

[[bin]]
name = 'roundtrip'
path = "fuzz_targets/roundtrip.rs"
"#;
        assert_eq!(
            targets_in(manifest),
            strings(&["decode_message", "roundtrip"])
        );
    }
}
