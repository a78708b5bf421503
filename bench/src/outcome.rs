//! What one run measures, and the line a child run prints it as.

use std::time::Duration;

use crate::stats::percentile;

/// The measurements of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Operations done (what round trips are divided by).
    pub ops: u64,
    /// Items the rate counts (operations, or directory entries for W6).
    pub items: u64,
    /// Payload bytes moved.
    pub bytes: u64,
    /// Wall-clock seconds of the timed part.
    pub secs: f64,
    /// Median per-operation latency, in microseconds (operation workloads only).
    pub p50_us: Option<f64>,
    /// 99th-percentile per-operation latency, in microseconds.
    pub p99_us: Option<f64>,
    /// Peak resident set of the run's process (VmHWM), in KiB.
    pub rss_kib: u64,
}

/// Prefix of the line carrying an [`Outcome`].
pub const RESULT: &str = "RESULT";
/// The line a child prints once connected and set up; it then waits for [`GO`].
pub const READY: &str = "READY";
/// The line the driver sends to start the timed part.
pub const GO: &str = "GO";
/// Prefix of the line a failed child prints: `ERROR <phase> <message>`.
pub const ERROR: &str = "ERROR";

impl Outcome {
    /// An outcome whose latencies are summarised from `latencies`.
    pub fn new(
        ops: u64,
        items: u64,
        bytes: u64,
        elapsed: Duration,
        latencies: &[Duration],
    ) -> Outcome {
        let us: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        Outcome {
            ops,
            items,
            bytes,
            secs: elapsed.as_secs_f64(),
            p50_us: percentile(&us, 50.0),
            p99_us: percentile(&us, 99.0),
            rss_kib: 0,
        }
    }

    /// `RESULT ops=.. items=.. bytes=.. secs=.. [p50_us=.. p99_us=..] rss_kib=..`
    pub fn to_line(&self) -> String {
        let mut line = format!(
            "{RESULT} ops={} items={} bytes={} secs={:.9}",
            self.ops, self.items, self.bytes, self.secs
        );
        if let (Some(p50), Some(p99)) = (self.p50_us, self.p99_us) {
            line.push_str(&format!(" p50_us={p50:.3} p99_us={p99:.3}"));
        }
        line.push_str(&format!(" rss_kib={}", self.rss_kib));
        line
    }

    /// Parses [`to_line`](Self::to_line) output.
    pub fn parse(line: &str) -> Result<Outcome, String> {
        let rest = line
            .trim()
            .strip_prefix(RESULT)
            .ok_or_else(|| format!("not a result line: {line:?}"))?;
        let mut out = Outcome {
            ops: 0,
            items: 0,
            bytes: 0,
            secs: f64::NAN,
            p50_us: None,
            p99_us: None,
            rss_kib: 0,
        };
        for field in rest.split_whitespace() {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("field {field:?} is not key=value"))?;
            let int = || {
                value
                    .parse::<u64>()
                    .map_err(|e| format!("{key}={value}: {e}"))
            };
            let float = || match value.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                Ok(_) => Err(format!("{key}={value}: not a finite non-negative number")),
                Err(e) => Err(format!("{key}={value}: {e}")),
            };
            match key {
                "ops" => out.ops = int()?,
                "items" => out.items = int()?,
                "bytes" => out.bytes = int()?,
                "secs" => out.secs = float()?,
                "p50_us" => out.p50_us = Some(float()?),
                "p99_us" => out.p99_us = Some(float()?),
                "rss_kib" => out.rss_kib = int()?,
                _ => {} // newer fields are ignored
            }
        }
        if out.secs.is_nan() || out.secs <= 0.0 {
            return Err(format!("result without a positive secs: {line:?}"));
        }
        Ok(out)
    }

    /// Items per second.
    pub fn items_per_sec(&self) -> f64 {
        self.items as f64 / self.secs
    }

    /// Bytes per second.
    pub fn bytes_per_sec(&self) -> f64 {
        self.bytes as f64 / self.secs
    }
}

/// The peak resident set size of this process (`VmHWM` in `/proc/self/status`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    parse_vmhwm(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The `VmHWM:` value (KiB) of a `/proc/PID/status` text.
pub fn parse_vmhwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_round_trips() {
        let lat: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let mut o = Outcome::new(100, 100, 4096, Duration::from_millis(250), &lat);
        o.rss_kib = 12_345;
        assert_eq!(o.p50_us, Some(50.0));
        assert_eq!(o.p99_us, Some(99.0));
        let back = Outcome::parse(&o.to_line()).unwrap();
        assert_eq!(back, o);
        assert_eq!(back.items_per_sec(), 400.0);
        let plain = Outcome::new(1, 1, 1 << 20, Duration::from_secs(2), &[]);
        assert_eq!(plain.p50_us, None);
        assert!(!plain.to_line().contains("p50"));
        assert_eq!(
            Outcome::parse(&plain.to_line()).unwrap().bytes_per_sec(),
            524_288.0
        );
    }

    #[test]
    fn bad_result_lines_are_errors() {
        assert!(Outcome::parse("READY").is_err());
        assert!(Outcome::parse("RESULT ops=1 items=1 bytes=0").is_err()); // no secs
        assert!(Outcome::parse("RESULT ops=x secs=1").is_err());
        assert!(Outcome::parse("RESULT ops=1 secs=-1").is_err());
        assert!(Outcome::parse("RESULT ops=1 secs=inf").is_err());
        assert!(Outcome::parse("RESULT ops secs=1").is_err());
        assert!(Outcome::parse("RESULT ops=1 secs=1 future=7").is_ok());
    }

    #[test]
    fn vmhwm_is_read_from_status_text() {
        let status =
            "Name:\tzerofs-bench\nVmPeak:\t  999 kB\nVmHWM:\t    8804 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(parse_vmhwm(status), Some(8804));
        assert_eq!(parse_vmhwm("VmRSS: 1 kB\n"), None);
        assert!(peak_rss_kib().is_some_and(|k| k > 0));
    }
}
