//! The interop matrix: nextest JUnit reports and the conformance skip log in,
//! `docs/INTEROP.md` (and a terminal summary) out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The external columns, in matrix order.
pub const EXTERNAL_COLUMNS: &[&str] = &["diod-tcp", "diod-unix", "zerofs-tcp", "zerofs-unix"];

/// The memserver columns (fixture labels `memserver-<generation>`).
pub const MEM_COLUMNS: &[&str] = &[
    "memserver-plain",
    "memserver-gen1",
    "memserver-gen2",
    "memserver-z",
];

/// Outcome of one test case in a JUnit report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Passed.
    Pass,
    /// Failed (or errored).
    Fail,
}

/// The test cases of one run: `(name, status)`, e.g. `("external::write_read_roundtrip",
/// Pass)`.
pub type RunResult = Vec<(String, Status)>;

/// Reads the `<testcase>` elements of a nextest JUnit report. A test case with a
/// `<failure>` or `<error>` child failed; any other case passed (runs never skip tests:
/// skipping is the scenario's business, recorded in the skip log).
pub fn parse_junit(xml: &str) -> RunResult {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<testcase") {
        rest = &rest[start + "<testcase".len()..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        let body = if tag.ends_with('/') {
            ""
        } else {
            let end = rest.find("</testcase>").unwrap_or(rest.len());
            &rest[tag_end..end]
        };
        let failed = body.contains("<failure") || body.contains("<error");
        out.push((
            unescape(name),
            if failed { Status::Fail } else { Status::Pass },
        ));
    }
    out
}

fn attr<'a>(tag: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!(" {key}=\"");
    let at = tag.find(&pat)? + pat.len();
    let len = tag[at..].find('"')?;
    Some(&tag[at..at + len])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// What a capability check recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipKind {
    /// The whole scenario did not run on that server.
    Whole,
    /// One part of the scenario was not checked there.
    Part,
}

/// `(label, scenario)` → the distinct reasons recorded, by kind.
pub type Skips = BTreeMap<(String, String), BTreeSet<(SkipKind, String)>>;

/// Parses `SKIP|PART <label> <scenario>: <reason>` lines; other lines are ignored.
pub fn parse_skip_log(text: &str) -> Skips {
    let mut out = Skips::new();
    for line in text.lines() {
        let mut words = line.splitn(3, ' ');
        let kind = match words.next() {
            Some("SKIP") => SkipKind::Whole,
            Some("PART") => SkipKind::Part,
            _ => continue,
        };
        let (Some(label), Some(rest)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((scenario, reason)) = rest.split_once(": ") else {
            continue;
        };
        out.entry((label.to_owned(), scenario.to_owned()))
            .or_default()
            .insert((kind, reason.trim().to_owned()));
    }
    out
}

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Passed, every check run.
    Pass,
    /// Passed, with the parts named by these reasons not checked.
    Partial(Vec<usize>),
    /// Skipped for these reasons.
    Skip(Vec<usize>),
    /// Failed.
    Fail,
    /// Not run in this invocation.
    NotRun,
}

/// Scenario × column.
#[derive(Debug)]
pub struct Matrix {
    /// Columns in order (only those that ran).
    pub columns: Vec<String>,
    /// Scenario name → one cell per column.
    pub rows: BTreeMap<String, Vec<Cell>>,
    /// Numbered reasons (1-based in the output).
    pub reasons: Vec<String>,
}

impl Matrix {
    /// Builds the matrix from named runs (`memserver` or an external column label) and the
    /// skip log.
    pub fn build(runs: &[(String, Option<RunResult>)], skips: &Skips) -> Matrix {
        let mut columns: Vec<String> = Vec::new();
        // (column, scenario) → status
        let mut results: BTreeMap<(String, String), Status> = BTreeMap::new();
        for (run, result) in runs {
            let run_columns: Vec<&str> = if run == "memserver" {
                MEM_COLUMNS.to_vec()
            } else {
                vec![run.as_str()]
            };
            columns.extend(run_columns.iter().map(|c| c.to_string()));
            for (name, status) in result.iter().flatten() {
                let Some((module, scenario)) = name.split_once("::") else {
                    continue;
                };
                let column = if run == "memserver" {
                    format!("memserver-{module}")
                } else if module == "external" {
                    run.clone()
                } else {
                    continue;
                };
                if run_columns.contains(&column.as_str()) {
                    results.insert((column, scenario.to_owned()), *status);
                }
            }
        }
        let scenarios: BTreeSet<String> = results.keys().map(|(_, s)| s.clone()).collect();
        let mut reasons: Vec<String> = Vec::new();
        let mut number = |reason: &str| match reasons.iter().position(|r| r == reason) {
            Some(i) => i + 1,
            None => {
                reasons.push(reason.to_owned());
                reasons.len()
            }
        };
        let mut rows = BTreeMap::new();
        for scenario in scenarios {
            let cells = columns
                .iter()
                .map(|col| {
                    let key = (col.clone(), scenario.clone());
                    let Some(status) = results.get(&key) else {
                        return Cell::NotRun;
                    };
                    if *status == Status::Fail {
                        return Cell::Fail;
                    }
                    let recorded = skips.get(&key);
                    let mut of = |kind| -> Vec<usize> {
                        recorded
                            .into_iter()
                            .flatten()
                            .filter(|(k, _)| *k == kind)
                            .map(|(_, r)| number(r))
                            .collect()
                    };
                    let whole = of(SkipKind::Whole);
                    if !whole.is_empty() {
                        return Cell::Skip(whole);
                    }
                    let part = of(SkipKind::Part);
                    if part.is_empty() {
                        Cell::Pass
                    } else {
                        Cell::Partial(part)
                    }
                })
                .collect();
            rows.insert(scenario, cells);
        }
        Matrix {
            columns,
            rows,
            reasons,
        }
    }

    /// Per column: passed (of which partial), skipped, failed.
    pub fn totals(&self) -> Vec<(usize, usize, usize, usize)> {
        (0..self.columns.len())
            .map(|i| {
                let mut t = (0, 0, 0, 0);
                for cells in self.rows.values() {
                    match &cells[i] {
                        Cell::Pass => t.0 += 1,
                        Cell::Partial(_) => {
                            t.0 += 1;
                            t.1 += 1;
                        }
                        Cell::Skip(_) => t.2 += 1,
                        Cell::Fail => t.3 += 1,
                        Cell::NotRun => {}
                    }
                }
                t
            })
            .collect()
    }

    /// Whether any cell failed.
    pub fn any_failed(&self) -> bool {
        self.totals().iter().any(|t| t.3 > 0)
    }

    /// A terminal summary: totals per column, then every failure and skip.
    pub fn summary(&self) -> String {
        let mut out = String::from("interop matrix:\n");
        for (col, (pass, part, skip, fail)) in self.columns.iter().zip(self.totals()) {
            let _ = writeln!(
                out,
                "  {col:<16} {pass} pass ({part} partial), {skip} skip, {fail} FAIL"
            );
        }
        for (scenario, cells) in &self.rows {
            for (col, cell) in self.columns.iter().zip(cells) {
                match cell {
                    Cell::Fail => {
                        let _ = writeln!(out, "  FAIL {col} {scenario}");
                    }
                    Cell::Skip(r) => {
                        let _ = writeln!(out, "  skip {col} {scenario}: {}", self.why(r));
                    }
                    _ => {}
                }
            }
        }
        out
    }

    fn why(&self, numbers: &[usize]) -> String {
        numbers
            .iter()
            .map(|n| self.reasons[n - 1].as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn cell_text(cell: &Cell) -> String {
    let refs = |v: &[usize]| {
        v.iter()
            .map(|n| format!("[{n}](#r{n})"))
            .collect::<Vec<_>>()
            .join(",")
    };
    match cell {
        Cell::Pass => "pass".to_owned(),
        Cell::Partial(v) => format!("pass ({})", refs(v)),
        Cell::Skip(v) => format!("skip ({})", refs(v)),
        Cell::Fail => "**FAIL**".to_owned(),
        Cell::NotRun => "–".to_owned(),
    }
}

fn column_title(col: &str, zerofs_version: &str) -> String {
    match col {
        "memserver-plain" => "mem plain".to_owned(),
        "memserver-gen1" => "mem gen1".to_owned(),
        "memserver-gen2" => "mem gen2".to_owned(),
        "memserver-z" => "mem .Z".to_owned(),
        "diod-tcp" => "diod tcp".to_owned(),
        "diod-unix" => "diod unix".to_owned(),
        "zerofs-tcp" => format!("ZeroFS {zerofs_version} tcp"),
        "zerofs-unix" => format!("ZeroFS {zerofs_version} unix"),
        other => other.to_owned(),
    }
}

/// The whole of `docs/INTEROP.md`.
pub fn render_doc(m: &Matrix, diod_version: &str, zerofs_version: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "# Interoperability matrix\n\n\
         <!-- Generated by `cargo xtask interop --report`; do not edit by hand. -->\n\n\
         Every conformance scenario of `tests/` (crate `zerofs-conformance`) against the \
         in-memory server at each generation and against two real 9P2000.L servers no one \
         here wrote: diod {diod_version} (Debian) and ZeroFS {zerofs_version} (crate \
         registry, `file://` store), each over TCP on 127.0.0.1 and over a unix socket. \
         `cargo xtask interop` (a step of `cargo xtask ci`) runs the real-server columns on \
         every CI run; `--report` also runs the memserver columns and rewrites this file.\n\n\
         A scenario that cannot hold on a server (a server limitation, not a client bug) \
         skips itself, or the part concerned, through an explicit capability check that \
         records its reason; the numbers link to those reasons.\n\n\
         - **pass**: every check ran and held.\n\
         - **pass (n)**: passed; the part named by reason n was not checked there.\n\
         - **skip (n)**: not run there, for reason n.\n\
         - **FAIL**: failed.\n\
         - **–**: not run.\n\n"
    );
    out.push_str("| scenario |");
    for col in &m.columns {
        let _ = write!(out, " {} |", column_title(col, zerofs_version));
    }
    out.push_str("\n|---|");
    for _ in &m.columns {
        out.push_str("---|");
    }
    out.push('\n');
    for (scenario, cells) in &m.rows {
        let _ = write!(out, "| `{scenario}` |");
        for cell in cells {
            let _ = write!(out, " {} |", cell_text(cell));
        }
        out.push('\n');
    }
    out.push_str("| **passed / skipped / failed** |");
    for (pass, _, skip, fail) in m.totals() {
        let _ = write!(out, " {pass} / {skip} / {fail} |");
    }
    out.push_str("\n\n## Reasons\n\n");
    if m.reasons.is_empty() {
        out.push_str("No scenario skipped anything.\n");
    }
    for (i, reason) in m.reasons.iter().enumerate() {
        let n = i + 1;
        let _ = writeln!(out, "{n}. <a id=\"r{n}\"></a>{reason}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="3" failures="1" errors="0">
  <testsuite name="zerofs-conformance::conformance" tests="3">
    <testcase name="external::a_ok" classname="zerofs-conformance::conformance" time="0.1">
    </testcase>
    <testcase name="external::b_bad" classname="zerofs-conformance::conformance" time="0.1">
      <failure message="test failed" type="test failure">boom</failure>
    </testcase>
    <testcase name="external::c_skipped_inside" classname="x" time="0.1"/>
  </testsuite>
</testsuites>"#;

    #[test]
    fn junit_cases_and_failures() {
        let r = parse_junit(JUNIT);
        assert_eq!(
            r,
            vec![
                ("external::a_ok".to_owned(), Status::Pass),
                ("external::b_bad".to_owned(), Status::Fail),
                ("external::c_skipped_inside".to_owned(), Status::Pass),
            ]
        );
        assert!(parse_junit("<testcase").is_empty());
    }

    #[test]
    fn skip_log_lines() {
        let s = parse_skip_log(
            "SKIP diod-tcp c_skipped_inside: needs faults\n\
             PART diod-tcp a_ok: no literal stat\n\
             PART diod-tcp a_ok: no literal stat\n\
             garbage line\nSKIP short\n",
        );
        assert_eq!(s.len(), 2);
        let a = &s[&("diod-tcp".to_owned(), "a_ok".to_owned())];
        assert_eq!(a.len(), 1, "duplicates collapse");
    }

    #[test]
    fn matrix_cells_totals_and_doc() {
        let runs = vec![
            (
                "memserver".to_owned(),
                Some(vec![
                    ("plain::a_ok".to_owned(), Status::Pass),
                    ("z::a_ok".to_owned(), Status::Pass),
                ]),
            ),
            ("diod-tcp".to_owned(), Some(parse_junit(JUNIT))),
            ("diod-unix".to_owned(), None),
        ];
        let skips = parse_skip_log(
            "SKIP diod-tcp c_skipped_inside: needs faults\nPART diod-tcp a_ok: literal\n",
        );
        let m = Matrix::build(&runs, &skips);
        assert_eq!(m.columns.len(), 6);
        let d = 4; // diod-tcp
        assert_eq!(m.rows["a_ok"][0], Cell::Pass);
        assert_eq!(m.rows["a_ok"][1], Cell::NotRun);
        assert!(matches!(m.rows["a_ok"][d], Cell::Partial(_)));
        assert_eq!(m.rows["b_bad"][d], Cell::Fail);
        assert!(matches!(m.rows["c_skipped_inside"][d], Cell::Skip(_)));
        assert_eq!(m.rows["a_ok"][5], Cell::NotRun);
        assert_eq!(m.totals()[d], (1, 1, 1, 1));
        assert!(m.any_failed());
        let doc = render_doc(&m, "1.0", "0.19.1");
        assert!(doc.contains("| `b_bad` |"));
        assert!(doc.contains("**FAIL**"));
        assert!(doc.contains("needs faults"));
        assert!(m.summary().contains("FAIL diod-tcp b_bad"));
    }
}
