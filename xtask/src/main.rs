//! Repository automation for zerofs-client, run as `cargo xtask <command>`
//! (alias in `.cargo/config.toml`). Std only, so it builds in seconds.
//!
//! Every command prints each process it starts (`$ ...` on stderr) and exits
//! non-zero if any of them fails.

// Talking to the terminal is this binary's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod ci;
mod fuzz;
mod interop;
mod python;
mod servers;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  ci [STEP...]      the full CI test job: fmt, clippy, nextest, doctests,
                    fuzz corpus replay (what .ci/run runs); `ci --help` lists steps
  fuzz [OPTIONS] [TARGET...]
                    run cargo-fuzz targets from fuzz/ (`fuzz --help` for options);
                    `fuzz --corpus-only` replays the checked-in corpus as tests
  bench [ARGS...]   cargo bench --workspace, ARGS passed to criterion
  bench compare [--quick] [--servers LIST] [--workloads LIST] [--size-scale F] [...]
                    this client against ZeroFS's own, side by side (bench/ crate;
                    `bench compare --help` for options)
  bench transfer [--quick] [--reps N] [--sets a,b,c,cursor]
                    bulk put/get (zerofs_client::transfer) against a sequential loop
                    over ZeroFS's client, cp -r, and the tokio-io cursor
  interop [--report] [--only COLUMN,...]
                    the conformance suite against diod and ZeroFS 0.19.1 over TCP and
                    unix sockets; --report rewrites docs/INTEROP.md (the matrix)
  python [PYTEST ARGS...]
                    build the zerofs9p wheel (bindings/python) into a cached venv and
                    run its pytest suite (MemServer at every generation)
  servers           install the real 9P servers the differential tests need
                    (diod via apt-get, ZeroFS 0.19.1 via cargo install, cached)
  help              this text

Slow installs (cargo-fuzz, ZeroFS 0.19.1) are cached in
$ZEROFS_CLIENT_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/zerofs-client.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "ci" => ci::main(rest),
        "fuzz" => fuzz::main(rest),
        "bench" => bench::main(rest),
        "interop" => interop::main(rest),
        "python" => python::main(rest),
        "servers" => servers::main(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("xtask: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}
