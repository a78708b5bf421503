//! Child processes the driver starts: stdout read line by line on a thread so every wait has
//! a deadline, killed and reaped on drop (also when the driver fails or panics).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most stderr lines kept for error messages.
const STDERR_TAIL: usize = 20;

/// A running child with piped stdin/stdout; stderr is kept (last lines) for failure reports.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Starts `cmd` with piped stdio.
    pub fn spawn(name: impl Into<String>, mut cmd: Command) -> Result<Proc, String> {
        let name = name.into();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        let (tx, lines) = channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let tail = stderr.clone();
        let err = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || keep_tail(err, &tail));
        Ok(Proc {
            name,
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
        })
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next stdout line, waiting at most `timeout`.
    pub fn line(&mut self, timeout: Duration) -> Result<String, String> {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Ok(l),
            Err(RecvTimeoutError::Timeout) => {
                Err(format!("{}: no output within {timeout:?}", self.name))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.wait(Duration::from_secs(5)).ok();
                Err(format!(
                    "{} ended ({}) without the expected output; stderr: {}",
                    self.name,
                    status.map_or("still running".to_owned(), |s| s.to_string()),
                    self.stderr_tail()
                ))
            }
        }
    }

    /// Writes one line to stdin.
    pub fn send(&mut self, line: &str) -> Result<(), String> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| format!("{}: stdin closed", self.name))?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{}: write to stdin: {e}", self.name))
    }

    /// Closes stdin.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits at most `timeout` for the exit, then kills it.
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(format!(
                    "{} did not exit within {timeout:?}; killed",
                    self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills and reaps it (no-op if already gone).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last lines it wrote to stderr, joined with ` / `.
    pub fn stderr_tail(&self) -> String {
        self.stderr
            .lock()
            .map(|v| v.join(" / "))
            .unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.close_stdin();
        self.kill();
    }
}

fn keep_tail(from: impl Read, tail: &Mutex<Vec<String>>) {
    for line in BufReader::new(from).lines() {
        let Ok(line) = line else { break };
        if let Ok(mut v) = tail.lock() {
            if v.len() == STDERR_TAIL {
                v.remove(0);
            }
            v.push(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn lines_echo_and_exit() {
        let mut p = Proc::spawn("cat", Command::new("cat")).unwrap();
        p.send("hello").unwrap();
        assert_eq!(p.line(Duration::from_secs(10)).unwrap(), "hello");
        p.close_stdin();
        assert!(p.wait(Duration::from_secs(10)).unwrap().success());
        assert!(p.line(Duration::from_secs(1)).is_err());
    }

    #[test]
    fn silence_times_out_and_stderr_is_kept() {
        let mut p = Proc::spawn("quiet", sh("echo oops >&2; sleep 30")).unwrap();
        assert!(
            p.line(Duration::from_millis(200))
                .unwrap_err()
                .contains("no output")
        );
        assert!(p.wait(Duration::from_millis(100)).is_err()); // killed
        assert!(p.exited().is_some());
        // The stderr thread drains the pipe on its own; give it a bounded while.
        for _ in 0..500 {
            if !p.stderr_tail().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(p.stderr_tail(), "oops");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        assert!(Proc::spawn("none", Command::new("/nonexistent/zerofs-bench-test")).is_err());
    }
}
