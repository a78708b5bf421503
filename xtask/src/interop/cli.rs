//! `cargo xtask ci cli-interop`: the `zerofs-cli` binary against diod and ZeroFS 0.19.1, each
//! over TCP and a unix socket (the ignored `external_` tests of crates/zerofs-cli).

use std::time::Instant;

use super::proc::ServerProc;
use super::{TempDir, column_env, nextest_path};
use crate::servers;
use crate::util::{self, Result, cargo};

pub fn ci_step() -> Result {
    let bins = servers::ensure()?;
    let path = nextest_path()?;
    // Build before any server starts.
    util::run(
        cargo()
            .env("PATH", &path)
            .args(["nextest", "run", "--no-run", "-p", "zerofs-cli"]),
    )?;
    let tmp = TempDir::new("zerofs-cli-interop")?;
    let diod = ServerProc::start_diod(&bins, &tmp)?;
    let zerofs = ServerProc::start_zerofs(&bins, &tmp)?;
    let mut failed = Vec::new();
    for col in diod.columns().into_iter().chain(zerofs.columns()) {
        let t = Instant::now();
        let status = util::run(
            cargo()
                .env("PATH", &path)
                .envs(column_env(&col, &bins))
                .args([
                    "nextest",
                    "run",
                    "-p",
                    "zerofs-cli",
                    "--run-ignored",
                    "only",
                    "-E",
                    "test(/^external_/)",
                    "--no-fail-fast",
                ]),
        );
        eprintln!(
            "==> cli-interop {}: {:.1}s",
            col.label,
            t.elapsed().as_secs_f64()
        );
        if let Err(e) = status {
            eprintln!("==> cli-interop {}: {e}", col.label);
            failed.push(col.label);
        }
    }
    drop(diod);
    drop(zerofs);
    if failed.is_empty() {
        Ok(())
    } else {
        util::fail(format!("cli-interop failed: {}", failed.join(", ")))
    }
}
