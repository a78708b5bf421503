//! `zerofs-cli`: a command-line tool for ZeroFS (and any 9P2000.L) servers.
#![allow(clippy::print_stderr)] // a command-line tool reports on stderr

mod app;
mod args;
mod fmt;
mod list;
mod location;
mod names;
mod ops;
mod report;
mod serve;
mod xfer;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::app::App;
use crate::args::{Cli, Command};
use crate::report::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zerofs-cli: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let name = command_name(&cli.command);
    let app = App::new(cli.global);
    let result = rt.block_on(run(&app, cli.command));
    let code = match result {
        Ok(code) if code != 0 => code,
        Ok(_) if app.failures() > 0 => 1,
        Ok(_) => 0,
        Err(f) => {
            app.fail(name, f);
            1
        }
    };
    // Do not wait for lingering connection tasks.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    ExitCode::from(code)
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Ls { .. } => "ls",
        Command::Tree { .. } => "tree",
        Command::Stat { .. } => "stat",
        Command::Cat { .. } => "cat",
        Command::Put { .. } => "put",
        Command::Get { .. } => "get",
        Command::Cp { .. } => "cp",
        Command::Sync { .. } => "sync",
        Command::Mv { .. } => "mv",
        Command::Rm { .. } => "rm",
        Command::Mkdir { .. } => "mkdir",
        Command::Ln { .. } => "ln",
        Command::Touch { .. } => "touch",
        Command::Chmod { .. } => "chmod",
        Command::Du { .. } => "du",
        Command::Df { .. } => "df",
        Command::Find { .. } => "find",
        Command::Serve { .. } => "serve",
        Command::Completions { .. } => "completions",
    }
}

async fn run(app: &App, command: Command) -> Result<u8, Failure> {
    use xfer::Mode;
    match command {
        Command::Ls {
            long,
            all,
            recursive,
            human,
            paths,
        } => {
            list::ls(
                app,
                &paths,
                list::LsOpts {
                    long,
                    all,
                    recursive,
                    human,
                },
            )
            .await?
        }
        Command::Tree { path, all, level } => list::tree(app, &path, all, level).await?,
        Command::Stat { paths } => list::stat(app, &paths).await?,
        Command::Cat { paths } => ops::cat(app, &paths).await?,
        Command::Put { args, t } => return xfer::copy(app, Mode::Put, &args, &t).await,
        Command::Get { args, t } => return xfer::copy(app, Mode::Get, &args, &t).await,
        Command::Cp { args, t } => return xfer::copy(app, Mode::Cp, &args, &t).await,
        Command::Sync {
            source,
            dest,
            delete,
            t,
        } => {
            return xfer::sync(app, &source, &dest, delete, &t).await;
        }
        Command::Mv { args } => ops::mv(app, &args).await?,
        Command::Rm {
            recursive,
            force,
            paths,
        } => ops::rm(app, &paths, recursive, force).await?,
        Command::Mkdir {
            parents,
            mode,
            paths,
        } => ops::mkdir(app, &paths, parents, mode).await?,
        Command::Ln {
            symbolic,
            link_target,
            link,
        } => ops::ln(app, symbolic, &link_target, &link).await?,
        Command::Touch { no_create, paths } => ops::touch(app, &paths, no_create).await?,
        Command::Chmod {
            mode,
            paths,
            recursive,
        } => ops::chmod(app, mode, &paths, recursive).await?,
        Command::Du {
            summarize,
            human,
            paths,
        } => list::du(app, &paths, summarize, human).await?,
        Command::Df { human } => list::df(app, human).await?,
        Command::Find {
            path,
            name,
            kind,
            size,
            maxdepth,
        } => {
            list::find(
                app,
                &path,
                list::FindOpts {
                    name,
                    kind,
                    size,
                    maxdepth,
                },
            )
            .await?
        }
        Command::Serve {
            listen,
            unix,
            no_tcp,
            generation,
        } => serve::serve(&listen, unix, no_tcp, &generation, app.g.quiet).await?,
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "zerofs-cli", &mut std::io::stdout());
        }
    }
    Ok(0)
}
