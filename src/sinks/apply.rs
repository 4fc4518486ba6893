//! Where an apply's events go, behind one trait: the terminal (progress, gate verdicts, the
//! closing lines), the event log and `report.json` as the run goes ([`super::eventlog`]), and at the end the report files, CI
//! (step summary, annotations) and `--json` on stdout. Each sink masks secrets in what it shows.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::context::ApplyOptions;
use crate::exec::events::{Event, RunEvent};
use crate::exec::rollback::RollbackEvent;
use crate::report::fold::RunState;
use crate::report::model::{GateReport, GateStatus, RunReport, RunStatus, StepStatus};
use crate::report::words::fmt_duration;
use crate::secrets::Secrets;
use crate::sinks::progress::Progress;
use crate::ui::{self, Style};

pub use crate::sinks::sink::Sink;

/// The terminal: live progress, each gate's verdict, the rollback, and the closing lines.
pub struct Terminal {
    progress: Arc<Progress>,
    secrets: Secrets,
    color: bool,
    header: String,
    run_dir: PathBuf,
}

impl Terminal {
    /// Progress for `steps` steps; `header` names the plan and target.
    pub fn new(steps: usize, secrets: &Secrets, header: String, run_dir: PathBuf) -> Self {
        Terminal {
            progress: Progress::new(steps, ui::animate()),
            secrets: secrets.clone(),
            color: ui::stderr_color(),
            header,
            run_dir,
        }
    }

    fn gate_lines(&self, verdicts: &[GateReport], report: &RunReport) {
        for v in verdicts {
            let (word, style) = match v.status {
                GateStatus::Pass => ("pass", Style::BoldGreen),
                GateStatus::Fail => ("FAIL", Style::BoldRed),
                GateStatus::Warn => ("warn", Style::BoldYellow),
                GateStatus::Error => ("ERROR", Style::BoldRed),
                GateStatus::Inconclusive => ("INCONCLUSIVE", Style::BoldYellow),
                GateStatus::NotEvaluated => ("skip", Style::Dim),
            };
            let body = v
                .explanation
                .clone()
                .or_else(|| v.message.clone())
                .unwrap_or_else(|| v.check.clone());
            let mut line = format!("gate {body} ... {}", ui::paint(self.color, style, word));
            if v.status != GateStatus::Pass {
                if let Some(why) = &v.why {
                    line.push_str(&format!("  ({why})"));
                }
                self.progress.line_always(&self.secrets.mask(&line));
                for test_line in test_lines(v, report) {
                    self.progress.line_always(&self.secrets.mask(&test_line));
                }
            } else {
                self.progress.line(&self.secrets.mask(&line));
            }
            for detail in &v.details {
                self.progress
                    .line_always(&self.secrets.mask(&format!("    {detail}")));
            }
        }
    }
}

impl Sink for Terminal {
    fn event(&mut self, event: &Event, state: &RunState) {
        let color = self.color;
        match event {
            Event::Run(RunEvent::Started { run_id }) => self.progress.line(&format!(
                "{} {} {}",
                ui::paint(color, Style::Bold, "planrun apply"),
                self.header,
                ui::paint(color, Style::Dim, &format!("(run {run_id})"))
            )),
            Event::StepStarted { id, action, .. } => self.progress.started(id, action),
            Event::StepDetail { id, detail } => {
                let text = crate::report::words::detail(detail);
                self.progress.detail(id, detail, &text, detail.milestone());
            }
            Event::StepFinished { id, result, .. } => {
                let status = state
                    .step_report(id)
                    .map_or(StepStatus::Failed, |s| s.status);
                let message = match result {
                    Ok(out) => out.note.as_ref().map(crate::report::words::note),
                    Err(e) => Some(crate::report::words::failure(&e.failure)),
                };
                let shown = message.map(|m| self.secrets.mask(&m).into_owned());
                // A suite's warnings come before its closing line, as its runs' lines do.
                if let Ok(out) = result {
                    for w in out.warnings() {
                        self.progress
                            .line_always(&self.secrets.mask(&format!("  warning: {w}")));
                    }
                }
                self.progress.finished(id, status, shown.as_deref());
            }
            Event::GatesDecided { verdicts, .. } => {
                let shown: Vec<GateReport> = verdicts.iter().map(GateReport::from).collect();
                self.gate_lines(&shown, &state.report)
            }
            Event::Skipped { .. }
            | Event::BaselineRefused { .. }
            | Event::Run(RunEvent::Changed(..)) => {}
            Event::Run(RunEvent::RollingBack { why }) => {
                self.progress.finish();
                ui::err(&format!(
                    "{} {}; rolling back",
                    ui::paint(color, Style::BoldRed, "✗"),
                    self.secrets.mask(&crate::report::words::why(why))
                ));
            }
            Event::Run(RunEvent::Rollback(RollbackEvent::Undone(done))) => {
                let info = state.report.rollback.as_ref().filter(|i| i.ok);
                if let Some(info) = info {
                    ui::err(&format!(
                        "{} rolled back in {}: {} restored, {} deleted, {} restored",
                        ui::paint(color, Style::BoldGreen, "↺"),
                        fmt_duration(std::time::Duration::from_secs_f64(done.seconds)),
                        info.restored.len(),
                        info.deleted.len(),
                        ui::count(info.environments.len(), "environment")
                    ));
                }
            }
            Event::Run(RunEvent::Rollback(other)) => {
                if let Some(note) = crate::report::words::rollback_note(other) {
                    ui::note(&self.secrets.mask(&note));
                }
            }
            Event::Run(RunEvent::RollbackFailed(error)) => {
                error.report();
            }
            Event::Run(RunEvent::ServiceStopped(end)) => {
                let (id, text) = (&end.id, crate::report::words::service_end(end));
                let style = if end.clean() {
                    Style::Dim
                } else {
                    Style::BoldYellow
                };
                self.progress.line(
                    &self
                        .secrets
                        .mask(&format!("{} {id} {text}", ui::paint(color, style, "■"))),
                );
            }
            Event::Run(RunEvent::Finished { .. }) => self.progress.finish(),
        }
    }

    fn finish(&mut self, report: &RunReport) -> Result<()> {
        print_verdict(report, &self.run_dir);
        Ok(())
    }
}

/// At most this many tests are listed under a gate on the terminal.
const TESTS_LISTED: usize = 10;

/// `  failed in after: tests/test_a.py::test_x  AssertionError: nope (tests/test_a.py:27)`: the
/// tests a gate names, one line each.
fn test_lines(gate: &GateReport, report: &RunReport) -> Vec<String> {
    let mut lines: Vec<String> = gate
        .tests
        .iter()
        .take(TESTS_LISTED)
        .map(|t| {
            let mut line = format!("  {} in {}: {}", t.outcome, t.record, t.id);
            if let Some(f) = report.failure(&t.record, &t.id) {
                if let Some(m) = &f.message {
                    let first = m.lines().next().unwrap_or_default();
                    line.push_str(&format!("  {first}"));
                }
                if let (Some(file), Some(n)) = (&f.file, f.line) {
                    line.push_str(&format!(" ({file}:{n})"));
                }
            }
            line
        })
        .collect();
    if gate.tests.len() > TESTS_LISTED {
        lines.push(format!(
            "  and {} more (summary.md lists them)",
            gate.tests.len() - TESTS_LISTED
        ));
    }
    lines
}

/// Every report format in the run's directory, fsynced, and copied to `--report-dir`.
pub struct ReportFiles {
    run_dir: PathBuf,
    copy_to: Option<PathBuf>,
}

impl ReportFiles {
    /// Writes into `run_dir`, and copies to `copy_to` when given.
    pub fn new(run_dir: PathBuf, copy_to: Option<PathBuf>) -> Self {
        ReportFiles { run_dir, copy_to }
    }
}

impl Sink for ReportFiles {
    fn event(&mut self, _: &Event, _: &RunState) {}

    fn finish(&mut self, report: &RunReport) -> Result<()> {
        crate::report::write::write_all(&self.run_dir, report).map_err(|e| {
            Error::io(
                format!(
                    "failed to write the reports in `{}`",
                    self.run_dir.display()
                ),
                e,
            )
        })?;
        if let Some(dest) = &self.copy_to {
            crate::report::write::copy_to(&self.run_dir, dest).map_err(|e| {
                Error::io(
                    format!("failed to copy the reports to `{}`", dest.display()),
                    e,
                )
            })?;
        }
        Ok(())
    }
}

/// CI: the Markdown summary appended to `GITHUB_STEP_SUMMARY`, and on GitHub Actions the
/// annotations and the failed steps' logs folded (on stderr with `--json`, so stdout stays the
/// report alone).
pub struct Ci {
    json: bool,
    passing: bool,
}

impl Ci {
    /// A CI sink; `json` says whether stdout carries the JSON report, `passing` whether passing
    /// gates are annotated too.
    pub fn new(json: bool, passing: bool) -> Self {
        Ci { json, passing }
    }
}

impl Sink for Ci {
    fn event(&mut self, _: &Event, _: &RunState) {}

    fn finish(&mut self, report: &RunReport) -> Result<()> {
        let markdown = crate::report::markdown::to_markdown(report);
        let summary = std::env::var_os("GITHUB_STEP_SUMMARY");
        if let Err(e) = crate::report::github::append_step_summary(&markdown, summary.as_deref()) {
            ui::warn(&format!("cannot append to GITHUB_STEP_SUMMARY: {e}"));
        }
        if crate::report::github::on_github_actions() {
            let opts = crate::report::github::AnnotationOptions::from_env(self.passing);
            let target = std::path::Path::new(&report.target);
            let read = |rel: &str| {
                let bytes = std::fs::read(target.join(rel)).ok()?;
                Some(String::from_utf8_lossy(&bytes).into_owned())
            };
            let lines = crate::report::github::folded_logs(report, &read)
                .into_iter()
                .chain(crate::report::github::annotations(report, &opts));
            for line in lines {
                if self.json {
                    ui::err(&line);
                } else {
                    ui::out(&line);
                }
            }
        }
        Ok(())
    }
}

/// `--json`: the final report on stdout.
pub struct JsonStdout;

impl Sink for JsonStdout {
    fn event(&mut self, _: &Event, _: &RunState) {}

    fn finish(&mut self, report: &RunReport) -> Result<()> {
        ui::out(&crate::report::json::to_json(report));
        Ok(())
    }
}

/// Whether CI mode is on: `--ci` or `CI=true`.
pub fn ci_mode(flag: bool) -> bool {
    flag || std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The sinks of an apply with `opts`, in the order they finish: the report files first (what
/// the others point at), then CI, `--json`, and the terminal's closing lines last.
pub fn for_apply(
    opts: &ApplyOptions,
    terminal: Terminal,
    run_dir: PathBuf,
    secrets: &Secrets,
) -> Vec<Box<dyn Sink>> {
    let mut sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(crate::sinks::eventlog::LiveReport::new(&run_dir, secrets)),
        Box::new(ReportFiles::new(run_dir, opts.report_dir.clone())),
    ];
    if ci_mode(opts.ci) {
        sinks.push(Box::new(Ci::new(opts.json, opts.annotate_passing)));
    }
    if opts.json {
        sinks.push(Box::new(JsonStdout));
    }
    if let Some(path) = &opts.history {
        sinks.push(Box::new(History {
            path: path.clone(),
            stage: opts.stage.clone(),
        }));
    }
    sinks.push(Box::new(terminal));
    sinks
}

/// The run history: one line appended when the run is over, whatever its outcome.
struct History {
    path: PathBuf,
    stage: Option<crate::report::model::StageReport>,
}

impl Sink for History {
    fn event(&mut self, _: &Event, _: &RunState) {}

    fn finish(&mut self, report: &RunReport) -> Result<()> {
        let target = std::path::Path::new(&report.target);
        let entry = crate::history::Entry::of(
            report,
            self.stage.as_ref().map(|s| s.id.as_str()),
            self.stage.as_ref().is_some_and(|s| s.forced),
            crate::history::entry::git_commit(target),
        );
        crate::history::append(&self.path, &entry).map_err(|e| {
            Error::io(
                format!("failed to append to the history `{}`", self.path.display()),
                e,
            )
        })
    }
}

fn print_verdict(report: &RunReport, run_dir: &std::path::Path) {
    let color = ui::stderr_color();
    if let Some(line) = records_line(report) {
        ui::status(&line);
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
        RunStatus::Inconclusive => ("inconclusive, rolled back", Style::BoldYellow),
        RunStatus::BaselineRed => ("baseline red, nothing kept", Style::BoldRed),
        RunStatus::Running => ("running", Style::Dim),
    };
    ui::err(&format!(
        "{} in {:.1}s: {passed}/{evaluated} gates passed, {} changed (+{} -{}); exit {}",
        ui::paint(color, style, word),
        report.duration_s,
        ui::count(report.diffstat.files, "file"),
        report.diffstat.insertions,
        report.diffstat.deletions,
        report.exit_code.unwrap_or_default(),
    ));
    let shown = run_dir
        .strip_prefix(std::env::current_dir().unwrap_or_default())
        .unwrap_or(run_dir);
    ui::status(&format!(
        "report: {}",
        shown.join(crate::journal::paths::REPORT_JSON).display()
    ));
}
/// `records: baseline 20.03s, after 0.91s (22.0x faster, 99% CI 18.1-27.6x, paired over 6
/// pairs)`: each record's median wall time, and for the others how it compares with the
/// baseline as the verdicts read it; `None` without records.
pub fn records_line(report: &RunReport) -> Option<String> {
    let (names, reference) =
        crate::report::compare::columns(&report.records, &report.baselines_used);
    let median = |name: &str| report.records.get(name)?.metric("wall.median");
    let base = reference.and_then(median);
    let records: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let m = median(name)?;
            // The figure the verdicts use (paired, or drift-widened in sequence), else medians.
            let figure = reference
                .filter(|r| r != name)
                .and_then(|r| crate::report::compare::speed(&report.records, name, r));
            let other = reference.is_some_and(|r| {
                r != *name && crate::report::compare::ran_other_tests(&report.records, name, r)
            });
            let versus = match (figure, base) {
                (Some(s), _) => format!(" ({})", s.describe()),
                _ if other => format!(" ({})", crate::report::compare::OTHER_TESTS),
                (None, Some(b)) if Some(*name) != reference && m > 0.0 && b > 0.0 => {
                    format!(" ({})", speed_versus(m, b))
                }
                _ => String::new(),
            };
            Some(format!("{name} {m:.2}s{versus}"))
        })
        .collect();
    (!records.is_empty()).then(|| format!("records: {}", records.join(", ")))
}

/// How a median `m` compares with a reference `b`: `22.0× faster`, `1.04× slower` (two decimals
/// below 2×, so a small difference is not rounded into the wrong word), `same speed`.
fn speed_versus(m: f64, b: f64) -> String {
    let (ratio, word) = if m <= b {
        (b / m, "faster")
    } else {
        (m / b, "slower")
    };
    let digits = if ratio < 2.0 { 2 } else { 1 };
    let text = format!("{ratio:.digits$}");
    if text == "1.00" {
        "same speed".to_string()
    } else {
        format!("{text}× {word}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speed_says_faster_or_slower_as_it_is() {
        assert_eq!(speed_versus(1.0, 20.0), "20.0× faster");
        assert_eq!(speed_versus(1.04, 1.0), "1.04× slower");
        assert_eq!(speed_versus(1.0, 1.04), "1.04× faster");
        assert_eq!(speed_versus(1.001, 1.0), "same speed");
        assert_eq!(speed_versus(3.0, 1.0), "3.0× slower");
    }

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
                "records: baseline 20.00s, after 0.50s (40.0× faster), xdist 25.00s (1.25× slower)"
            )
        );
    }
}
