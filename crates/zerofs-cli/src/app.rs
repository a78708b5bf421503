//! What every command shares: connections, output, and the failure count.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;
use zerofs_client::{Client, ConnectOptions, Metadata};

use crate::args::Global;
use crate::location::Location;
use crate::names;
use crate::report::Failure;

/// The state of one run.
pub struct App {
    pub g: Global,
    clients: Mutex<HashMap<String, Arc<Client>>>,
    failures: AtomicU64,
}

impl App {
    pub fn new(g: Global) -> App {
        App {
            g,
            clients: Mutex::new(HashMap::new()),
            failures: AtomicU64::new(0),
        }
    }

    /// The client for `target` (`None`: the default target), connected on first use.
    #[allow(clippy::field_reassign_with_default)]
    pub async fn client(&self, target: Option<&str>) -> Result<Arc<Client>, Failure> {
        let target = match target.or(self.g.target.as_deref()) {
            Some(t) => t.to_owned(),
            None => {
                return Err(Failure(
                    "no server given: use --target HOST:PORT, set ZEROFS_TARGET, or write \
                     paths as zerofs://HOST:PORT/PATH"
                        .into(),
                ));
            }
        };
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(&target) {
            return Ok(c.clone());
        }
        // Field by field: ConnectOptions may gain or lose fields beyond the reference six.
        let mut o = ConnectOptions::default();
        o.aname = self.g.aname.clone();
        o.uid = self.g.uid;
        o.gid = self.g.gid;
        if let Some(m) = self.g.msize {
            o.msize = m;
        }
        o.connect_timeout_ms = Some(self.g.connect_timeout.saturating_mul(1000));
        let c = Client::connect_with(&target, o).await?;
        clients.insert(target, c.clone());
        Ok(c)
    }

    /// The client and path of a server location.
    pub async fn remote(&self, loc: &Location) -> Result<(Arc<Client>, PathBuf), Failure> {
        match loc {
            Location::Remote(t, p) => Ok((self.client(t.as_deref()).await?, p.clone())),
            Location::Local(p) => Err(Failure(format!(
                "{} is a local path here; write :{} for the server",
                p.display(),
                p.display()
            ))),
        }
    }

    /// A server path argument with its metadata; a failed stat is reported (as `cmd`) and
    /// gives `None`, so the caller goes on with the next argument.
    pub async fn stat_arg(
        &self,
        cmd: &str,
        raw: &OsStr,
    ) -> Result<Option<(Arc<Client>, PathBuf, Metadata)>, Failure> {
        let (c, p) = self.remote(&self.loc(raw, false)?).await?;
        match c.stat(&p).await {
            Ok(m) => Ok(Some((c, p, m))),
            Err(e) => {
                self.fail(cmd, e.into());
                Ok(None)
            }
        }
    }

    /// An argument (unescaped with `--escaped`) parsed as a location.
    pub fn loc(&self, raw: &OsStr, bare_is_local: bool) -> Result<Location, Failure> {
        let arg = names::arg(raw, self.g.escaped)?;
        Ok(Location::parse(&arg, bare_is_local)?)
    }

    /// Reports one failed operation and carries on.
    pub fn fail(&self, cmd: &str, f: Failure) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "zerofs-cli: {cmd}: {f}");
    }

    /// A note on stderr (not with -q or --json).
    pub fn note(&self, text: &str) {
        if !self.g.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// Buffered standard output; a closed pipe ends the program quietly.
pub struct Out(std::io::BufWriter<std::io::Stdout>);

impl Out {
    pub fn new() -> Out {
        Out(std::io::BufWriter::with_capacity(
            64 << 10,
            std::io::stdout(),
        ))
    }

    pub fn line(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        self.bytes(b"\n");
    }

    pub fn bytes(&mut self, b: &[u8]) {
        if let Err(e) = self.0.write_all(b) {
            closed(e);
        }
    }

    pub fn json(&mut self, v: &serde_json::Value) {
        self.line(&v.to_string());
    }

    pub fn flush(&mut self) {
        if let Err(e) = self.0.flush() {
            closed(e);
        }
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.flush();
    }
}

fn closed(e: std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    let _ = writeln!(std::io::stderr(), "zerofs-cli: writing output: {e}");
    std::process::exit(1);
}
