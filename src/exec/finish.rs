//! The end of an apply: the reports written and copied, CI told, the verdict printed.

use std::path::Path;

use crate::error::{Error, Result};
use crate::exec::apply::ApplyOptions;
use crate::report::model::{GateStatus, RunReport, RunStatus};
use crate::ui::{self, Style};

/// Whether CI mode is on: `--ci` or `CI=true`.
pub fn ci_mode(flag: bool) -> bool {
    flag || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Writes the final reports, copies them, feeds CI, and prints the closing lines.
pub fn publish(report: &RunReport, run_dir: &Path, opts: &ApplyOptions, code: u8) -> Result<()> {
    crate::report::write::write_all(run_dir, report).map_err(|e| {
        Error::io(
            format!("failed to write the reports in `{}`", run_dir.display()),
            e,
        )
    })?;
    if let Some(dest) = &opts.report_dir {
        crate::report::write::copy_to(run_dir, dest).map_err(|e| {
            Error::io(
                format!("failed to copy the reports to `{}`", dest.display()),
                e,
            )
        })?;
    }
    if ci_mode(opts.ci) {
        let markdown = crate::report::markdown::to_markdown(report);
        let summary = std::env::var_os("GITHUB_STEP_SUMMARY");
        if let Err(e) = crate::report::github::append_step_summary(&markdown, summary.as_deref()) {
            ui::warn(&format!("cannot append to GITHUB_STEP_SUMMARY: {e}"));
        }
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            for line in crate::report::github::annotations(report) {
                // With --json stdout is the report alone; the runner reads commands on stderr too.
                if opts.json {
                    ui::err(&line);
                } else {
                    ui::out(&line);
                }
            }
        }
    }
    if opts.json {
        ui::out(&crate::report::json::to_json(report));
    }
    print_verdict(report, run_dir, code);
    Ok(())
}

fn print_verdict(report: &RunReport, run_dir: &Path, code: u8) {
    let color = ui::stderr_color();
    if let Some(line) = records_line(report) {
        ui::err(&line);
    }
    let passed = report
        .gates
        .iter()
        .filter(|g| g.status == GateStatus::Pass)
        .count();
    let evaluated = report
        .gates
        .iter()
        .filter(|g| g.status != GateStatus::NotEvaluated)
        .count();
    let (word, style) = match report.status {
        RunStatus::Passed => ("applied", Style::BoldGreen),
        RunStatus::GateFailed => ("gate failed, rolled back", Style::BoldRed),
        RunStatus::StepFailed => ("step failed, rolled back", Style::BoldRed),
        RunStatus::Interrupted => ("interrupted, rolled back", Style::BoldYellow),
        RunStatus::RollbackFailed => ("ROLLBACK FAILED", Style::BoldRed),
        RunStatus::Running => ("running", Style::Dim),
    };
    ui::err(&format!(
        "{} in {:.1}s: {passed}/{evaluated} gates passed, {} files changed (+{} -{}); exit {code}",
        ui::paint(color, style, word),
        report.duration_s,
        report.diffstat.files,
        report.diffstat.insertions,
        report.diffstat.deletions,
    ));
    let shown = run_dir
        .strip_prefix(std::env::current_dir().unwrap_or_default())
        .unwrap_or(run_dir);
    ui::err(&format!(
        "report: {}",
        shown.join(crate::journal::paths::REPORT_JSON).display()
    ));
}

/// `records: baseline 20.03s, after 0.91s (22.0× faster)`: each record's median wall time, and
/// for the others how it compares with the baseline; `None` without records.
pub(crate) fn records_line(report: &RunReport) -> Option<String> {
    let (names, reference) =
        crate::report::compare::columns(&report.records, &report.baselines_used);
    let median = |name: &str| report.records.get(name)?.metric("wall.median");
    let base = reference.and_then(median);
    let records: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let m = median(name)?;
            let versus = match base {
                Some(b) if Some(*name) != reference && m > 0.0 && b > 0.0 => {
                    let (ratio, word) = if m <= b {
                        (b / m, "faster")
                    } else {
                        (m / b, "slower")
                    };
                    format!(" ({ratio:.1}× {word})")
                }
                _ => String::new(),
            };
            Some(format!("{name} {m:.2}s{versus}"))
        })
        .collect();
    (!records.is_empty()).then(|| format!("records: {}", records.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(median: f64) -> crate::measure::record::Record {
        let mut record = crate::report::fixture::record();
        record.wall.median = median;
        record
    }

    #[test]
    fn records_line_compares_with_the_baseline() {
        let mut report = RunReport::default();
        assert_eq!(records_line(&report), None);
        report.records.insert("baseline".into(), record(20.0));
        report.records.insert("after".into(), record(0.5));
        report.records.insert("xdist".into(), record(25.0));
        assert_eq!(
            records_line(&report).as_deref(),
            Some(
                "records: baseline 20.00s, after 0.50s (40.0× faster), xdist 25.00s (1.2× slower)"
            )
        );
    }
}
