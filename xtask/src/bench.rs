//! `cargo xtask bench [ARGS...]`: runs the workspace's criterion benchmarks.
//!
//! ARGS go to criterion (after `--`), e.g. `cargo xtask bench decode` to
//! filter, or `cargo xtask bench -- --save-baseline main`. A placeholder that
//! will grow (baselines, comparisons against real servers).

use crate::util::{Result, cargo, run};

pub fn main(args: &[String]) -> Result {
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
