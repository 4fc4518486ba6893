//! GitHub Actions output: workflow-command annotations for gates and failed steps, and the
//! Markdown summary appended to the job's step summary.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::{self, Write};

use super::model::{GateReport, GateStatus, RunReport, StepStatus};

/// One annotation line (`::error title=...::message`) per evaluated gate, failed step and failed
/// rollback, for stdout when `GITHUB_ACTIONS=true`.
pub fn annotations(report: &RunReport) -> Vec<String> {
    let mut lines = Vec::new();
    for step in report
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
    {
        let message = step.message.as_deref().unwrap_or("step failed");
        lines.push(command(
            "error",
            "planrun step failed",
            &format!("{}/{}: {message}", step.phase, step.id),
        ));
    }
    for gate in &report.gates {
        let (level, title) = match gate.status {
            GateStatus::Fail => ("error", "planrun gate failed"),
            GateStatus::Error => ("error", "planrun gate error"),
            GateStatus::Warn => ("warning", "planrun gate warning"),
            GateStatus::Inconclusive => ("warning", "planrun gate inconclusive"),
            GateStatus::Pass => ("notice", "planrun gate passed"),
            GateStatus::NotEvaluated => continue,
        };
        lines.push(command(level, title, &gate_message(gate)));
    }
    if let Some(rollback) = report.rollback.as_ref().filter(|r| !r.ok) {
        let message = format!(
            "{}: {}; the journal was kept",
            rollback.reason,
            rollback.message.as_deref().unwrap_or("unknown error")
        );
        lines.push(command("error", "planrun rollback failed", &message));
    }
    lines
}

/// `<check> — <explanation> (<why>)`, with the error message when there is no explanation.
fn gate_message(gate: &GateReport) -> String {
    let mut message = gate.check.clone();
    if let Some(said) = gate.explanation.as_deref().or(gate.message.as_deref()) {
        message.push_str(" — ");
        message.push_str(said);
    }
    if let Some(why) = &gate.why {
        message.push_str(&format!(" ({why})"));
    }
    for detail in &gate.details {
        message.push('\n');
        message.push_str(detail);
    }
    message
}

fn command(level: &str, title: &str, message: &str) -> String {
    format!(
        "::{level} title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

/// Escapes an annotation's message as the runner expects: `%`, CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes an annotation property value: as a message, plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Appends `markdown` to the file named by `summary_file` (the value of `$GITHUB_STEP_SUMMARY`);
/// returns whether anything was written, which is not the case when the variable is unset or empty.
pub fn append_step_summary(markdown: &str, summary_file: Option<&OsStr>) -> io::Result<bool> {
    let Some(path) = summary_file.filter(|p| !p.is_empty()) else {
        return Ok(false);
    };
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    file.write_all(text.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::sample;
    use super::*;

    #[test]
    fn one_annotation_per_failed_step_and_evaluated_gate() {
        let lines = annotations(&sample());
        assert_eq!(
            lines,
            [
                "::error title=planrun step failed::parallel/migrate: command `make migrate` exited with status 2 <stderr & \"more\">",
                "::error title=planrun gate failed::after.passed == baseline.passed — after.passed 117 == baseline.passed 118",
                "::notice title=planrun gate passed::after.wall.median <= baseline.wall.median / 1.3 — after.wall.median 3.20 <= baseline.wall.median 34.90 / 1.3 = 26.85 (parallel must pay for itself)",
                "::warning title=planrun gate warning::after.rss_peak_mb < baseline.rss_peak_mb * 2 — after.rss_peak_mb 420.50 < baseline.rss_peak_mb 180 * 2 = 360 (memory, CI runners have 7 GB)",
            ]
        );
    }

    #[test]
    fn errors_use_the_message_and_unevaluated_gates_are_silent() {
        let mut report = sample();
        report.steps.clear();
        report.gates[0].status = GateStatus::Error;
        report.gates[0].explanation = None;
        report.gates[0].message = Some("no run produced `after.passed`".into());
        report.gates[1].status = GateStatus::NotEvaluated;
        report.gates.truncate(2);
        assert_eq!(
            annotations(&report),
            ["::error title=planrun gate error::after.passed == baseline.passed — no run produced `after.passed`"]
        );
    }

    #[test]
    fn a_failed_rollback_is_an_error() {
        let mut report = sample();
        report.steps.clear();
        report.gates.clear();
        if let Some(r) = report.rollback.as_mut() {
            r.ok = false;
            r.message = Some("disk full".into());
        }
        assert_eq!(
            annotations(&report),
            ["::error title=planrun rollback failed::gate `after.passed == baseline.passed` failed: disk full; the journal was kept"]
        );
    }

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(
            escape_data("100% done\r\nnext: a, b"),
            "100%25 done%0D%0Anext: a, b"
        );
        assert_eq!(escape_property("a: b, 5%\n"), "a%3A b%2C 5%25%0A");
        let mut report = sample();
        report.steps.clear();
        report.gates.truncate(1);
        report.gates[0].check = "after.x <= 5%\nor".into();
        assert_eq!(
            annotations(&report)[0],
            "::error title=planrun gate failed::after.x <= 5%25%0Aor — after.passed 117 == baseline.passed 118"
        );
        assert_eq!(
            command("error", "t: x, y", "m"),
            "::error title=t%3A x%2C y::m"
        );
    }

    #[test]
    fn step_summary_appends_only_when_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary");
        assert!(!append_step_summary("# a", None).unwrap());
        assert!(!append_step_summary("# a", Some(OsStr::new(""))).unwrap());
        assert!(append_step_summary("# a", Some(path.as_os_str())).unwrap());
        assert!(append_step_summary("# b\n", Some(path.as_os_str())).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# a\n# b\n");
    }

    #[test]
    fn step_summary_reports_an_unwritable_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/file");
        assert!(append_step_summary("x", Some(missing.as_os_str())).is_err());
    }
}
