//! GitHub Actions output: workflow-command annotations for gates and failed steps, and the
//! Markdown summary appended to the job's step summary.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::model::{GateReport, GateStatus, RunReport, StepStatus};

/// At most this many annotations name a failing test (GitHub shows ten errors per step anyway).
pub const TEST_ANNOTATIONS: usize = 20;

/// At most this many last lines of a failed step's log are shown in its group.
pub const LOG_LINES: usize = 200;

/// Where annotations point, and which ones there are.
#[derive(Debug, Clone, Default)]
pub struct AnnotationOptions {
    /// The directory the runner resolves `file=` against: `GITHUB_WORKSPACE`, else the current
    /// directory.
    pub workspace: PathBuf,
    /// The current directory, which a relative plan path on the command line is relative to.
    pub cwd: PathBuf,
    /// A `::notice` for each passing gate too (`--annotate-passing`); off, passing gates are quiet.
    pub passing: bool,
}

impl AnnotationOptions {
    /// Where the runner resolves paths from the environment: `GITHUB_WORKSPACE`, else the
    /// current directory.
    pub fn from_env(passing: bool) -> Self {
        let cwd = std::env::current_dir().unwrap_or_default();
        AnnotationOptions {
            workspace: std::env::var_os("GITHUB_WORKSPACE")
                .filter(|w| !w.is_empty())
                .map_or_else(|| cwd.clone(), PathBuf::from),
            cwd,
            passing,
        }
    }

    /// `path` as the runner wants it in `file=`: relative to the workspace when inside it.
    pub fn file(&self, path: &Path) -> String {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.cwd.join(path)
        };
        let shown = absolute.strip_prefix(&self.workspace).unwrap_or(&absolute);
        let shown: PathBuf = shown
            .components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect();
        shown.display().to_string()
    }
}

/// One annotation line (`::error file=...,line=...,title=...::message`) per failed step,
/// evaluated gate that did not pass (and passing ones when asked), test a failed gate names,
/// and failed rollback, for stdout when `GITHUB_ACTIONS=true`. A gate points at its line in the
/// plan; a test at the line its failure was raised at.
pub fn annotations(report: &RunReport, opts: &AnnotationOptions) -> Vec<String> {
    let mut lines = Vec::new();
    for step in report
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
    {
        let message = step.message.as_deref().unwrap_or("step failed");
        lines.push(command(
            "error",
            &[("title", "planrun step failed".into())],
            &format!("{}/{}: {message}", step.phase, step.id),
        ));
    }
    let plan_file = (!report.plan.path.is_empty()).then(|| opts.file(Path::new(&report.plan.path)));
    let mut tests = Vec::new();
    for gate in &report.gates {
        let (level, title) = match gate.status {
            GateStatus::Fail => ("error", "planrun gate failed"),
            GateStatus::Error => ("error", "planrun gate error"),
            GateStatus::Warn => ("warning", "planrun gate warning"),
            GateStatus::Inconclusive => ("warning", "planrun gate inconclusive"),
            GateStatus::Pass if opts.passing => ("notice", "planrun gate passed"),
            GateStatus::Pass | GateStatus::NotEvaluated => continue,
        };
        let mut props = Vec::new();
        if let (Some(file), Some(line)) = (&plan_file, gate.line) {
            props.push(("file", file.clone()));
            props.push(("line", line.to_string()));
        }
        props.push(("title", title.to_string()));
        lines.push(command(level, &props, &gate_message(gate)));
        tests.extend(gate.tests.iter().map(|t| (level, t)));
    }
    let mut seen = std::collections::BTreeSet::new();
    tests.retain(|(_, t)| seen.insert((t.id.as_str(), t.record.as_str())));
    for (level, test) in tests.into_iter().take(TEST_ANNOTATIONS) {
        let failure = report.failure(&test.record, &test.id);
        let mut props = Vec::new();
        if let Some(file) = failure.and_then(|f| f.file.as_deref()) {
            props.push(("file", opts.file(&Path::new(&report.target).join(file))));
            if let Some(line) = failure.and_then(|f| f.line) {
                props.push(("line", line.to_string()));
            }
        }
        props.push((
            "title",
            format!("planrun: test {} in {}", test.outcome, test.record),
        ));
        let mut message = test.id.clone();
        if let Some(m) = failure.and_then(|f| f.message.as_deref()) {
            message.push_str(": ");
            message.push_str(m);
        }
        if let Some(text) = failure.and_then(|f| f.text.as_deref()) {
            message.push_str("\n\n");
            message.push_str(text);
        }
        lines.push(command(level, &props, &message));
    }
    if let Some(rollback) = report.rollback.as_ref().filter(|r| !r.ok) {
        let message = format!(
            "{}: {}; the journal was kept",
            rollback.reason,
            rollback.message.as_deref().unwrap_or("unknown error")
        );
        lines.push(command(
            "error",
            &[("title", "planrun rollback failed".into())],
            &message,
        ));
    }
    lines
}

/// The output of each failed step, folded: `::group::` with the last [`LOG_LINES`] lines of its
/// log (`read` gives a target-relative log's text), and the failure texts of the tests the
/// failed gates name. Workflow commands are stopped inside, so a line of the log that looks
/// like one (`::add-mask::`, `::error::`) is shown, never obeyed.
pub fn folded_logs(report: &RunReport, read: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    let token = stop_token(report);
    let mut group = |title: String, body: &[&str]| {
        out.push(format!("::group::{}", escape_data(&title)));
        out.push(format!("::stop-commands::{token}"));
        out.extend(body.iter().map(|l| l.to_string()));
        out.push(format!("::{token}::"));
        out.push("::endgroup::".to_string());
    };
    for step in report
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
    {
        let Some(log) = &step.log else { continue };
        let Some(text) = read(log) else { continue };
        let all: Vec<&str> = text.lines().collect();
        let kept = &all[all.len().saturating_sub(LOG_LINES)..];
        let title = if kept.len() < all.len() {
            format!(
                "planrun: step `{}` failed, last {} lines of {log}",
                step.id,
                kept.len()
            )
        } else {
            format!("planrun: step `{}` failed, {log}", step.id)
        };
        group(title, kept);
    }
    let failed = report
        .gates
        .iter()
        .filter(|g| matches!(g.status, GateStatus::Fail | GateStatus::Error));
    let mut seen = std::collections::BTreeSet::new();
    for test in failed.flat_map(|g| &g.tests) {
        if !seen.insert((&test.id, &test.record)) {
            continue;
        }
        let Some(text) = report
            .failure(&test.record, &test.id)
            .and_then(|f| f.text.as_deref())
        else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        group(format!("planrun: {}", test.phrase()), &lines);
    }
    out
}

/// A token no log line can guess in advance: it changes with every run and process.
fn stop_token(report: &RunReport) -> String {
    let seed = format!(
        "{}:{}:{:?}",
        report.run_id,
        std::process::id(),
        std::time::SystemTime::now()
    );
    format!("planrun-{}", &blake3::hash(seed.as_bytes()).to_hex()[..16])
}

/// `<check> — <explanation> (<why>); tests: ...`, with the error message when there is no
/// explanation.
fn gate_message(gate: &GateReport) -> String {
    let mut message = gate.check.clone();
    if let Some(said) = gate.explanation.as_deref().or(gate.message.as_deref()) {
        message.push_str(" — ");
        message.push_str(said);
    }
    if let Some(why) = &gate.why {
        message.push_str(&format!(" ({why})"));
    }
    if let Some(tests) = gate.tests_phrase() {
        message.push_str("; ");
        message.push_str(&tests);
    }
    for detail in &gate.details {
        message.push('\n');
        message.push_str(detail);
    }
    message
}

/// Whether planrun runs under GitHub Actions (`GITHUB_ACTIONS=true`).
pub fn on_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// A workflow command line: `::level k=v,k=v::message`, properties and message escaped.
pub fn command(level: &str, props: &[(&str, String)], message: &str) -> String {
    let props: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    format!("::{level} {}::{}", props.join(","), escape_data(message))
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

    fn opts() -> AnnotationOptions {
        AnnotationOptions {
            workspace: "/home/dev".into(),
            cwd: "/home/dev/shop-api".into(),
            passing: false,
        }
    }

    #[test]
    fn failed_steps_gates_and_their_tests_are_annotated_where_they_are() {
        let lines = annotations(&sample(), &opts());
        assert_eq!(
            lines,
            [
                "::error title=planrun step failed::parallel/migrate: command `make migrate` exited with status 2 <stderr & \"more\">",
                "::error file=shop-api/plans/xdist.toml,line=41,title=planrun gate failed::after.passed == baseline.passed — after.passed 117 == baseline.passed 118; tests: tests/test_auth.py::test_empty_password_is_refused failed in after, tests/test_cart.py::test_total flaky in after",
                "::warning file=shop-api/plans/xdist.toml,line=50,title=planrun gate warning::after.rss_peak_mb < baseline.rss_peak_mb * 2 — after.rss_peak_mb 420.50 < baseline.rss_peak_mb 180 * 2 = 360 (memory, CI runners have 7 GB)",
                "::error file=shop-api/tests/test_auth.py,line=27,title=planrun%3A test failed in after::tests/test_auth.py::test_empty_password_is_refused: AssertionError: assert 200 == 400%0A%0A    def test_empty_password_is_refused(client):%0A        r = client.post(\"/login\", json={\"password\": \"\"})%0A>       assert r.status_code == 400%0AE       AssertionError: assert 200 == 400%0A%0Atests/test_auth.py:27: AssertionError",
                "::error file=shop-api/tests/test_cart.py,line=9,title=planrun%3A test flaky in after::tests/test_cart.py::test_total: assert 19.99 == 20.0",
            ]
        );
    }

    #[test]
    fn passing_gates_are_quiet_unless_asked() {
        let mut report = sample();
        report.steps.clear();
        report.gates.retain(|g| g.status == GateStatus::Pass);
        assert!(annotations(&report, &opts()).is_empty());
        let loud = AnnotationOptions {
            passing: true,
            ..opts()
        };
        assert_eq!(
            annotations(&report, &loud),
            ["::notice file=shop-api/plans/xdist.toml,line=45,title=planrun gate passed::after.wall.median <= baseline.wall.median / 1.3 — after.wall.median 3.20 <= baseline.wall.median 34.90 / 1.3 = 26.85 (parallel must pay for itself)"]
        );
    }

    #[test]
    fn paths_outside_the_workspace_stay_absolute_and_unplaced_gates_have_no_file() {
        let mut report = sample();
        report.steps.clear();
        report.gates.truncate(1);
        report.gates[0].tests.truncate(1);
        report.target = "/srv/app".into();
        let lines = annotations(&report, &opts());
        assert!(
            lines[1].starts_with("::error file=/srv/app/tests/test_auth.py,line=27,"),
            "{}",
            lines[1]
        );
        report.gates[0].line = None;
        assert!(annotations(&report, &opts())[0].starts_with("::error title=planrun gate failed::"));
    }

    #[test]
    fn errors_use_the_message_and_unevaluated_gates_are_silent() {
        let mut report = sample();
        report.steps.clear();
        report.gates[0].status = GateStatus::Error;
        report.gates[0].explanation = None;
        report.gates[0].tests.clear();
        report.gates[0].line = None;
        report.gates[0].message = Some("no run produced `after.passed`".into());
        report.gates[1].status = GateStatus::NotEvaluated;
        report.gates.truncate(2);
        assert_eq!(
            annotations(&report, &opts()),
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
            annotations(&report, &opts()),
            ["::error title=planrun rollback failed::gate `after.passed == baseline.passed` failed: disk full; the journal was kept"]
        );
    }

    #[test]
    fn failed_steps_logs_and_failing_tests_are_folded_with_commands_stopped() {
        let report = sample();
        let read = |rel: &str| {
            assert_eq!(rel, ".planrun/runs/r1/logs/migrate.log");
            Some("one\n::add-mask::x\nthree\n".to_string())
        };
        let lines = folded_logs(&report, &read);
        let token = lines[1]
            .strip_prefix("::stop-commands::")
            .unwrap()
            .to_string();
        assert!(token.starts_with("planrun-") && token.len() > 16, "{token}");
        assert_eq!(
            lines[..7],
            [
                "::group::planrun: step `migrate` failed, .planrun/runs/r1/logs/migrate.log"
                    .to_string(),
                format!("::stop-commands::{token}"),
                "one".into(),
                "::add-mask::x".into(),
                "three".into(),
                format!("::{token}::"),
                "::endgroup::".into(),
            ]
        );
        assert_eq!(
            lines[7],
            "::group::planrun: tests/test_auth.py::test_empty_password_is_refused failed in after"
        );
        assert!(lines.contains(&"E       AssertionError: assert 200 == 400".to_string()));
        assert_eq!(lines.last().map(String::as_str), Some("::endgroup::"));
        let long: String = (0..300).map(|i| format!("{i}\n")).collect();
        let lines = folded_logs(&report, &|_| Some(long.clone()));
        assert_eq!(lines[0], "::group::planrun: step `migrate` failed, last 200 lines of .planrun/runs/r1/logs/migrate.log");
        assert_eq!(lines[2], "100");
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
        report.gates[0].tests.clear();
        report.gates[0].check = "after.x <= 5%\nor".into();
        assert_eq!(
            annotations(&report, &opts())[0],
            "::error file=shop-api/plans/xdist.toml,line=41,title=planrun gate failed::after.x <= 5%25%0Aor — after.passed 117 == baseline.passed 118"
        );
        assert_eq!(
            command("error", &[("title", "t: x, y".into())], "m"),
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
