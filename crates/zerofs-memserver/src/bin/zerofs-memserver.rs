//! `zerofs-memserver --listen ADDR --unix PATH --generation plain|gen1|gen2|z [--max-msize N]`
#![allow(clippy::print_stderr)] // a command-line tool reports on stderr
//!
//! Runs the in-memory ZeroFS-compatible 9P server until SIGINT / ctrl-c.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use zerofs_memserver::{Config, Generation, MemServer};

const USAGE: &str = "usage: zerofs-memserver [--listen ADDR] [--unix PATH] [--generation plain|gen1|gen2|z] [--max-msize N]
  --listen ADDR      TCP address, e.g. 127.0.0.1:5564 (default 127.0.0.1:5564 unless --unix is given)
  --unix PATH        unix socket path
  --generation G     server generation to behave as (default z)
  --max-msize N      msize cap (default: 262144 for plain, 10485760 otherwise)";

struct Args {
    listen: Option<SocketAddr>,
    unix: Option<PathBuf>,
    generation: Generation,
    max_msize: Option<u32>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        listen: None,
        unix: None,
        generation: Generation::Z,
        max_msize: None,
    };
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--listen" => {
                out.listen = Some(
                    value("--listen")?
                        .parse()
                        .map_err(|e| format!("--listen: {e}"))?,
                )
            }
            "--unix" => out.unix = Some(PathBuf::from(value("--unix")?)),
            "--generation" => {
                out.generation = value("--generation")?.parse().map_err(|e| format!("{e}"))?
            }
            "--max-msize" => {
                out.max_msize = Some(
                    value("--max-msize")?
                        .parse()
                        .map_err(|e| format!("--max-msize: {e}"))?,
                )
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if out.listen.is_none() && out.unix.is_none() {
        out.listen = Some(SocketAddr::from((
            [127, 0, 0, 1],
            zerofs_9p_proto::consts::DEFAULT_PORT,
        )));
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("zerofs-memserver: {msg}");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let mut config = Config::new(args.generation)
        .tcp(args.listen)
        .unix(args.unix);
    if let Some(m) = args.max_msize {
        config = config.max_msize(m);
    }
    let server = match MemServer::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("zerofs-memserver: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(addr) = server.tcp_addr() {
        eprintln!(
            "zerofs-memserver ({}) listening on tcp://{addr}",
            server.generation()
        );
    }
    if let Some(unix) = server.unix_target() {
        eprintln!(
            "zerofs-memserver ({}) listening on {unix}",
            server.generation()
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Result<Args, String> {
        parse(s.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_every_flag_and_rejects_junk() {
        let a = args(&[
            "--listen",
            "127.0.0.1:9",
            "--unix",
            "/tmp/x.sock",
            "--generation",
            "gen1",
            "--max-msize",
            "8192",
        ])
        .unwrap();
        assert_eq!(a.listen, Some("127.0.0.1:9".parse().unwrap()));
        assert_eq!(a.unix, Some(PathBuf::from("/tmp/x.sock")));
        assert_eq!(a.generation, Generation::Gen1);
        assert_eq!(a.max_msize, Some(8192));
        assert_eq!(args(&[]).unwrap().listen.map(|a| a.port()), Some(5564));
        assert!(args(&["--unix", "/tmp/y"]).unwrap().listen.is_none());
        assert!(args(&["--generation", "gen9"]).is_err());
        assert!(args(&["--listen"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }
}
