//! Line coverage of a suite run under pytest-cov: the arguments planrun adds and the JSON report
//! (coverage.py's `json` format) it reads back, as the percent of lines and per file.
//!
//! planrun's own code is not the project's: the live plugin (and anything else under
//! `.planrun/`) is dropped from the report, and so are the lines of the `mark` hook block in a
//! `conftest.py`, before the figures are computed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::process::shell::quote;

/// The coverage report's file name in a run's junit directory.
pub const REPORT: &str = "coverage.json";

/// coverage.py's data file, kept in the run's junit directory so the target gets none.
pub const DATA: &str = ".coverage";

/// The coverage of one run (or the record's, the lowest over its counted runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Percent of the measured statements (and branches, when measured) that ran, 0 to 100,
    /// as pytest-cov prints it.
    pub percent: f64,
    /// Statements measured.
    pub statements: u64,
    /// Statements that never ran.
    pub missing: u64,
    /// Each measured file (relative to the target) and its figures.
    pub files: BTreeMap<String, FileCoverage>,
}

/// One file's coverage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileCoverage {
    /// Percent covered, 0 to 100.
    pub percent: f64,
    /// Statements measured.
    pub statements: u64,
    /// Statements that never ran.
    pub missing: u64,
}

#[derive(Deserialize)]
struct Json {
    totals: Summary,
    #[serde(default)]
    files: BTreeMap<String, JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    summary: Summary,
}

#[derive(Deserialize)]
struct Summary {
    percent_covered: f64,
    #[serde(default)]
    num_statements: u64,
    #[serde(default)]
    missing_lines: u64,
}

/// The pytest arguments that measure coverage of `sources` (none: the project's own coverage
/// configuration decides) and write the JSON report into `dir`.
pub fn args(sources: &[String], dir: &Path) -> String {
    let mut args = if sources.is_empty() {
        vec!["--cov".to_string()]
    } else {
        sources
            .iter()
            .map(|s| format!("--cov={}", quote(s)))
            .collect()
    };
    let report = dir.join(REPORT).display().to_string();
    args.push(format!("--cov-report=json:{}", quote(&report)));
    args.join(" ")
}

/// Parses coverage.py's JSON report.
pub fn parse(text: &str) -> Result<Coverage, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let figure = |s: &Summary| {
        (
            finite_percent(s.percent_covered),
            s.num_statements,
            s.missing_lines,
        )
    };
    let (percent, statements, missing) = figure(&json.totals);
    Ok(Coverage {
        percent,
        statements,
        missing,
        files: json
            .files
            .iter()
            .map(|(path, f)| {
                let (percent, statements, missing) = figure(&f.summary);
                (
                    path.clone(),
                    FileCoverage {
                        percent,
                        statements,
                        missing,
                    },
                )
            })
            .collect(),
    })
}

fn finite_percent(p: f64) -> f64 {
    if p.is_finite() {
        p.clamp(0.0, 100.0)
    } else {
        0.0
    }
}

/// Reads the report a run wrote into `dir`, the suite having run in `cwd`, without planrun's own
/// code (see [`without_planrun`]); `None` when there is none or it cannot be read (the reason
/// goes to the log).
pub fn read(dir: &Path, cwd: &Path) -> Option<Coverage> {
    let path = dir.join(REPORT);
    let text = std::fs::read_to_string(&path).ok()?;
    let text = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut json) => {
            without_planrun(&mut json, cwd);
            json.to_string()
        }
        Err(_) => text,
    };
    match parse(&text) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!("cannot read `{}`: {e}", path.display());
            None
        }
    }
}

/// Removes planrun's own code from a coverage.py JSON report of a run in `cwd`: every file under
/// `cwd/.planrun/` (the live plugin lives there), and in each `conftest.py` the lines of the
/// `mark` hook block; the summaries and totals are recomputed from what is left.
pub fn without_planrun(json: &mut serde_json::Value, cwd: &Path) {
    use serde_json::Value;
    let state = cwd.join(crate::fsutil::STATE_DIR);
    let Some(files) = json.get_mut("files").and_then(Value::as_object_mut) else {
        return;
    };
    let mut dropped = Summed::default();
    files.retain(|name, file| {
        let path = cwd.join(name);
        let ours = Path::new(name)
            .components()
            .any(|c| c.as_os_str() == crate::fsutil::STATE_DIR);
        if ours || path.starts_with(&state) {
            dropped.add(&Summed::of(file));
            return false;
        }
        if path.file_name().is_some_and(|n| n == "conftest.py") {
            if let Some(block) = hook_lines(&path) {
                let before = Summed::of(file);
                for key in ["executed_lines", "missing_lines", "excluded_lines"] {
                    if let Some(lines) = file.get_mut(key).and_then(Value::as_array_mut) {
                        lines.retain(|l| l.as_u64().is_none_or(|l| !block.contains(&l)));
                    }
                }
                let count = |key: &str| file.get(key).and_then(Value::as_array).map(Vec::len);
                if let (Some(executed), Some(missing)) =
                    (count("executed_lines"), count("missing_lines"))
                {
                    let after = Summed {
                        statements: (executed + missing) as u64,
                        missing: missing as u64,
                        ..before
                    };
                    dropped.add(&before.minus(&after));
                    after.write(file);
                }
            }
        }
        true
    });
    if dropped == Summed::default() {
        return;
    }
    if let Some(totals) = json.get_mut("totals") {
        let mut holder = serde_json::json!({ "summary": totals.take() });
        let now = Summed::of(&holder).minus(&dropped);
        now.write(&mut holder);
        *totals = holder["summary"].take();
    }
}

/// The 1-based lines of the `mark` hook block in the file at `path`, markers included.
fn hook_lines(path: &Path) -> Option<std::ops::RangeInclusive<u64>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut begin = None;
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim_start().starts_with(crate::edit::markers::BEGIN) {
            begin = Some(n);
        } else if line.trim() == crate::edit::markers::END {
            return begin.map(|b| b..=n);
        }
    }
    None
}

/// The counts of one summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Summed {
    statements: u64,
    missing: u64,
    branches: u64,
    covered_branches: u64,
}

impl Summed {
    /// The counts of a file (or a `{"summary": ...}` holder).
    fn of(file: &serde_json::Value) -> Summed {
        let n = |key: &str| file["summary"][key].as_u64().unwrap_or(0);
        Summed {
            statements: n("num_statements"),
            missing: n("missing_lines"),
            branches: n("num_branches"),
            covered_branches: n("covered_branches"),
        }
    }

    fn add(&mut self, o: &Summed) {
        self.statements += o.statements;
        self.missing += o.missing;
        self.branches += o.branches;
        self.covered_branches += o.covered_branches;
    }

    fn minus(&self, o: &Summed) -> Summed {
        Summed {
            statements: self.statements.saturating_sub(o.statements),
            missing: self.missing.saturating_sub(o.missing),
            branches: self.branches.saturating_sub(o.branches),
            covered_branches: self.covered_branches.saturating_sub(o.covered_branches),
        }
    }

    /// Writes the counts and the percent as coverage.py computes it (lines and branches).
    fn write(&self, file: &mut serde_json::Value) {
        let covered = self.statements - self.missing.min(self.statements);
        let whole = self.statements + self.branches;
        let percent = if whole == 0 {
            100.0
        } else {
            100.0 * (covered + self.covered_branches) as f64 / whole as f64
        };
        let summary = &mut file["summary"];
        summary["num_statements"] = self.statements.into();
        summary["missing_lines"] = self.missing.into();
        summary["covered_lines"] = covered.into();
        summary["percent_covered"] = percent.into();
    }
}

/// The files with the lowest coverage first (ties by path), at most `n`.
pub fn lowest(coverage: &Coverage, n: usize) -> Vec<(&str, &FileCoverage)> {
    let mut files: Vec<(&str, &FileCoverage)> = coverage
        .files
        .iter()
        .map(|(p, f)| (p.as_str(), f))
        .collect();
    files.sort_by(|a, b| a.1.percent.total_cmp(&b.1.percent).then(a.0.cmp(b.0)));
    files.truncate(n);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from what pytest-cov 7.1 (coverage 7.17) writes with `--cov-report=json:PATH`.
    const REPORT_JSON: &str = r#"{"meta": {"format": 3, "version": "7.17.5"},
      "files": {
        "shop/cart.py": {"executed_lines": [1, 2], "summary": {"covered_lines": 9, "num_statements": 10, "percent_covered": 90.0, "percent_covered_display": "90", "missing_lines": 1, "excluded_lines": 0}},
        "shop/tax.py": {"summary": {"covered_lines": 2, "num_statements": 4, "percent_covered": 50.0, "missing_lines": 2, "excluded_lines": 0}}
      },
      "totals": {"covered_lines": 11, "num_statements": 14, "percent_covered": 78.57142857142857, "percent_covered_display": "79", "missing_lines": 3, "excluded_lines": 0}}"#;

    #[test]
    fn the_json_report_gives_the_percent_and_each_file() {
        let c = parse(REPORT_JSON).unwrap();
        assert!((c.percent - 78.5714).abs() < 1e-3);
        assert_eq!((c.statements, c.missing), (14, 3));
        assert_eq!(c.files["shop/tax.py"].percent, 50.0);
        let low: Vec<&str> = lowest(&c, 1).into_iter().map(|(p, _)| p).collect();
        assert_eq!(low, ["shop/tax.py"]);
        assert!(parse("{}").is_err());
        assert!(parse("not json").is_err());
    }

    /// pytest-cov's report of a run that loaded the live plugin and a conftest with the hook.
    #[test]
    fn planruns_plugin_and_hook_are_not_the_projects_coverage() {
        let t = tempfile::tempdir().unwrap();
        let conftest = "import os\n# >>> planrun mark: x\ndef hook():\n    pass\n# <<< planrun mark <<<\nX = 1\n";
        std::fs::write(t.path().join("conftest.py"), conftest).unwrap();
        let json = r#"{"files": {
            ".planrun/journal/r/junit/baseline-1/planrun_live.py": {"executed_lines": [1, 2, 3], "missing_lines": [4], "summary": {"covered_lines": 3, "num_statements": 4, "percent_covered": 75.0, "missing_lines": 1}},
            "conftest.py": {"executed_lines": [1, 3, 6], "missing_lines": [4], "summary": {"covered_lines": 3, "num_statements": 4, "percent_covered": 75.0, "missing_lines": 1}},
            "shop/cart.py": {"executed_lines": [1], "missing_lines": [2], "summary": {"covered_lines": 1, "num_statements": 2, "percent_covered": 50.0, "missing_lines": 1}}},
          "totals": {"covered_lines": 7, "num_statements": 10, "percent_covered": 70.0, "missing_lines": 3}}"#;
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        without_planrun(&mut value, t.path());
        let c = parse(&value.to_string()).unwrap();
        let files: Vec<&str> = c.files.keys().map(String::as_str).collect();
        assert_eq!(files, ["conftest.py", "shop/cart.py"]);
        assert_eq!(
            (
                c.files["conftest.py"].statements,
                c.files["conftest.py"].missing
            ),
            (2, 0)
        );
        assert_eq!((c.statements, c.missing), (4, 1));
        assert!((c.percent - 75.0).abs() < 1e-9, "{}", c.percent);
    }

    #[test]
    fn args_measure_the_sources_and_write_json_into_the_run_dir() {
        let dir = Path::new("/r/junit");
        assert_eq!(
            args(&[], dir),
            "--cov --cov-report=json:/r/junit/coverage.json"
        );
        // What the shell hands pytest: each source whole, whatever it holds.
        let line = args(&["shop".into(), "it's $x".into()], Path::new("/r/a b"));
        assert_eq!(
            shlex::split(&line).unwrap(),
            [
                "--cov=shop",
                "--cov=it's $x",
                "--cov-report=json:/r/a b/coverage.json"
            ]
        );
    }
}
