//! The workloads of issue 7 and their sizes.

use std::fmt;
use std::str::FromStr;

/// One measured workload. W4 has two forms (whole-file `read` and `read_at` in chunks) and W8
/// two transports; each is measured and reported separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// `stat` of a file three directories deep, one task.
    W1,
    /// Whole-file `read` of small files.
    W2,
    /// `write` of new small files.
    W3,
    /// Whole-file `read` of one big file.
    W4,
    /// `File::read_at` of the big file in chunk-sized calls.
    W4at,
    /// `File::write_at` in chunk-sized calls, then `sync_all`.
    W5,
    /// `read_dir` of a big directory.
    W6,
    /// Many tasks `stat`ing on one shared client.
    W7,
    /// The physical limit without 9P: a unix socket pair between two tasks.
    W8unix,
    /// The physical limit without 9P: TCP over 127.0.0.1 between two tasks.
    W8tcp,
}

/// How a workload's rate is expressed.
#[allow(clippy::enum_variant_names)] // each is a rate
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Operations per second.
    OpsPerSec,
    /// MiB per second.
    MibPerSec,
    /// Directory entries per second.
    EntriesPerSec,
    /// GiB per second.
    GibPerSec,
}

impl Unit {
    /// The label after a number.
    pub fn label(self) -> &'static str {
        match self {
            Unit::OpsPerSec => "ops/s",
            Unit::MibPerSec => "MiB/s",
            Unit::EntriesPerSec => "entries/s",
            Unit::GibPerSec => "GiB/s",
        }
    }
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 10] = [
        Workload::W1,
        Workload::W2,
        Workload::W3,
        Workload::W4,
        Workload::W4at,
        Workload::W5,
        Workload::W6,
        Workload::W7,
        Workload::W8unix,
        Workload::W8tcp,
    ];

    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Workload::W1 => "W1",
            Workload::W2 => "W2",
            Workload::W3 => "W3",
            Workload::W4 => "W4",
            Workload::W4at => "W4at",
            Workload::W5 => "W5",
            Workload::W6 => "W6",
            Workload::W7 => "W7",
            Workload::W8unix => "W8unix",
            Workload::W8tcp => "W8tcp",
        }
    }

    /// The workload this belongs to (`W4at` → `W4`, `W8tcp` → `W8`).
    pub fn group(self) -> &'static str {
        match self {
            Workload::W4at => "W4",
            Workload::W8unix | Workload::W8tcp => "W8",
            other => other.name(),
        }
    }

    /// How its rate is expressed.
    pub fn unit(self) -> Unit {
        match self {
            Workload::W1 | Workload::W2 | Workload::W3 | Workload::W7 => Unit::OpsPerSec,
            Workload::W4 | Workload::W4at | Workload::W5 => Unit::MibPerSec,
            Workload::W6 => Unit::EntriesPerSec,
            Workload::W8unix | Workload::W8tcp => Unit::GibPerSec,
        }
    }

    /// Whether it runs without a 9P server or client.
    pub fn is_physical(self) -> bool {
        matches!(self, Workload::W8unix | Workload::W8tcp)
    }

    /// What one run does, with `sizes`.
    pub fn describe(self, s: &Sizes) -> String {
        let mib = |b: u64| format!("{} MiB", b >> 20);
        match self {
            Workload::W1 => format!("`stat` 3 dirs deep x {}, 1 task", s.w1_ops),
            Workload::W2 => format!("`read` of {} B files x {}", s.small_file, s.w2_files),
            Workload::W3 => format!("`write` of new {} B files x {}", s.small_file, s.w3_files),
            Workload::W4 => format!("whole-file `read` of {}", mib(s.big_file)),
            Workload::W4at => format!("`read_at` {} in {} calls", mib(s.big_file), mib(s.chunk)),
            Workload::W5 => format!(
                "`write_at` {} in {} calls + `sync_all`",
                mib(s.w5_bytes),
                mib(s.chunk)
            ),
            Workload::W6 => format!("`read_dir` of {} entries", s.w6_entries),
            Workload::W7 if s.w7_paths > 1 => format!(
                "{} tasks x {} `stat` of {} files, shared client",
                s.w7_tasks, s.w7_ops, s.w7_paths
            ),
            Workload::W7 => format!("{} tasks x {} `stat`, shared client", s.w7_tasks, s.w7_ops),
            Workload::W8unix => format!("{} through a unix socket pair", mib(s.w8_bytes)),
            Workload::W8tcp => format!("{} through TCP 127.0.0.1", mib(s.w8_bytes)),
        }
    }

    /// Parses a comma-separated list; a group name (`W4`, `W8`) selects all its forms.
    pub fn parse_list(list: &str) -> Result<Vec<Workload>, String> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let picked: Vec<Workload> = Workload::ALL
                .into_iter()
                .filter(|w| {
                    w.name().eq_ignore_ascii_case(item) || w.group().eq_ignore_ascii_case(item)
                })
                .collect();
            if picked.is_empty() {
                return Err(format!(
                    "unknown workload {item:?} (W1..W8, W4at, W8unix, W8tcp)"
                ));
            }
            out.extend(picked);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown workload {s:?}"))
    }
}

/// Counts and sizes of every workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// W1: stats.
    pub w1_ops: u64,
    /// W2: files read.
    pub w2_files: u64,
    /// W3: files written.
    pub w3_files: u64,
    /// W2/W3: bytes per file.
    pub small_file: u64,
    /// W4: bytes of the big file.
    pub big_file: u64,
    /// W5: bytes written.
    pub w5_bytes: u64,
    /// W4at/W5: bytes per call.
    pub chunk: u64,
    /// W6: directory entries.
    pub w6_entries: u64,
    /// W7: tasks.
    pub w7_tasks: u64,
    /// W7: stats per task.
    pub w7_ops: u64,
    /// W7: distinct files stated (task `t` stats file `t % w7_paths`; 1 = all the same).
    pub w7_paths: u64,
    /// W8: bytes through the socket.
    pub w8_bytes: u64,
}

const MIB: u64 = 1 << 20;

impl Sizes {
    /// The sizes the issue gives.
    pub const FULL: Sizes = Sizes {
        w1_ops: 5_000,
        w2_files: 2_000,
        w3_files: 2_000,
        small_file: 4096,
        big_file: 256 * MIB,
        w5_bytes: 256 * MIB,
        chunk: MIB,
        w6_entries: 10_000,
        w7_tasks: 64,
        w7_ops: 500,
        w7_paths: 1,
        w8_bytes: 2048 * MIB,
    };

    /// A smoke run: every workload, a tenth of the work or less.
    pub const QUICK: Sizes = Sizes {
        w1_ops: 500,
        w2_files: 200,
        w3_files: 200,
        small_file: 4096,
        big_file: 16 * MIB,
        w5_bytes: 16 * MIB,
        chunk: MIB,
        w6_entries: 1_000,
        w7_tasks: 64,
        w7_ops: 50,
        w7_paths: 1,
        w8_bytes: 256 * MIB,
    };

    /// Counts and byte totals multiplied by `factor` (at least 1; big sizes stay whole
    /// chunks). The per-file size, chunk and task count do not change.
    pub fn scaled(self, factor: f64) -> Sizes {
        let n = |v: u64| ((v as f64 * factor).round() as u64).max(1);
        let bytes = |v: u64| n(v.div_ceil(self.chunk)) * self.chunk;
        Sizes {
            w1_ops: n(self.w1_ops),
            w2_files: n(self.w2_files),
            w3_files: n(self.w3_files),
            big_file: bytes(self.big_file),
            w5_bytes: bytes(self.w5_bytes),
            w6_entries: n(self.w6_entries),
            w7_ops: n(self.w7_ops),
            w8_bytes: bytes(self.w8_bytes),
            ..self
        }
    }

    fn fields(self) -> [(&'static str, u64); 12] {
        [
            ("w1_ops", self.w1_ops),
            ("w2_files", self.w2_files),
            ("w3_files", self.w3_files),
            ("small_file", self.small_file),
            ("big_file", self.big_file),
            ("w5_bytes", self.w5_bytes),
            ("chunk", self.chunk),
            ("w6_entries", self.w6_entries),
            ("w7_tasks", self.w7_tasks),
            ("w7_ops", self.w7_ops),
            ("w7_paths", self.w7_paths),
            ("w8_bytes", self.w8_bytes),
        ]
    }

    /// `key=value,...`, the form the driver hands to its child runs.
    pub fn to_spec(self) -> String {
        let parts: Vec<String> = self
            .fields()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.join(",")
    }

    /// Parses [`to_spec`](Self::to_spec) output; keys not given keep the full sizes.
    pub fn from_spec(spec: &str) -> Result<Sizes, String> {
        Sizes::FULL.with_spec(spec)
    }

    /// These sizes with the `key=value,...` overrides of `spec`.
    pub fn with_spec(self, spec: &str) -> Result<Sizes, String> {
        let mut s = self;
        for part in spec.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("size {part:?} is not key=value"))?;
            let value: u64 = value
                .parse()
                .map_err(|e| format!("size {key}: {value:?}: {e}"))?;
            if value == 0 {
                return Err(format!("size {key} must be positive"));
            }
            let slot = match key {
                "w1_ops" => &mut s.w1_ops,
                "w2_files" => &mut s.w2_files,
                "w3_files" => &mut s.w3_files,
                "small_file" => &mut s.small_file,
                "big_file" => &mut s.big_file,
                "w5_bytes" => &mut s.w5_bytes,
                "chunk" => &mut s.chunk,
                "w6_entries" => &mut s.w6_entries,
                "w7_tasks" => &mut s.w7_tasks,
                "w7_ops" => &mut s.w7_ops,
                "w7_paths" => &mut s.w7_paths,
                "w8_bytes" => &mut s.w8_bytes,
                other => return Err(format!("unknown size {other:?}")),
            };
            *slot = value;
        }
        if s.chunk > u64::from(u32::MAX) {
            return Err("chunk must fit in u32".into());
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_expand_groups_and_reject_unknown_names() {
        assert_eq!(
            Workload::parse_list("w4,W1,W8").unwrap(),
            [
                Workload::W1,
                Workload::W4,
                Workload::W4at,
                Workload::W8unix,
                Workload::W8tcp
            ]
        );
        assert_eq!(Workload::parse_list("W4at").unwrap(), [Workload::W4at]);
        assert!(Workload::parse_list("W9").is_err());
        for w in Workload::ALL {
            assert_eq!(w.name().parse::<Workload>(), Ok(w));
        }
    }

    #[test]
    fn spec_round_trips_and_validates() {
        for s in [Sizes::FULL, Sizes::QUICK, Sizes::QUICK.scaled(0.3)] {
            assert_eq!(Sizes::from_spec(&s.to_spec()), Ok(s));
        }
        assert_eq!(Sizes::from_spec("w1_ops=7").unwrap().w1_ops, 7);
        let q = Sizes::QUICK.with_spec("w6_entries=3").unwrap();
        assert_eq!((q.w6_entries, q.w1_ops), (3, Sizes::QUICK.w1_ops));
        assert!(Sizes::from_spec("w1_ops=0").is_err());
        assert!(Sizes::from_spec("w1_ops").is_err());
        assert!(Sizes::from_spec("nope=3").is_err());
        assert!(Sizes::from_spec("chunk=x").is_err());
    }

    #[test]
    fn scaling_keeps_whole_chunks_and_positive_counts() {
        let s = Sizes::FULL.scaled(0.001);
        assert_eq!(s.w1_ops, 5);
        assert_eq!(s.w2_files, 2);
        assert_eq!(s.big_file, MIB);
        assert_eq!(s.chunk, MIB);
        assert_eq!(s.w7_tasks, 64);
        let s = Sizes::QUICK.scaled(2.0);
        assert_eq!(s.big_file, 32 * MIB);
        assert_eq!(s.w6_entries, 2_000);
    }
}
