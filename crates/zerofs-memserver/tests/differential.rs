//! Differential tests: the same scripted 9P2000.L requests sent to ZeroFS 0.19.1, the memserver
//! (plain generation) and diod, replies compared field by field after normalisation.
//!
//! The real servers are child processes started per test (`cargo xtask servers` installs them;
//! a missing one is skipped unless `ZEROFS_CLIENT_REQUIRE_SERVERS=1`). Every deliberate
//! difference is annotated on its step and listed in `docs/INTEROP-DIFFERENCES.md`.

#[path = "differential/normalise.rs"]
mod normalise;
#[path = "differential/script.rs"]
mod script;
#[path = "differential/scripts/mod.rs"]
mod scripts;
#[path = "differential/servers.rs"]
mod servers;
#[path = "differential/steps.rs"]
mod steps;
#[path = "differential/wire.rs"]
mod wire;

use crate::normalise::{Transcript, compare};
use crate::script::{Script, run};
use crate::servers::Server;

/// Runs `script` on every available server and fails on any unannotated difference.
#[allow(clippy::print_stderr)]
async fn check(script: Script) {
    let mut servers: Vec<Server> = Vec::new();
    servers.extend(servers::start_zerofs().await);
    servers.push(servers::start_mem().await);
    servers.extend(servers::start_diod().await);
    if servers.len() < 2 {
        eprintln!("SKIPPED {}: fewer than two servers to compare", script.name);
        return;
    }
    let mut transcripts: Vec<Transcript> = Vec::new();
    for server in &servers {
        transcripts.push(run(&script, server).await);
    }
    let labels = script.labels();
    let problems = compare(&labels, &script.expected(), &transcripts);
    let mut report = format!(
        "script `{}`: {} difference(s)\n",
        script.name,
        problems.len()
    );
    for p in &problems {
        report.push_str(&format!("  - {p}\n"));
    }
    report.push_str("\ntranscripts:\n");
    for (i, label) in labels.iter().enumerate() {
        report.push_str(&format!("  [{i}] {label}\n"));
        for t in &transcripts {
            report.push_str(&format!(
                "        {:<18} {:?}\n",
                t.server.to_string(),
                t.replies[i]
            ));
        }
    }
    if std::env::var_os("DIFFTEST_DUMP").is_some() {
        eprintln!("{report}");
    }
    if !problems.is_empty() {
        for s in &servers {
            let tail = s.log_tail();
            if !tail.is_empty() {
                report.push_str(&format!("\n{} log tail:\n{tail}\n", s.kind));
            }
        }
        panic!("{report}");
    }
}

macro_rules! differential {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            check(scripts::$name()).await;
        }
    )*};
}

differential!(
    negotiation,
    attaches,
    walks,
    create_open,
    read_write,
    getattr_setattr,
    readdir_paging,
    renames,
    unlinks,
    links,
    mknods,
    locks,
    statfs_fsync,
    errors,
    malformed,
    xattr_flush_remove,
);
