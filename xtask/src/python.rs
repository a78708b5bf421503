//! `cargo xtask python [PYTEST ARGS...]` and the `python` CI step: builds the `zerofs9p`
//! wheel (bindings/python, PyO3 + maturin) into a cached virtual environment and runs its
//! pytest suite against the in-memory server at every generation (fsspec's abstract suite,
//! pandas, pyarrow and dask included).
//!
//! The venv lives in `<cache>/py-venv-<hash of requirements-ci.txt>`, so a change of a pin
//! builds a fresh one and a warm run installs nothing.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Result, cache_dir, cargo, display, fail, project_root, run};

/// The pinned test requirements (maturin, pytest, fsspec, pandas, pyarrow, dask...).
const REQUIREMENTS: &str = "bindings/python/requirements-ci.txt";

/// `cargo xtask python [PYTEST ARGS...]`.
pub fn main(args: &[String]) -> Result {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!(
            "usage: cargo xtask python [PYTEST ARGS...]\n\n\
             Builds the zerofs9p wheel into a cached venv and runs bindings/python/tests\n\
             (ZEROFS9P_GENERATIONS=plain,z narrows the MemServer generations;\n\
             ZEROFS9P_TARGET=host:port runs against an external server instead)."
        );
        return Ok(());
    }
    let venv = ensure_venv()?;
    install_wheel(&venv)?;
    pytest(&venv, args, &[])
}

/// The CI step: fmt and clippy of the binding crate, then the whole suite against the
/// MemServer (every generation).
pub fn ci_step() -> Result {
    let manifest = root().join("Cargo.toml");
    run(cargo()
        .args(["fmt", "--manifest-path"])
        .arg(&manifest)
        .args(["--", "--check"]))?;
    run(cargo()
        .env("CARGO_TARGET_DIR", target_dir())
        .args(["clippy", "--manifest-path"])
        .arg(&manifest)
        .args(["--all-targets", "--", "-D", "warnings"]))?;
    let venv = ensure_venv()?;
    install_wheel(&venv)?;
    pytest(&venv, &[], &[])
}

/// The interop CI step: the suite against diod and ZeroFS 0.19.1, over TCP and a unix
/// socket each (tests that need the MemServer's fault injection skip themselves).
pub fn interop_step() -> Result {
    let venv = ensure_venv()?;
    install_wheel(&venv)?;
    crate::interop::for_each_column(|col| {
        eprintln!("==> python interop {} ({})", col.label, col.target);
        let args = ["-k".to_owned(), "not every_generation".to_owned()];
        pytest(
            &venv,
            &args,
            &[
                ("ZEROFS9P_TARGET", col.target.clone()),
                ("ZEROFS9P_ANAME", col.aname.clone()),
            ],
        )
    })
}

/// The binding crate's target directory, kept in the cache so that a warm CI run (a fresh
/// clone) rebuilds only what changed.
fn target_dir() -> PathBuf {
    cache_dir().join("bindings-python-target")
}

fn root() -> PathBuf {
    project_root().join("bindings/python")
}

/// The cached venv for the current requirements, created and filled if missing.
pub(crate) fn ensure_venv() -> Result<PathBuf> {
    let reqs = project_root().join(REQUIREMENTS);
    let text = std::fs::read_to_string(&reqs)?;
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    let venv = cache_dir().join(format!("py-venv-{:016x}", h.finish()));
    let done = venv.join(".zerofs-installed");
    if done.is_file() {
        eprintln!("xtask: using cached venv {}", venv.display());
        return Ok(venv);
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    std::fs::create_dir_all(cache_dir())?;
    let python = ["python3.11", "python3"]
        .into_iter()
        .find(|p| crate::util::succeeds(Command::new(p).arg("--version")))
        .ok_or("no python3 on PATH")?;
    run(Command::new(python).args(["-m", "venv"]).arg(&venv))?;
    run(pip_install(&venv).arg("-r").arg(&reqs))?;
    std::fs::write(&done, text)?;
    Ok(venv)
}

/// `pip install` of the venv, quiet.
fn pip_install(venv: &Path) -> Command {
    let mut cmd = Command::new(bin(venv, "python"));
    cmd.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    cmd
}

fn bin(venv: &Path, name: &str) -> PathBuf {
    venv.join("bin").join(name)
}

/// Builds the release wheel with the venv's maturin and installs it into the venv.
pub(crate) fn install_wheel(venv: &Path) -> Result {
    let out = root().join("target/wheels");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    run(Command::new(bin(venv, "maturin"))
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target_dir())
        .args(["build", "--release", "--quiet", "--interpreter"])
        .arg(bin(venv, "python"))
        .arg("--out")
        .arg(&out))?;
    let wheel = std::fs::read_dir(&out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("maturin built no wheel")?;
    run(pip_install(venv)
        .args(["--force-reinstall", "--no-deps"])
        .arg(&wheel))
}

/// Runs the suite from bindings/python (its pyproject configures pytest); `env` is added
/// to the environment. pytest's "no tests collected" (exit 5) is a failure.
pub(crate) fn pytest(venv: &Path, args: &[String], env: &[(&str, String)]) -> Result {
    let mut cmd = Command::new(bin(venv, "python"));
    cmd.current_dir(root())
        .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "-ra"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let shown = display(&cmd);
    eprintln!("$ {shown}");
    let status = cmd.status()?;
    match status.code() {
        Some(0) => Ok(()),
        Some(5) => fail(format!("`{shown}` collected no tests (pytest exit 5)")),
        _ => fail(format!("`{shown}` failed ({status})")),
    }
}
