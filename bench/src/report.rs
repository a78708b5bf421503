//! Results of every run, their medians, and the Markdown report.

use std::collections::BTreeMap;

use crate::child::ClientKind;
use crate::outcome::Outcome;
use crate::servers::{Frames, ServerKind};
use crate::stats::median;
use crate::table::Table;
use crate::workload::{Sizes, Unit, Workload};

/// One successful run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// What the child measured.
    pub outcome: Outcome,
    /// Frames the memserver received during the timed part (memserver only).
    pub frames: Option<Frames>,
}

/// Every repetition of one (server, workload, client) cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Successful runs.
    pub runs: Vec<Run>,
    /// Failed runs' messages.
    pub errors: Vec<String>,
    /// Why the cell was not measured at all, e.g. "n/a: reference client cannot connect".
    pub na: Option<String>,
}

/// Medians over a [`Series`].
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Median rate in the workload's [`Unit`].
    pub rate: f64,
    /// Median of the runs' p50 latencies, µs.
    pub p50_us: Option<f64>,
    /// Median of the runs' p99 latencies, µs.
    pub p99_us: Option<f64>,
    /// Median peak RSS, MiB.
    pub rss_mib: f64,
    /// Median frames per operation (memserver only).
    pub frames_per_op: Option<f64>,
    /// Median frames per operation by message type (memserver only).
    pub by_type: BTreeMap<String, f64>,
}

/// The rate of one outcome in `unit`.
pub fn rate(o: &Outcome, unit: Unit) -> f64 {
    match unit {
        Unit::OpsPerSec | Unit::EntriesPerSec => o.items_per_sec(),
        Unit::MibPerSec => o.bytes_per_sec() / (1u64 << 20) as f64,
        Unit::GibPerSec => o.bytes_per_sec() / (1u64 << 30) as f64,
    }
}

impl Series {
    /// Medians over the successful runs, if any.
    pub fn summary(&self, w: Workload) -> Option<Summary> {
        if self.runs.is_empty() {
            return None;
        }
        let of = |f: &dyn Fn(&Run) -> Option<f64>| {
            median(&self.runs.iter().filter_map(f).collect::<Vec<_>>())
        };
        let mut types: Vec<&String> = self
            .runs
            .iter()
            .filter_map(|r| r.frames.as_ref())
            .flat_map(|f| f.keys())
            .collect();
        types.sort();
        types.dedup();
        let by_type = types
            .into_iter()
            .filter_map(|ty| {
                let per_op = |r: &Run| {
                    let f = r.frames.as_ref()?;
                    Some(f.get(ty).copied().unwrap_or(0) as f64 / r.outcome.ops.max(1) as f64)
                };
                Some((ty.clone(), of(&per_op)?))
            })
            .collect();
        Some(Summary {
            rate: of(&|r| Some(rate(&r.outcome, w.unit())))?,
            p50_us: of(&|r| r.outcome.p50_us),
            p99_us: of(&|r| r.outcome.p99_us),
            rss_mib: of(&|r| Some(r.outcome.rss_kib as f64 / 1024.0))?,
            frames_per_op: of(&|r| {
                let total: u64 = r.frames.as_ref()?.values().sum();
                Some(total as f64 / r.outcome.ops.max(1) as f64)
            }),
            by_type,
        })
    }

    /// The text of a cell with no summary: why it is missing.
    pub fn missing(&self) -> String {
        if let Some(na) = &self.na {
            return na.clone();
        }
        match self.errors.first() {
            Some(e) => format!("failed: {}", shorten(e, 100)),
            None => "not run".into(),
        }
    }
}

/// `s` cut to `max` characters (with `…` when cut).
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// A number with three significant figures (at most), and thousands as `k`.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v >= 100_000.0 {
        return format!("{:.0}k", v / 1000.0);
    }
    if v >= 10_000.0 {
        return format!("{:.1}k", v / 1000.0);
    }
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Every result of a comparison.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Client workloads by (server, workload, client).
    pub cells: BTreeMap<(ServerKind, Workload, ClientKind), Series>,
    /// W8 by workload.
    pub physical: BTreeMap<Workload, Series>,
}

impl Results {
    /// The series of one cell (created empty).
    pub fn cell(&mut self, s: ServerKind, w: Workload, c: ClientKind) -> &mut Series {
        self.cells.entry((s, w, c)).or_default()
    }

    fn summary(&self, s: ServerKind, w: Workload, c: ClientKind) -> Option<Summary> {
        self.cells.get(&(s, w, c))?.summary(w)
    }

    /// A cell: `f` of the summary, else why it is missing (`why`) or `-`.
    fn text(
        &self,
        s: ServerKind,
        w: Workload,
        c: ClientKind,
        why: bool,
        f: impl Fn(&Summary) -> String,
    ) -> String {
        match self.cells.get(&(s, w, c)) {
            Some(series) if !why && series.runs.is_empty() => "-".into(),
            None => "not run".into(),
            Some(series) => match series.summary(w) {
                Some(sum) => {
                    let mut t = f(&sum);
                    if !series.errors.is_empty() {
                        t.push_str(&format!(" ({} failed)", series.errors.len()));
                    }
                    t
                }
                None => series.missing(),
            },
        }
    }

    /// ours/theirs of the median rates.
    pub fn ratio(&self, s: ServerKind, w: Workload) -> Option<f64> {
        let ours = self.summary(s, w, ClientKind::Ours)?;
        let theirs = self.summary(s, w, ClientKind::Theirs)?;
        (theirs.rate > 0.0).then(|| ours.rate / theirs.rate)
    }

    /// The servers with any cell.
    fn servers(&self) -> Vec<ServerKind> {
        let mut v: Vec<ServerKind> = self.cells.keys().map(|k| k.0).collect();
        v.dedup();
        v
    }

    fn workloads(&self, s: ServerKind) -> Vec<Workload> {
        let mut v: Vec<Workload> = self
            .cells
            .keys()
            .filter(|k| k.0 == s)
            .map(|k| k.1)
            .collect();
        v.dedup();
        v
    }

    /// The main table of one server.
    pub fn server_table(&self, s: ServerKind, sizes: &Sizes) -> Table {
        let mut t = Table::new([
            "workload",
            "what",
            "ours",
            "theirs",
            "ours/theirs",
            "p50 / p99 µs ours",
            "p50 / p99 µs theirs",
            "peak RSS MiB ours",
            "peak RSS MiB theirs",
        ]);
        for w in self.workloads(s) {
            let rate = |c| {
                self.text(s, w, c, true, |m| {
                    format!("{} {}", num(m.rate), w.unit().label())
                })
            };
            let lat = |c| {
                self.text(s, w, c, false, |m| match (m.p50_us, m.p99_us) {
                    (Some(a), Some(b)) => format!("{} / {}", num(a), num(b)),
                    _ => "-".into(),
                })
            };
            let rss = |c| self.text(s, w, c, false, |m| num(m.rss_mib));
            t.row([
                w.name().to_owned(),
                w.describe(sizes),
                rate(ClientKind::Ours),
                rate(ClientKind::Theirs),
                self.ratio(s, w).map_or("-".into(), |r| format!("{r:.2}x")),
                lat(ClientKind::Ours),
                lat(ClientKind::Theirs),
                rss(ClientKind::Ours),
                rss(ClientKind::Theirs),
            ]);
        }
        t
    }

    /// Frames per operation on the memservers, with the message types.
    pub fn round_trip_table(&self) -> Table {
        let mut t = Table::new([
            "server",
            "workload",
            "client",
            "frames/op",
            "by type (per op)",
        ]);
        for (&(s, w, c), series) in &self.cells {
            let Some(sum) = series.summary(w) else {
                continue;
            };
            let Some(total) = sum.frames_per_op else {
                continue;
            };
            let mut types: Vec<(&String, &f64)> =
                sum.by_type.iter().filter(|(_, v)| **v > 0.0).collect();
            types.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
            let detail: Vec<String> = types
                .iter()
                .map(|(k, v)| format!("{k} {}", num(**v)))
                .collect();
            t.row([
                s.name().into(),
                w.name().into(),
                c.name().into(),
                num(total),
                detail.join(", "),
            ]);
        }
        t
    }

    /// W8's table.
    pub fn physical_table(&self, sizes: &Sizes) -> Table {
        let mut t = Table::new(["workload", "what", "median", "runs"]);
        for (&w, series) in &self.physical {
            let median = series.summary(w).map_or_else(
                || series.missing(),
                |m| format!("{} {}", num(m.rate), w.unit().label()),
            );
            let runs: Vec<String> = series
                .runs
                .iter()
                .map(|r| num(rate(&r.outcome, w.unit())))
                .collect();
            t.row([w.name().into(), w.describe(sizes), median, runs.join(", ")]);
        }
        t
    }

    /// Why a ratio is missing: the first client cell's `n/a` reason, else "not measured".
    fn why_unmeasured(&self, s: ServerKind, w: Workload) -> String {
        ClientKind::BOTH
            .into_iter()
            .filter_map(|c| self.cells.get(&(s, w, c)))
            .find_map(|series| series.runs.is_empty().then(|| series.na.clone()).flatten())
            .unwrap_or_else(|| "not measured".into())
    }

    /// W8 unix bandwidth in MiB/s, if measured.
    fn w8_unix_mib(&self) -> Option<f64> {
        let series = self.physical.get(&Workload::W8unix)?;
        Some(series.summary(Workload::W8unix)?.rate * 1024.0)
    }

    /// Every target of the issue that this run measured, met or missed.
    pub fn target_table(&self, sizes: &Sizes) -> Table {
        let mut t = Table::new(["target", "server", "measured", "verdict"]);
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" }.to_owned();
        for s in self.servers() {
            for w in self.workloads(s) {
                let need = match w {
                    Workload::W4 | Workload::W4at | Workload::W5 => Some(3.0),
                    Workload::W1 | Workload::W2 | Workload::W3 | Workload::W6 => {
                        Some(if s.is_memserver() { 1.2 } else { 1.0 })
                    }
                    Workload::W7 => Some(1.5),
                    Workload::W8unix | Workload::W8tcp => None,
                };
                let Some(need) = need else { continue };
                let (measured, v) = match self.ratio(s, w) {
                    Some(r) => (format!("{r:.2}x"), verdict(r >= need)),
                    None => ("-".into(), self.why_unmeasured(s, w)),
                };
                t.row([
                    format!("{w} ours/theirs >= {need}x"),
                    s.name().into(),
                    measured,
                    v,
                ]);
                if s.is_memserver() && matches!(w, Workload::W4 | Workload::W4at | Workload::W5) {
                    let (measured, v) =
                        match (self.summary(s, w, ClientKind::Ours), self.w8_unix_mib()) {
                            (Some(m), Some(limit)) if limit > 0.0 => {
                                let share = m.rate / limit;
                                (
                                    format!(
                                        "{:.0}% ({} of {} MiB/s)",
                                        share * 100.0,
                                        num(m.rate),
                                        num(limit)
                                    ),
                                    verdict(share >= 0.5),
                                )
                            }
                            _ => ("-".into(), "not measured".into()),
                        };
                    t.row([
                        format!("{w} ours >= 50% of W8unix"),
                        s.name().into(),
                        measured,
                        v,
                    ]);
                }
                if w == Workload::W4 {
                    let limit = 1.3 * sizes.big_file as f64 / (1u64 << 20) as f64;
                    let (measured, v) = match self.summary(s, w, ClientKind::Ours) {
                        Some(m) => (
                            format!("{} MiB (limit {})", num(m.rss_mib), num(limit)),
                            verdict(m.rss_mib < limit),
                        ),
                        None => ("-".into(), "not measured".into()),
                    };
                    t.row([
                        "W4 ours peak RSS < 1.3x file".to_owned(),
                        s.name().into(),
                        measured,
                        v,
                    ]);
                }
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(items: u64, bytes: u64, secs: u64, rss_mib: u64, frames: Option<&[(&str, u64)]>) -> Run {
        let mut outcome = Outcome::new(
            items,
            items,
            bytes,
            Duration::from_secs(secs),
            &[Duration::from_micros(40)],
        );
        outcome.rss_kib = rss_mib * 1024;
        Run {
            outcome,
            frames: frames.map(|f| f.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()),
        }
    }

    #[test]
    fn numbers_keep_three_figures() {
        assert_eq!(num(123_456.0), "123k");
        assert_eq!(num(12_345.0), "12.3k");
        assert_eq!(num(1234.4), "1234");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(f64::NAN), "-");
    }

    #[test]
    fn summary_takes_medians_and_frames_per_op() {
        let series = Series {
            runs: vec![
                run(1000, 0, 1, 10, Some(&[("Twalk", 1000), ("Tclunk", 1000)])),
                run(1000, 0, 2, 30, Some(&[("Twalk", 1000), ("Tclunk", 3000)])),
                run(1000, 0, 4, 20, Some(&[("Twalk", 1000)])),
            ],
            ..Series::default()
        };
        let s = series.summary(Workload::W1).unwrap();
        assert_eq!(s.rate, 500.0);
        assert_eq!(s.rss_mib, 20.0);
        assert_eq!(s.p50_us, Some(40.0));
        assert_eq!(s.frames_per_op, Some(2.0));
        assert_eq!(s.by_type["Twalk"], 1.0);
        assert_eq!(s.by_type["Tclunk"], 1.0);
        assert_eq!(Series::default().summary(Workload::W1), None);
        assert_eq!(Series::default().missing(), "not run");
    }

    #[test]
    fn tables_show_ratios_gaps_and_targets() {
        let sizes = Sizes::QUICK;
        let mut r = Results::default();
        let mib = 1u64 << 20;
        r.cell(ServerKind::MemGen2, Workload::W4, ClientKind::Ours)
            .runs
            .push(run(1, 1024 * mib, 1, 20, Some(&[("Tread", 64)])));
        r.cell(ServerKind::MemGen2, Workload::W4, ClientKind::Theirs)
            .runs
            .push(run(1, 256 * mib, 1, 40, Some(&[("Tread", 260)])));
        r.cell(ServerKind::Diod, Workload::W1, ClientKind::Ours)
            .errors
            .push("boom".into());
        r.cell(ServerKind::Diod, Workload::W1, ClientKind::Theirs)
            .na = Some("n/a: reference client cannot connect".into());
        r.physical
            .entry(Workload::W8unix)
            .or_default()
            .runs
            .push(run(1, 2048 * mib, 1, 5, None));

        assert_eq!(r.ratio(ServerKind::MemGen2, Workload::W4), Some(4.0));
        let mem = r.server_table(ServerKind::MemGen2, &sizes).render();
        assert!(mem.contains("| 1024 MiB/s"), "{mem}");
        assert!(mem.contains("| 4.00x"), "{mem}");
        let diod = r.server_table(ServerKind::Diod, &sizes).render();
        assert!(diod.contains("failed: boom"), "{diod}");
        assert!(
            diod.contains("n/a: reference client cannot connect"),
            "{diod}"
        );

        let rt = r.round_trip_table().render();
        assert!(
            rt.contains("| memserver-gen2 | W4       | ours   | 64"),
            "{rt}"
        );
        assert!(rt.contains("Tread 260"), "{rt}");

        let targets = r.target_table(&sizes).render();
        assert!(targets.contains("| W4 ours/theirs >= 3x"), "{targets}");
        assert!(targets.contains("| 4.00x"), "{targets}");
        let row = |needle: &str| {
            targets
                .lines()
                .find(|l| l.contains(needle))
                .unwrap_or("")
                .to_owned()
        };
        assert!(
            row("50% (1024 of 2048 MiB/s)").contains("| met"),
            "{targets}"
        );
        assert!(row("20.0 MiB (limit 20.8)").contains("| met"), "{targets}");
        assert!(row("W1 ours/theirs >= 1x").contains("| diod"), "{targets}");
        assert!(
            row("W1 ours/theirs >= 1x").contains("n/a: reference client cannot connect"),
            "{targets}"
        );
        assert!(!targets.contains("not measured"), "{targets}");

        let w8 = r.physical_table(&sizes).render();
        assert!(w8.contains("| 2.00 GiB/s"), "{w8}");
    }
}
