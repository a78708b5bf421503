//! `zerofs-memserver --listen ADDR --unix PATH --generation plain|gen1|gen2|z [--max-msize N]
//! [--control-stdin]`
#![allow(clippy::print_stderr)] // a command-line tool reports on stderr
//!
//! Runs the in-memory ZeroFS-compatible 9P server until SIGINT / ctrl-c (or, with
//! `--control-stdin`, until its standard input closes).

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use zerofs_memserver::{Config, Counters, Generation, MemServer, ServerHandle};

const USAGE: &str = "usage: zerofs-memserver [--listen ADDR] [--unix PATH] [--generation plain|gen1|gen2|z] [--max-msize N] [--control-stdin]
  --listen ADDR      TCP address, e.g. 127.0.0.1:5564 (default 127.0.0.1:5564 unless --unix is given)
  --unix PATH        unix socket path
  --generation G     server generation to behave as (default z)
  --max-msize N      msize cap (default: 262144 for plain, 10485760 otherwise)
  --control-stdin    read commands from stdin, one per line, answers on stdout:
                       counters  the frame counters: `frames TYPE N` lines, `unknown N`,
                                 `connections N`, then `end`
                       reset     zero the counters; answers `ok`
                       quit      stop the server (so does the end of stdin)";

struct Args {
    listen: Option<SocketAddr>,
    unix: Option<PathBuf>,
    generation: Generation,
    max_msize: Option<u32>,
    control_stdin: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        listen: None,
        unix: None,
        generation: Generation::Z,
        max_msize: None,
        control_stdin: false,
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
            "--control-stdin" => out.control_stdin = true,
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
    if args.control_stdin {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let handle = server.clone();
        // Blocking stdin on its own thread; the end of input (or `quit`) stops the server.
        std::thread::spawn(move || {
            let _ = control(std::io::stdin().lock(), std::io::stdout().lock(), &handle);
            let _ = done_tx.send(());
        });
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = done_rx => {}
        }
    } else {
        let _ = tokio::signal::ctrl_c().await;
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// Serves `--control-stdin` commands from `input` until `quit` or the end of input.
fn control(
    input: impl BufRead,
    mut output: impl Write,
    server: &ServerHandle,
) -> std::io::Result<()> {
    for line in input.lines() {
        match line?.trim() {
            "" => continue,
            "counters" => output.write_all(render_counters(&server.counters()).as_bytes())?,
            "reset" => {
                server.reset_counters();
                output.write_all(b"ok\n")?;
            }
            "quit" => return Ok(()),
            other => writeln!(output, "error unknown command {other:?}")?,
        }
        output.flush()?;
    }
    Ok(())
}

/// The text form of the counters printed by the `counters` command.
fn render_counters(counters: &Counters) -> String {
    let mut out = String::new();
    for (ty, n) in counters.by_type() {
        out.push_str(&format!("frames {ty:?} {n}\n"));
    }
    out.push_str(&format!(
        "unknown {}\nconnections {}\nend\n",
        counters.unknown_frames(),
        counters.connections_accepted()
    ));
    out
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
        assert!(!args(&[]).unwrap().control_stdin);
        assert!(args(&["--control-stdin"]).unwrap().control_stdin);
    }

    /// Sends one `Tversion` and waits for its reply, so the server has counted it.
    async fn one_version(server: &ServerHandle) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use zerofs_memserver::zerofs_9p_proto::{Dialect, Frame, Message, Tversion, bytes};
        let mut stream = tokio::net::TcpStream::connect(server.tcp_addr().unwrap())
            .await
            .unwrap();
        let frame = Frame {
            tag: zerofs_memserver::zerofs_9p_proto::consts::NOTAG,
            envelope: None,
            message: Message::Tversion(Tversion {
                msize: 8192,
                version: bytes::Bytes::from_static(b"9P2000.L"),
            }),
        };
        let mut buf = Vec::new();
        frame.encode(Dialect::Plain, &mut buf).unwrap();
        stream.write_all(&buf).await.unwrap();
        let mut size = [0u8; 4];
        stream.read_exact(&mut size).await.unwrap();
        let mut rest = vec![0u8; u32::from_le_bytes(size) as usize - 4];
        stream.read_exact(&mut rest).await.unwrap();
        assert_eq!(rest[0], 101, "Rversion");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn control_reports_and_resets_counters() {
        let server = MemServer::start(Config::new(Generation::Plain))
            .await
            .unwrap();
        one_version(&server).await;
        let input = "counters\nreset\n\ncounters\nbogus\nquit\ncounters\n";
        let mut out = Vec::new();
        let handle = server.clone();
        let out = tokio::task::spawn_blocking(move || {
            control(input.as_bytes(), &mut out, &handle).unwrap();
            out
        })
        .await
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "frames Tversion 1\nunknown 0\nconnections 1\nend\n\
             ok\n\
             unknown 0\nconnections 0\nend\n\
             error unknown command \"bogus\"\n"
        );
        server.shutdown().await;
    }
}
