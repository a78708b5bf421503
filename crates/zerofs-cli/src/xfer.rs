//! Transfers: put, get, cp and sync on the engine in `zerofs_client::transfer`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use zerofs_client::transfer::{
    Endpoint, Event, EventHook, Kind, Transfer, TransferOptions, TransferReport,
};

use crate::app::App;
use crate::args::TransferArgs;
use crate::location::Location;
use crate::names::escape;
use crate::report::Failure;

/// Which side a bare (no `:`, no URL) argument is on.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// put: sources local, destination on the server.
    Put,
    /// get: sources on the server, destination local.
    Get,
    /// cp and sync: bare paths are local.
    Cp,
}

/// Exit status of a run cut short by ctrl-c.
pub const INTERRUPTED: u8 = 130;

async fn endpoint(app: &App, loc: &Location) -> Result<Endpoint, Failure> {
    Ok(match loc {
        Location::Local(p) => Endpoint::local(p),
        Location::Remote(..) => {
            let (c, p) = app.remote(loc).await?;
            Endpoint::Remote(c, p)
        }
    })
}

fn options(app: &App, t: &TransferArgs) -> TransferOptions {
    let show = t.verbose || app.g.dry_run;
    let dry = app.g.dry_run;
    let hook = show.then(|| {
        EventHook::new(move |e: &Event| {
            let verb = |v: &str| {
                if dry {
                    format!("would {v}")
                } else {
                    v.to_owned()
                }
            };
            let line = match e {
                Event::Copy { from, to, .. } => format!(
                    "{} {} -> {}",
                    verb("copy"),
                    escape(from.as_os_str().as_bytes()),
                    escape(to.as_os_str().as_bytes())
                ),
                Event::Link { to, target } => format!(
                    "{} {} -> {}",
                    verb("link"),
                    escape(to.as_os_str().as_bytes()),
                    escape(target.as_os_str().as_bytes())
                ),
                Event::Dir { to } => {
                    format!("{} {}/", verb("mkdir"), escape(to.as_os_str().as_bytes()))
                }
                Event::Remove { path } => {
                    format!("{} {}", verb("remove"), escape(path.as_os_str().as_bytes()))
                }
                Event::Skip { path } => {
                    format!("unchanged {}", escape(path.as_os_str().as_bytes()))
                }
                _ => return,
            };
            use std::io::Write;
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        })
    });
    TransferOptions {
        concurrency: t.jobs.max(1),
        recursive: t.recursive,
        keep_modes: !t.no_modes,
        keep_times: !t.no_times,
        keep_symlinks: !t.no_symlinks,
        sparse: !t.no_sparse,
        in_place: t.in_place,
        dry_run: dry,
        on_event: hook,
        ..TransferOptions::default()
    }
}

/// put / get / cp: `SRC... DEST`.
pub async fn copy(
    app: &App,
    mode: Mode,
    args: &[OsString],
    t: &TransferArgs,
) -> Result<u8, Failure> {
    let (srcs, dst) = args.split_at(args.len() - 1);
    let (src_local, dst_local) = match mode {
        Mode::Put => (true, false),
        Mode::Get => (false, true),
        Mode::Cp => (true, true),
    };
    let dloc = app.loc(&dst[0], dst_local)?;
    let dend = endpoint(app, &dloc).await?;
    let into = srcs.len() > 1
        || Location::names_dir(&dst[0])
        || dend
            .stat()
            .await
            .ok()
            .flatten()
            .is_some_and(|n| n.kind == Kind::Dir);
    let mut pairs = Vec::new();
    for raw in srcs {
        let sloc = app.loc(raw, src_local)?;
        let to = if into {
            match sloc.path().file_name() {
                Some(n) => dloc.join(n),
                None => dloc.clone(),
            }
        } else {
            dloc.clone()
        };
        pairs.push((endpoint(app, &sloc).await?, endpoint(app, &to).await?));
    }
    let engine = Transfer::new(options(app, t));
    run(app, &engine, pairs).await
}

/// sync SRC DEST: copy what differs, optionally delete extras.
pub async fn sync(
    app: &App,
    source: &OsString,
    dest: &OsString,
    delete: bool,
    t: &TransferArgs,
) -> Result<u8, Failure> {
    let s = endpoint(app, &app.loc(source, true)?).await?;
    let d = endpoint(app, &app.loc(dest, true)?).await?;
    let engine = Transfer::new(TransferOptions {
        recursive: true,
        skip_unchanged: true,
        delete_extra: delete,
        ..options(app, t)
    });
    run(app, &engine, vec![(s, d)]).await
}

/// Runs the copies one after another under one progress bar; ctrl-c cancels cleanly.
async fn run(
    app: &App,
    engine: &Transfer,
    pairs: Vec<(Endpoint, Endpoint)>,
) -> Result<u8, Failure> {
    let started = Instant::now();
    let bar = progress_bar(app, engine);
    let work = async {
        let mut total = TransferReport::default();
        for (s, d) in pairs {
            match engine.copy(s, d).await {
                Ok(r) => {
                    total.files += r.files;
                    total.bytes += r.bytes;
                    total.dirs += r.dirs;
                    total.skipped += r.skipped;
                    total.removed += r.removed;
                    total.failed += r.failed;
                    for f in r.failures {
                        app.fail("copy", f.into());
                    }
                }
                Err(e) => {
                    app.fail("copy", e.into());
                }
            }
        }
        total
    };
    let total = tokio::select! {
        t = work => t,
        _ = tokio::signal::ctrl_c() => {
            if let Some(b) = &bar { b.abandon(); }
            engine.settle().await;
            app.note("zerofs-cli: interrupted; partial files removed");
            return Ok(INTERRUPTED);
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    if app.g.json {
        let mut out = crate::app::Out::new();
        out.json(&json!({
            "files": total.files, "bytes": total.bytes, "dirs": total.dirs,
            "skipped": total.skipped, "removed": total.removed, "failed": total.failed,
            "seconds": secs, "dry_run": app.g.dry_run,
        }));
    } else if !app.g.dry_run {
        let rate = if secs > 0.0 {
            total.bytes as f64 / secs
        } else {
            0.0
        };
        app.note(&format!(
            "{} files, {} in {:.2}s ({}/s){}{}",
            total.files,
            crate::fmt::human(total.bytes),
            secs,
            crate::fmt::human(rate as u64),
            if total.skipped > 0 {
                format!(", {} unchanged", total.skipped)
            } else {
                String::new()
            },
            if total.removed > 0 {
                format!(", {} removed", total.removed)
            } else {
                String::new()
            },
        ));
    }
    Ok(0)
}

/// A bar on stderr when it is a terminal (and not -q / --json), fed from the engine's watch.
fn progress_bar(app: &App, engine: &Transfer) -> Option<Arc<ProgressBar>> {
    use std::io::IsTerminal;
    if app.g.quiet || app.g.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = Arc::new(ProgressBar::with_draw_target(
        Some(0),
        ProgressDrawTarget::stderr(),
    ));
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rx = engine.progress();
    let b = bar.clone();
    tokio::spawn(async move {
        loop {
            let p = *rx.borrow_and_update();
            b.set_length(p.bytes_total);
            b.set_position(p.bytes_done);
            b.set_message(format!(
                "{}/{}{} files",
                p.files_done,
                p.files_total,
                if p.scan_done { "" } else { "+" }
            ));
            tokio::time::sleep(Duration::from_millis(100)).await;
            if rx.changed().await.is_err() || b.is_finished() {
                return;
            }
        }
    });
    Some(bar)
}
