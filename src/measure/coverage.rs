//! Line coverage of a suite run under pytest-cov: the arguments planrun adds and the JSON report
//! (coverage.py's `json` format) it reads back, as the percent of lines and per file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

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

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
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

/// Reads the report a run wrote into `dir`; `None` when there is none or it cannot be read
/// (the reason goes to the log).
pub fn read(dir: &Path) -> Option<Coverage> {
    let path = dir.join(REPORT);
    let text = std::fs::read_to_string(&path).ok()?;
    match parse(&text) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!("cannot read `{}`: {e}", path.display());
            None
        }
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

    #[test]
    fn args_measure_the_sources_and_write_json_into_the_run_dir() {
        let dir = Path::new("/r/junit");
        assert_eq!(
            args(&[], dir),
            "--cov --cov-report=json:'/r/junit/coverage.json'"
        );
        assert_eq!(
            args(&["shop".into(), "it's".into()], dir),
            r"--cov='shop' --cov='it'\''s' --cov-report=json:'/r/junit/coverage.json'"
        );
    }
}
