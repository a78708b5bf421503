//! `cargo xtask ci [STEP...]`: the full test job that CI runs (`.ci/run`).
//!
//! The job is an ordered list of [`Step`]s. To add one (e.g. an `interop`
//! step that installs real ZeroFS servers into the cache and runs the client
//! against them), write a `fn() -> Result` and append it to [`STEPS`].

use std::time::Instant;

use crate::fuzz;
use crate::util::{self, CargoTool, Result, cargo, run, succeeds};

/// Used only when `cargo nextest` is not already installed on the machine.
pub(crate) const NEXTEST: CargoTool = CargoTool {
    krate: "cargo-nextest",
    version: "0.9.143",
};

/// One named stage of the CI job.
#[derive(Debug)]
pub struct Step {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn() -> Result,
}

/// The CI job, in order.
pub const STEPS: &[Step] = &[
    Step {
        name: "fmt",
        about: "cargo fmt --all -- --check",
        run: fmt,
    },
    Step {
        name: "clippy",
        about: "cargo clippy --workspace --all-targets --all-features -- -D warnings",
        run: clippy,
    },
    Step {
        name: "servers",
        about: "cargo xtask servers (installs diod and ZeroFS 0.19.1 for the differential tests)",
        run: servers,
    },
    Step {
        name: "nextest",
        about: "cargo nextest run --workspace --all-features --profile ci (installs nextest if missing; \
                ZEROFS_CLIENT_REQUIRE_SERVERS=1)",
        run: nextest,
    },
    Step {
        name: "interop",
        about: "cargo xtask interop (conformance suite against diod and ZeroFS 0.19.1, each over \
                TCP and a unix socket)",
        run: interop,
    },
    Step {
        name: "cli-interop",
        about: "zerofs-cli's external_ tests (every subcommand, a tree round trip, error paths) \
                against diod and ZeroFS 0.19.1, each over TCP and a unix socket",
        run: cli_interop,
    },
    Step {
        name: "doctest",
        about: "cargo test --workspace --doc --all-features",
        run: doctest,
    },
    Step {
        name: "bench-check",
        about: "fmt check + cargo test --all-targets of the separate bench/ crate (builds both \
                clients; ~1 min cold; the comparison itself runs only in `xtask bench compare`)",
        run: bench_check,
    },
    Step {
        name: "compat",
        about: "tests/compat: a program written against ZeroFS's zerofs-client 0.1 built and run \
                (every memserver generation) against ours, and built and run against the \
                published reference 0.1.4 (fmt, clippy -D warnings, test)",
        run: compat,
    },
    Step {
        name: "doc",
        about: "cargo doc --workspace --no-deps --all-features with RUSTDOCFLAGS=-D warnings",
        run: doc,
    },
    Step {
        name: "object-store-interop",
        about: "object_store's conformance suite against ZeroFsStore on diod and ZeroFS 0.19.1 \
                (TCP and unix socket each; the `external::*` tests of zerofs-object-store)",
        run: object_store_interop,
    },
    Step {
        name: "parquet-example",
        about: "fmt check + cargo run of the separate examples/parquet crate (a Parquet file \
                written and one column read back with range reads through ZeroFsStore)",
        run: parquet_example,
    },
    Step {
        name: "python",
        about: "builds the zerofs9p wheel (bindings/python) into a cached venv of pinned packages \
                and runs its pytest suite: MemServer at every generation, fsspec's abstract \
                suite, pandas/pyarrow/dask; fmt + clippy of the crate (cold: 8-10 min on the 2-core machine under heavy contention, most of it the release build; warm: ~70 s)",
        run: python,
    },
    Step {
        name: "python-interop",
        about: "the zerofs9p pytest suite against diod and ZeroFS 0.19.1 (TCP and unix socket \
                each; reuses the python step's venv and wheel; ~110 s warm)",
        run: python_interop,
    },
    Step {
        name: "fuzz-corpus",
        about: "cargo xtask fuzz --corpus-only (replays fuzz/corpus as tests)",
        run: fuzz_corpus,
    },
];

/// Runs the named steps (all of them when `args` is empty), stopping at the
/// first failure.
pub fn main(args: &[String]) -> Result {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        help();
        return Ok(());
    }
    let steps = select(args)?;
    let started = Instant::now();
    for (i, step) in steps.iter().enumerate() {
        eprintln!(
            "\n==> xtask ci [{}/{}] {}: {}",
            i + 1,
            steps.len(),
            step.name,
            step.about
        );
        let t = Instant::now();
        (step.run)().map_err(|e| format!("ci step `{}` failed: {e}", step.name))?;
        eprintln!("==> {} ok ({:.1}s)", step.name, t.elapsed().as_secs_f64());
    }
    eprintln!(
        "\n==> xtask ci: all {} steps passed ({:.1}s)",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn select(args: &[String]) -> Result<Vec<&'static Step>> {
    if args.is_empty() {
        return Ok(STEPS.iter().collect());
    }
    args.iter()
        .map(
            |name| match STEPS.iter().find(|s| s.name == name.as_str()) {
                Some(step) => Ok(step),
                None => util::fail(format!(
                    "unknown ci step `{name}`; steps: {}",
                    STEPS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                )),
            },
        )
        .collect()
}

pub fn help() {
    eprintln!(
        "usage: cargo xtask ci [STEP...]\n\nRuns these steps in order (all when none is named):"
    );
    for step in STEPS {
        eprintln!("  {:<12} {}", step.name, step.about);
    }
}

fn fmt() -> Result {
    run(cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> Result {
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))
}

fn servers() -> Result {
    crate::servers::ensure().map(drop)
}

fn nextest() -> Result {
    let mut cmd = cargo();
    // The differential tests must run against the real servers, never skip them.
    cmd.envs(crate::servers::ensure()?.test_env());
    if !succeeds(cargo().args(["nextest", "--version"])) {
        let bin_dir = util::ensure_cargo_tool(NEXTEST)?;
        cmd.env("PATH", util::path_with(&bin_dir)?);
    }
    run(cmd.args([
        "nextest",
        "run",
        "--workspace",
        "--all-features",
        "--profile",
        "ci",
        "--no-fail-fast",
    ]))
}

fn interop() -> Result {
    crate::interop::ci_step()
}

fn cli_interop() -> Result {
    crate::interop::cli_step()
}

fn doctest() -> Result {
    run(cargo().args(["test", "--workspace", "--doc", "--all-features"]))
}

fn bench_check() -> Result {
    run(cargo().args([
        "fmt",
        "--manifest-path",
        "bench/Cargo.toml",
        "--",
        "--check",
    ]))?;
    run(cargo().args([
        "test",
        "--manifest-path",
        "bench/Cargo.toml",
        "--all-targets",
    ]))
}

fn compat() -> Result {
    const MANIFEST: &str = "tests/compat/Cargo.toml";
    run(cargo().args(["fmt", "--manifest-path", MANIFEST, "--", "--check"]))?;
    for features in [&["--features", "ours"][..], &["--features", "reference"]] {
        let mut clippy = cargo();
        clippy.args([
            "clippy",
            "--manifest-path",
            MANIFEST,
            "--all-targets",
            "--no-default-features",
        ]);
        run(clippy.args(features).args(["--", "-D", "warnings"]))?;
        let mut test = cargo();
        test.args(["test", "--manifest-path", MANIFEST, "--no-default-features"]);
        run(test.args(features))?;
    }
    Ok(())
}

fn doc() -> Result {
    run(cargo().env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "--workspace",
        "--no-deps",
        "--all-features",
    ]))
}

fn object_store_interop() -> Result {
    crate::interop::object_store_step()
}

fn parquet_example() -> Result {
    let manifest = "examples/parquet/Cargo.toml";
    run(cargo().args(["fmt", "--manifest-path", manifest, "--", "--check"]))?;
    run(cargo().args(["run", "--locked", "--manifest-path", manifest]))
}

fn python() -> Result {
    crate::python::ci_step()
}

fn python_interop() -> Result {
    crate::python::interop_step()
}

fn fuzz_corpus() -> Result {
    fuzz::main(&["--corpus-only".to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_are_unique() {
        for (i, a) in STEPS.iter().enumerate() {
            assert!(
                STEPS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }

    #[test]
    fn select_keeps_requested_order_and_rejects_unknown() {
        let picked = select(&["doctest".to_owned(), "fmt".to_owned()]).unwrap();
        let names: Vec<_> = picked.iter().map(|s| s.name).collect();
        assert_eq!(names, ["doctest", "fmt"]);
        assert_eq!(select(&[]).unwrap().len(), STEPS.len());
        assert!(select(&["nope".to_owned()]).is_err());
    }
}
