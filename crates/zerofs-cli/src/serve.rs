//! `serve`: the in-memory server in the foreground.

use std::path::PathBuf;

use zerofs_memserver::{Config, Generation, MemServer};

use crate::app::Out;
use crate::report::Failure;

pub async fn serve(
    listen: &str,
    unix: Option<PathBuf>,
    no_tcp: bool,
    generation: &str,
    quiet: bool,
) -> Result<(), Failure> {
    let generation: Generation = generation
        .parse()
        .map_err(|e| Failure(format!("--generation: {e}")))?;
    let tcp = if no_tcp {
        None
    } else {
        Some(
            listen
                .parse()
                .map_err(|e| Failure(format!("--listen {listen:?}: {e}")))?,
        )
    };
    if tcp.is_none() && unix.is_none() {
        return Err(Failure("--no-tcp needs --unix PATH".into()));
    }
    let server = MemServer::start(Config::new(generation).tcp(tcp).unix(unix))
        .await
        .map_err(|e| Failure(format!("cannot listen: {e}")))?;
    // The targets go to stdout (one per line) so scripts can read them.
    let mut out = Out::new();
    for t in server
        .tcp_addr()
        .map(|a| a.to_string())
        .into_iter()
        .chain(server.unix_target())
    {
        out.line(&t);
    }
    out.flush();
    if !quiet {
        let first = server
            .tcp_addr()
            .map(|a| a.to_string())
            .or(server.unix_target())
            .unwrap_or_default();
        eprintln!(
            "zerofs-cli: in-memory server ({generation}) running; everything is lost on exit.\n\
             Try, in another terminal:  export ZEROFS_TARGET={first}; zerofs-cli ls -l /\n\
             Stop with ctrl-c."
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    Ok(())
}
