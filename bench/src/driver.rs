//! `zerofs-bench compare`: starts each server, prepares the fixtures, runs every workload with
//! ours and theirs alternating, each repetition in a fresh child process, and renders the
//! report.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::child::{ChildArgs, ClientKind, OURS_BUILT, PREPARED, Reference};
use crate::outcome::{ERROR, GO, Outcome, READY};
use crate::proc::Proc;
use crate::report::{Results, Run, rate, shorten};
use crate::servers::{Binaries, Server, ServerKind, Transport};
use crate::workload::{Sizes, Workload};

/// Longest wait for a child to connect and set up.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest timed part of one run.
const RUN_TIMEOUT: Duration = Duration::from_secs(1800);
/// Longest clean-up after a run.
const EXIT_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest fixture preparation on one server.
const PREPARE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Consecutive failures of one cell after which its remaining repetitions are skipped.
const MAX_FAILURES: usize = 2;

/// What `compare` does.
#[derive(Debug, Clone)]
pub struct Options {
    /// The servers, in order.
    pub servers: Vec<ServerKind>,
    /// The workloads, in order.
    pub workloads: Vec<Workload>,
    /// Sizes.
    pub sizes: Sizes,
    /// Repetitions per client.
    pub reps: usize,
    /// How clients reach the servers.
    pub transport: Transport,
    /// Server binaries.
    pub bins: Binaries,
    /// Also write the report here.
    pub out: Option<PathBuf>,
}

/// A failed child: the phase (`connect`, `run`, ...) and the message.
#[derive(Debug, Clone, PartialEq)]
struct ChildError {
    phase: String,
    message: String,
}

impl ChildError {
    fn driver(message: String) -> ChildError {
        ChildError {
            phase: "driver".into(),
            message,
        }
    }

    /// Parses an `ERROR <phase> <message>` line; anything else is an unexpected line.
    fn from_line(line: &str, expected: &str) -> ChildError {
        match line.strip_prefix(ERROR).map(str::trim_start) {
            Some(rest) => {
                let (phase, message) = rest.split_once(' ').unwrap_or((rest, ""));
                ChildError {
                    phase: phase.into(),
                    message: message.into(),
                }
            }
            None => ChildError::driver(format!("expected {expected}, got {line:?}")),
        }
    }
}

impl std::fmt::Display for ChildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.phase, self.message)
    }
}

fn child_command(sub: &str, args: &ChildArgs) -> Result<Command, ChildError> {
    let exe =
        std::env::current_exe().map_err(|e| ChildError::driver(format!("current_exe: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg(sub).args(args.to_args());
    Ok(cmd)
}

fn expect_line(p: &mut Proc, timeout: Duration, expected: &str) -> Result<String, ChildError> {
    let line = p.line(timeout).map_err(ChildError::driver)?;
    if line.starts_with(expected) {
        Ok(line)
    } else {
        Err(ChildError::from_line(&line, expected))
    }
}

/// One repetition in a fresh process; the memserver's counters cover the timed part only.
fn run_once(args: &ChildArgs, mut server: Option<&mut Server>) -> Result<Run, ChildError> {
    let name = format!("{} {}", args.client.name(), args.workloads[0]);
    let mut p = Proc::spawn(name, child_command("run", args)?).map_err(ChildError::driver)?;
    expect_line(&mut p, READY_TIMEOUT, READY)?;
    if let Some(s) = server.as_deref_mut() {
        s.reset_counters().map_err(ChildError::driver)?;
    }
    p.send(GO).map_err(ChildError::driver)?;
    let line = expect_line(&mut p, RUN_TIMEOUT, crate::outcome::RESULT)?;
    let outcome = Outcome::parse(&line).map_err(ChildError::driver)?;
    let frames = match server {
        Some(s) => s.counters().map_err(ChildError::driver)?,
        None => None,
    };
    match p.wait(EXIT_TIMEOUT) {
        Ok(status) if status.success() => {}
        Ok(_) => {
            let why = p.line(Duration::from_secs(1)).unwrap_or_default();
            eprintln!(
                "zerofs-bench: warning: {}: clean-up failed: {why}",
                p.name()
            );
        }
        Err(e) => eprintln!("zerofs-bench: warning: {e}"),
    }
    Ok(Run { outcome, frames })
}

fn prepare(
    server: &Server,
    client: ClientKind,
    workloads: &[Workload],
    sizes: &Sizes,
) -> Result<(), ChildError> {
    let args = ChildArgs {
        client,
        reference: server.kind.reference(),
        workloads: workloads.to_vec(),
        target: server.target.clone(),
        aname: server.aname.clone(),
        run_id: 0,
        sizes: *sizes,
    };
    let mut p = Proc::spawn(
        format!("prepare on {}", server.kind),
        child_command("prepare", &args)?,
    )
    .map_err(ChildError::driver)?;
    expect_line(&mut p, PREPARE_TIMEOUT, PREPARED)?;
    p.wait(EXIT_TIMEOUT).map_err(ChildError::driver)?;
    Ok(())
}

/// What a connect failure of `client` reads as in a cell.
fn connect_na(client: ClientKind, e: &ChildError) -> String {
    match client {
        ClientKind::Theirs => "n/a: reference client cannot connect".into(),
        ClientKind::Ours => format!("n/a: cannot connect ({})", shorten(&e.message, 120)),
    }
}

fn progress(what: &str, result: &Result<Run, ChildError>, w: Workload) {
    match result {
        Ok(run) => eprintln!(
            "zerofs-bench: {what}: {:.1} {} ({:.2} s, peak RSS {} MiB)",
            rate(&run.outcome, w.unit()),
            w.unit().label(),
            run.outcome.secs,
            run.outcome.rss_kib / 1024
        ),
        Err(e) => eprintln!("zerofs-bench: {what}: FAILED {e}"),
    }
}

fn measure_server(kind: ServerKind, opts: &Options, next_run: &mut u64, results: &mut Results) {
    let client_workloads: Vec<Workload> = opts
        .workloads
        .iter()
        .copied()
        .filter(|w| !w.is_physical())
        .collect();
    if client_workloads.is_empty() {
        return;
    }
    let fail_all = |results: &mut Results, why: String| {
        for &w in &client_workloads {
            for c in ClientKind::BOTH {
                results.cell(kind, w, c).na = Some(why.clone());
            }
        }
    };
    eprintln!("zerofs-bench: starting {kind}");
    let mut server = match Server::start(kind, &opts.bins, opts.transport) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("zerofs-bench: {kind}: {e}");
            return fail_all(results, format!("n/a: server did not start ({e})"));
        }
    };
    // The reference client cannot attach to diod; everything else is prepared with it.
    let preparer = if kind == ServerKind::Diod {
        ClientKind::Ours
    } else {
        ClientKind::Theirs
    };
    eprintln!(
        "zerofs-bench: {kind}: preparing fixtures with {}",
        preparer.name()
    );
    if let Err(e) = prepare(&server, preparer, &client_workloads, &opts.sizes) {
        eprintln!("zerofs-bench: {kind}: preparing failed: {e}");
        return fail_all(results, format!("n/a: fixtures not prepared ({e})"));
    }
    let mut unavailable: [Option<String>; 2] = [None, None];
    if !OURS_BUILT {
        unavailable[0] = Some("n/a: built without our client".into());
    }
    for &w in &client_workloads {
        let mut failures = [0usize; 2];
        for rep in 0..opts.reps {
            // Who goes first alternates too, so neither client always meets a cold server.
            let mut order: Vec<(usize, ClientKind)> =
                ClientKind::BOTH.into_iter().enumerate().collect();
            if rep % 2 == 1 {
                order.reverse();
            }
            for (i, client) in order {
                if unavailable[i].is_some() || failures[i] >= MAX_FAILURES {
                    continue;
                }
                *next_run += 1;
                let args = ChildArgs {
                    client,
                    reference: kind.reference(),
                    workloads: vec![w],
                    target: server.target.clone(),
                    aname: server.aname.clone(),
                    run_id: *next_run,
                    sizes: opts.sizes,
                };
                let result = run_once(&args, Some(&mut server));
                progress(
                    &format!("{kind} {w} {} rep {}/{}", client.name(), rep + 1, opts.reps),
                    &result,
                    w,
                );
                if result.is_err()
                    && let Some(report) = server.exit_report()
                {
                    eprintln!("zerofs-bench: {report}");
                    results.cell(kind, w, client).errors.push(report.clone());
                    let why = format!("n/a: server died ({})", shorten(&report, 200));
                    for c in ClientKind::BOTH {
                        for &later in client_workloads.iter().filter(|&&l| l >= w) {
                            let cell = results.cell(kind, later, c);
                            if cell.runs.is_empty() {
                                cell.na = Some(why.clone());
                            }
                        }
                    }
                    return;
                }
                let cell = results.cell(kind, w, client);
                match result {
                    Ok(run) => {
                        failures[i] = 0;
                        cell.runs.push(run);
                    }
                    Err(e) if e.phase == "connect" => {
                        unavailable[i] = Some(connect_na(client, &e));
                        cell.errors.push(e.to_string());
                    }
                    Err(e) => {
                        failures[i] += 1;
                        cell.errors.push(e.to_string());
                    }
                }
            }
        }
    }
    // A client that could not connect: every cell of it on this server says why.
    for (i, client) in ClientKind::BOTH.into_iter().enumerate() {
        if let Some(why) = &unavailable[i] {
            for &w in &client_workloads {
                let cell = results.cell(kind, w, client);
                if cell.runs.is_empty() {
                    cell.na = Some(why.clone());
                }
            }
        }
    }
    eprintln!("zerofs-bench: stopping {kind}");
}

fn measure_physical(opts: &Options, results: &mut Results) {
    for &w in opts.workloads.iter().filter(|w| w.is_physical()) {
        for rep in 0..opts.reps {
            let args = ChildArgs {
                client: ClientKind::Theirs,
                reference: Reference::V01,
                workloads: vec![w],
                target: String::new(),
                aname: String::new(),
                run_id: 0,
                sizes: opts.sizes,
            };
            let result = run_once(&args, None);
            progress(&format!("{w} rep {}/{}", rep + 1, opts.reps), &result, w);
            let series = results.physical.entry(w).or_default();
            match result {
                Ok(run) => series.runs.push(run),
                Err(e) => series.errors.push(e.to_string()),
            }
        }
    }
}

/// Runs the comparison and returns the Markdown report.
pub fn compare(opts: &Options, command_line: &str) -> String {
    let mut results = Results::default();
    measure_physical(opts, &mut results);
    let mut next_run = 0;
    for &kind in &opts.servers {
        measure_server(kind, opts, &mut next_run, &mut results);
    }
    render(&results, opts, command_line)
}

fn first_line(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// The CPU model name from /proc/cpuinfo.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

fn render(results: &Results, opts: &Options, command_line: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = String::new();
    out.push_str(&format!(
        "- Command: `{command_line}`\n- Machine: {cores} cores, `{}`; rustc: {}\n- Date: {}\n\
         - Reference client: zerofs-client {} (crates.io; {} on zerofs-2.3); repetitions per client: {}, \
         alternating ours/theirs (who goes first alternates too), each in a fresh process; transport: {:?}\n\n",
        cpu_model(),
        first_line(Command::new("rustc").arg("--version")),
        first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        crate::REFERENCE_VERSION,
        crate::REFERENCE_VERSION_Z,
        opts.reps,
        opts.transport,
    ));
    if !results.physical.is_empty() {
        out.push_str("#### W8: the physical limit (no 9P)\n\n");
        out.push_str(&results.physical_table(&opts.sizes).render());
        out.push('\n');
    }
    for &kind in &opts.servers {
        let table = results.server_table(kind, &opts.sizes);
        if table.is_empty() {
            continue;
        }
        out.push_str(&format!("#### {kind}\n\n"));
        out.push_str(&table.render());
        out.push('\n');
    }
    let rt = results.round_trip_table();
    if !rt.is_empty() {
        out.push_str(
            "#### Round trips: frames the memserver received per operation (timed part)\n\n",
        );
        out.push_str(&rt.render());
        out.push('\n');
    }
    let targets = results.target_table(&opts.sizes);
    if !targets.is_empty() {
        out.push_str("#### Targets of issue 7\n\n");
        out.push_str(&targets.render());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_error_lines_parse() {
        let e = ChildError::from_line("ERROR connect connect unix:/x: refused", READY);
        assert_eq!(e.phase, "connect");
        assert_eq!(e.message, "connect unix:/x: refused");
        let e = ChildError::from_line("hello", READY);
        assert_eq!(e.phase, "driver");
        assert!(e.message.contains("expected READY"));
        assert_eq!(
            connect_na(ClientKind::Theirs, &e),
            "n/a: reference client cannot connect"
        );
        assert!(connect_na(ClientKind::Ours, &e).starts_with("n/a: cannot connect ("));
    }
}
