//! The child side: `zerofs-bench run` (one repetition of one workload with one client, in a
//! fresh process so its peak RSS is its own) and `zerofs-bench prepare` (the fixtures).
//!
//! A run prints [`READY`] once connected and set up, waits for [`GO`] on stdin, runs the timed
//! part, prints a [`RESULT`](crate::outcome::RESULT) line, then cleans up. Any failure prints
//! `ERROR <phase> <message>` and exits non-zero.

use crate::cli::flag_value;
use std::io::{BufRead, Write};
use std::time::Duration;

use crate::outcome::{ERROR, GO, READY, peak_rss_kib};
use crate::physical;
use crate::workload::{Sizes, Workload};

/// Which client crate drives a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKind {
    /// crates/zerofs-client.
    Ours,
    /// ZeroFS's published zerofs-client: 0.1.x, or 0.4.0 against a `9P2000.L.Z` server
    /// (see [`Reference`]).
    Theirs,
}

/// Which published reference client `theirs` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reference {
    /// zerofs-client 0.1.4 (`9P2000.L.zerofs2` and plain 9P2000.L).
    V01,
    /// zerofs-client 0.4.0 (only `9P2000.L.Z`: ZeroFS 2.1 and later).
    V04,
}

impl Reference {
    /// The crate version, as on the command line and in reports.
    pub fn version(self) -> &'static str {
        match self {
            Reference::V01 => crate::REFERENCE_VERSION,
            Reference::V04 => crate::REFERENCE_VERSION_Z,
        }
    }

    /// Parses [`version`](Self::version).
    pub fn parse(s: &str) -> Result<Reference, String> {
        [Reference::V01, Reference::V04]
            .into_iter()
            .find(|r| r.version() == s)
            .ok_or_else(|| format!("unknown reference client {s:?}"))
    }
}

impl ClientKind {
    /// Both, in the order runs alternate.
    pub const BOTH: [ClientKind; 2] = [ClientKind::Ours, ClientKind::Theirs];

    /// `ours` or `theirs`.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Ours => "ours",
            ClientKind::Theirs => "theirs",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn parse(s: &str) -> Result<ClientKind, String> {
        match s {
            "ours" => Ok(ClientKind::Ours),
            "theirs" => Ok(ClientKind::Theirs),
            other => Err(format!("unknown client {other:?} (ours or theirs)")),
        }
    }
}

/// Arguments of `run` and `prepare`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildArgs {
    /// The client crate.
    pub client: ClientKind,
    /// Which reference client `theirs` is.
    pub reference: Reference,
    /// The workloads (exactly one for `run`).
    pub workloads: Vec<Workload>,
    /// Client target string.
    pub target: String,
    /// Attach name (diod: the export path).
    pub aname: String,
    /// Distinguishes the runs' fresh file names.
    pub run_id: u64,
    /// Sizes.
    pub sizes: Sizes,
}

impl ChildArgs {
    /// Parses `--client C --workload W[,W..] --target T [--aname A] [--run-id N] [--sizes SPEC]`.
    pub fn parse(args: &[String]) -> Result<ChildArgs, String> {
        let mut out = ChildArgs {
            client: ClientKind::Theirs,
            reference: Reference::V01,
            workloads: Vec::new(),
            target: String::new(),
            aname: String::new(),
            run_id: 0,
            sizes: Sizes::FULL,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--client" => out.client = ClientKind::parse(&flag_value(&mut it, flag)?)?,
                "--reference" => out.reference = Reference::parse(&flag_value(&mut it, flag)?)?,
                // Exact names here: the driver never means a group.
                "--workload" | "--workloads" => {
                    out.workloads = flag_value(&mut it, flag)?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?
                }
                "--target" => out.target = flag_value(&mut it, flag)?,
                "--aname" => out.aname = flag_value(&mut it, flag)?,
                "--run-id" => {
                    out.run_id = flag_value(&mut it, flag)?
                        .parse()
                        .map_err(|e| format!("--run-id: {e}"))?
                }
                "--sizes" => out.sizes = Sizes::from_spec(&flag_value(&mut it, flag)?)?,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if out.workloads.is_empty() {
            return Err("--workload is required".into());
        }
        if out.target.is_empty() && !out.workloads.iter().all(|w| w.is_physical()) {
            return Err("--target is required".into());
        }
        Ok(out)
    }

    /// The command-line form [`parse`](Self::parse) reads.
    pub fn to_args(&self) -> Vec<String> {
        let names: Vec<&str> = self.workloads.iter().map(|w| w.name()).collect();
        let mut v = vec![
            "--client".into(),
            self.client.name().into(),
            "--reference".into(),
            self.reference.version().into(),
            "--workload".into(),
            names.join(","),
            "--run-id".into(),
            self.run_id.to_string(),
            "--sizes".into(),
            self.sizes.to_spec(),
        ];
        if !self.target.is_empty() {
            v.extend(["--target".into(), self.target.clone()]);
        }
        if !self.aname.is_empty() {
            v.extend(["--aname".into(), self.aname.clone()]);
        }
        v
    }
}

/// A failure in one phase of a child.
type Failed = (&'static str, String);

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn runtime() -> Result<tokio::runtime::Runtime, Failed> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ("runtime", e.to_string()))
}

fn wait_for_go() -> Result<(), Failed> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| ("go", e.to_string()))?;
    if line.trim() == GO {
        Ok(())
    } else {
        Err(("go", format!("expected {GO}, got {:?}", line.trim())))
    }
}

/// One client's run: connect + set up, READY, GO, timed part, RESULT, clean-up.
macro_rules! run_with {
    ($module:ident, $rt:expr, $a:expr) => {{
        use crate::clients::$module as m;
        let (rt, a) = ($rt, $a);
        let w = a.workloads[0];
        let client = rt
            .block_on(m::connect(&a.target, &a.aname))
            .map_err(|e| ("connect", e))?;
        rt.block_on(m::setup(&client, w, a.run_id))
            .map_err(|e| ("setup", e))?;
        say(READY);
        wait_for_go()?;
        let mut outcome = rt
            .block_on(m::run(&client, w, &a.sizes, a.run_id))
            .map_err(|e| ("run", e))?;
        outcome.rss_kib = peak_rss_kib().unwrap_or(0);
        // Let background clunks reach the server before the driver reads its counters.
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
        say(&outcome.to_line());
        rt.block_on(m::cleanup(&client, w, a.run_id))
            .map_err(|e| ("cleanup", e))?;
        Ok(())
    }};
}

macro_rules! prepare_with {
    ($module:ident, $rt:expr, $a:expr) => {{
        use crate::clients::$module as m;
        let (rt, a) = ($rt, $a);
        let client = rt
            .block_on(m::connect(&a.target, &a.aname))
            .map_err(|e| ("connect", e))?;
        for w in &a.workloads {
            rt.block_on(m::prepare(&client, *w, &a.sizes))
                .map_err(|e| ("prepare", e))?;
        }
        Ok(())
    }};
}

fn run_inner(a: &ChildArgs) -> Result<(), Failed> {
    if a.workloads.len() != 1 {
        return Err(("args", "run takes exactly one workload".into()));
    }
    let rt = runtime()?;
    let w = a.workloads[0];
    if w.is_physical() {
        say(READY);
        wait_for_go()?;
        let mut outcome = rt
            .block_on(physical::run(w, &a.sizes))
            .map_err(|e| ("run", e))?;
        outcome.rss_kib = peak_rss_kib().unwrap_or(0);
        say(&outcome.to_line());
        return Ok(());
    }
    match a.client {
        ClientKind::Theirs if a.reference == Reference::V04 => run_with!(theirs04, &rt, a),
        ClientKind::Theirs => run_with!(theirs, &rt, a),
        #[cfg(feature = "ours")]
        ClientKind::Ours => run_with!(ours, &rt, a),
        #[cfg(not(feature = "ours"))]
        ClientKind::Ours => Err(("connect", NOT_BUILT.into())),
    }
}

fn prepare_inner(a: &ChildArgs) -> Result<(), Failed> {
    let rt = runtime()?;
    match a.client {
        ClientKind::Theirs if a.reference == Reference::V04 => prepare_with!(theirs04, &rt, a),
        ClientKind::Theirs => prepare_with!(theirs, &rt, a),
        #[cfg(feature = "ours")]
        ClientKind::Ours => prepare_with!(ours, &rt, a),
        #[cfg(not(feature = "ours"))]
        ClientKind::Ours => Err(("connect", NOT_BUILT.into())),
    }
}

/// Why `ours` cannot run in a build without the `ours` feature.
#[cfg(not(feature = "ours"))]
pub const NOT_BUILT: &str = "zerofs-bench was built without the `ours` feature";

/// Whether this build can drive our client.
pub const OURS_BUILT: bool = cfg!(feature = "ours");

fn finish(result: Result<(), Failed>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err((phase, msg)) => {
            say(&format!("{ERROR} {phase} {}", msg.replace('\n', " ")));
            std::process::ExitCode::FAILURE
        }
    }
}

/// `zerofs-bench run ...`.
pub fn run_main(args: &[String]) -> std::process::ExitCode {
    finish(
        ChildArgs::parse(args)
            .map_err(|e| ("args", e))
            .and_then(|a| run_inner(&a)),
    )
}

/// `zerofs-bench prepare ...`: prints `PREPARED` when done.
pub fn prepare_main(args: &[String]) -> std::process::ExitCode {
    finish(
        ChildArgs::parse(args)
            .map_err(|e| ("args", e))
            .and_then(|a| prepare_inner(&a))
            .map(|()| say(PREPARED)),
    )
}

/// What `prepare` prints on success.
pub const PREPARED: &str = "PREPARED";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_args_round_trip() {
        let a = ChildArgs {
            client: ClientKind::Ours,
            reference: Reference::V04,
            workloads: vec![Workload::W4],
            target: "unix:/tmp/x.sock".into(),
            aname: "/srv/export".into(),
            run_id: 7,
            sizes: Sizes::QUICK,
        };
        assert_eq!(ChildArgs::parse(&a.to_args()), Ok(a.clone()));
        let physical = ChildArgs {
            workloads: vec![Workload::W8tcp],
            target: String::new(),
            aname: String::new(),
            ..a
        };
        assert_eq!(ChildArgs::parse(&physical.to_args()), Ok(physical));
    }

    #[test]
    fn child_args_reject_missing_and_unknown() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(ChildArgs::parse(&s(&["--target", "unix:/x"])).is_err());
        assert!(ChildArgs::parse(&s(&["--workload", "W1"])).is_err());
        assert!(
            ChildArgs::parse(&s(&[
                "--workload",
                "W1",
                "--target",
                "x",
                "--client",
                "mine"
            ]))
            .is_err()
        );
        assert!(ChildArgs::parse(&s(&["--workload", "W1", "--target"])).is_err());
        assert!(ChildArgs::parse(&s(&["--workload", "W1", "--target", "x", "--bogus"])).is_err());
        assert!(ChildArgs::parse(&s(&["--workload", "W8tcp", "--client", "ours"])).is_ok());
        // Children take exact names, never a group.
        assert!(ChildArgs::parse(&s(&["--workload", "W8", "--client", "ours"])).is_err());
    }
}
