//! The JUnit XML report: one test suite per phase, one test case per step and per gate, and
//! under a failed gate one per test it names (with pytest's failure text), so CI systems show
//! a failed gate, and the tests that failed it, the way they show a failed test. Valid against
//! the common `junit-10.xsd` (a test checks it with a real validator): counts, `timestamp` and
//! `hostname` on each `<testsuite>`, no `skipped` on `<testsuites>`, which that schema forbids.

use std::fmt::Write;

use super::model::{GateReport, GateStatus, RunReport, StepReport, StepStatus};

/// Class name of the test cases that stand for steps.
pub const STEP_CLASS: &str = "planrun.step";
/// Class name of the test cases that stand for gates.
pub const GATE_CLASS: &str = "planrun.gate";
/// Class name prefix of the test cases that stand for the tests a gate names:
/// `planrun.test.<record>`.
pub const TEST_CLASS: &str = "planrun.test";

/// The report as a JUnit XML document.
pub fn to_junit(report: &RunReport) -> String {
    let suites: Vec<Suite> = phase_ids(report)
        .into_iter()
        .map(|phase| Suite::new(report, phase))
        .collect();
    let total = suites
        .iter()
        .fold(Counts::default(), |acc, s| acc.add(&s.counts));
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">",
        escape_attr(&format!("planrun {}", report.plan.name)),
        total.tests,
        total.failures,
        total.errors,
        seconds(report.duration_s),
    );
    let mut place = String::new();
    if !report.started.is_empty() {
        let _ = write!(place, " timestamp=\"{}\"", escape_attr(&report.started));
    }
    if !report.host.is_empty() {
        let _ = write!(place, " hostname=\"{}\"", escape_attr(&report.host));
    }
    for suite in &suites {
        suite.write(&mut xml, &place);
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Phase ids in the order they first appear among the steps, then among the gates.
fn phase_ids(report: &RunReport) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    let phases = report.steps.iter().map(|s| s.phase.as_str());
    for id in phases.chain(report.gates.iter().map(|g| g.phase.as_str())) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn add(self, other: &Counts) -> Counts {
        Counts {
            tests: self.tests + other.tests,
            failures: self.failures + other.failures,
            errors: self.errors + other.errors,
            skipped: self.skipped + other.skipped,
        }
    }

    fn attrs(&self) -> String {
        format!(
            "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

/// What a test case says beyond passing.
enum Outcome {
    Pass,
    Failure { message: String, body: String },
    Error { message: String, body: String },
    Skipped { message: String },
}

struct Case {
    class: String,
    name: String,
    time: f64,
    outcome: Outcome,
    out: Option<String>,
}

struct Suite<'a> {
    name: &'a str,
    cases: Vec<Case>,
    counts: Counts,
}

impl<'a> Suite<'a> {
    fn new(report: &RunReport, phase: &'a str) -> Suite<'a> {
        let steps = report
            .steps
            .iter()
            .filter(|s| s.phase == phase)
            .map(step_case);
        let gates = report
            .gates
            .iter()
            .filter(|g| g.phase == phase)
            .flat_map(|g| std::iter::once(gate_case(g)).chain(test_cases(g, report)));
        let cases: Vec<Case> = steps.chain(gates).collect();
        let mut counts = Counts {
            tests: cases.len(),
            ..Counts::default()
        };
        for case in &cases {
            match case.outcome {
                Outcome::Pass => {}
                Outcome::Failure { .. } => counts.failures += 1,
                Outcome::Error { .. } => counts.errors += 1,
                Outcome::Skipped { .. } => counts.skipped += 1,
            }
        }
        Suite {
            name: phase,
            cases,
            counts,
        }
    }

    /// Writes the suite; `place` holds its `timestamp` and `hostname` attributes.
    fn write(&self, xml: &mut String, place: &str) {
        let time: f64 = self.cases.iter().map(|c| c.time).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" {} time=\"{}\"{place}>",
            escape_attr(self.name),
            self.counts.attrs(),
            seconds(time),
        );
        for case in &self.cases {
            case.write(xml);
        }
        xml.push_str("  </testsuite>\n");
    }
}

impl Case {
    fn write(&self, xml: &mut String) {
        let _ = write!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
            escape_attr(&self.class),
            escape_attr(&self.name),
            seconds(self.time),
        );
        if matches!(self.outcome, Outcome::Pass) && self.out.is_none() {
            xml.push_str("/>\n");
            return;
        }
        xml.push_str(">\n");
        match &self.outcome {
            Outcome::Pass => {}
            Outcome::Failure { message, body } => element(xml, "failure", message, body),
            Outcome::Error { message, body } => element(xml, "error", message, body),
            Outcome::Skipped { message } => {
                let _ = writeln!(xml, "      <skipped message=\"{}\"/>", escape_attr(message));
            }
        }
        if let Some(out) = &self.out {
            let _ = writeln!(xml, "      <system-out>{}</system-out>", escape_text(out));
        }
        xml.push_str("    </testcase>\n");
    }
}

fn element(xml: &mut String, tag: &str, message: &str, body: &str) {
    let _ = writeln!(
        xml,
        "      <{tag} message=\"{}\">{}</{tag}>",
        escape_attr(message),
        escape_text(body)
    );
}

fn step_case(step: &StepReport) -> Case {
    let mut notes = Vec::new();
    if let Some(log) = &step.log {
        notes.push(format!("log: {log}"));
    }
    if !step.changed.is_empty() {
        notes.push(format!("changed: {}", step.changed.join(", ")));
    }
    let notes = notes.join("\n");
    let outcome = match step.status {
        StepStatus::Ok | StepStatus::Unchanged => Outcome::Pass,
        StepStatus::Failed => {
            let message = step.message.clone().unwrap_or_else(|| "step failed".into());
            let body = join_nonempty(&[&message, &notes]);
            Outcome::Failure { message, body }
        }
        StepStatus::Skipped => Outcome::Skipped {
            message: "skipped: an earlier failure stopped the run".into(),
        },
        StepStatus::Pending => Outcome::Skipped {
            message: "not started".into(),
        },
        StepStatus::Running => Outcome::Skipped {
            message: "still running when the report was written".into(),
        },
    };
    let out = match (&outcome, step.status) {
        (Outcome::Pass, StepStatus::Unchanged) => Some(join_nonempty(&["unchanged", &notes])),
        (Outcome::Pass, _) if !notes.is_empty() => Some(notes),
        _ => None,
    };
    Case {
        class: STEP_CLASS.to_string(),
        name: step.id.clone(),
        time: step.duration_s.unwrap_or(0.0),
        outcome,
        out,
    }
}

fn gate_case(gate: &GateReport) -> Case {
    let said = gate
        .explanation
        .as_deref()
        .or(gate.message.as_deref())
        .unwrap_or(gate.check.as_str());
    let message = match &gate.why {
        Some(why) => format!("{said} ({why})"),
        None => said.to_string(),
    };
    let mut body = vec![format!("check: {}", gate.check)];
    if let Some(e) = &gate.explanation {
        body.push(format!("verdict: {e}"));
    }
    if let Some(m) = &gate.message {
        body.push(format!("error: {m}"));
    }
    if let Some(why) = &gate.why {
        body.push(format!("why: {why}"));
    }
    body.extend(gate.values.iter().map(|(k, v)| format!("{k} = {v}")));
    body.extend(gate.details.iter().cloned());
    body.push(format!("on_fail: {}", gate.on_fail));
    if gate.status == GateStatus::Inconclusive {
        body.push(format!("on_inconclusive: {}", gate.on_inconclusive));
    }
    let body = body.join("\n");
    let (outcome, out) = match gate.status {
        GateStatus::Pass => (Outcome::Pass, None),
        GateStatus::Warn => (Outcome::Pass, Some(format!("warning: {message}\n{body}"))),
        GateStatus::Fail => (Outcome::Failure { message, body }, None),
        GateStatus::Error => (Outcome::Error { message, body }, None),
        // Neither shown to hold nor shown to fail: skipped, with why, so a dashboard counts it
        // as neither; the run's exit code (7) says whether it was rolled back.
        GateStatus::Inconclusive => (
            Outcome::Skipped {
                message: format!("inconclusive: {message}"),
            },
            Some(body),
        ),
        GateStatus::NotEvaluated => (
            Outcome::Skipped {
                message: "not evaluated: an earlier failure stopped the run".into(),
            },
            None,
        ),
    };
    Case {
        class: GATE_CLASS.to_string(),
        name: gate.check.clone(),
        time: 0.0,
        outcome,
        out,
    }
}

/// One test case per test a gate names: a failure, with pytest's text, under a gate that failed;
/// a passing case that says so under one that only warned or was inconclusive.
fn test_cases<'a>(gate: &'a GateReport, report: &'a RunReport) -> impl Iterator<Item = Case> + 'a {
    let blocks = matches!(gate.status, GateStatus::Fail | GateStatus::Error);
    gate.tests.iter().map(move |test| {
        let failure = report.failure(&test.record, &test.id);
        let said = failure
            .and_then(|f| f.message.as_deref())
            .map(|m| m.lines().next().unwrap_or_default().to_string());
        let mut message = format!("{} in {}", test.outcome, test.record);
        if let Some(said) = &said {
            message.push_str(": ");
            message.push_str(said);
        }
        if let (Some(f), Some(record)) = (failure, report.records.get(&test.record)) {
            if f.runs < record.runs {
                message.push_str(&format!(" ({} of {} runs)", f.runs, record.runs));
            }
        }
        let mut body = vec![format!("gate: {}", gate.check)];
        if let Some((file, line)) = failure.and_then(|f| Some((f.file.as_deref()?, f.line))) {
            body.push(match line {
                Some(n) => format!("at: {file}:{n}"),
                None => format!("at: {file}"),
            });
        }
        if let Some(text) = failure.and_then(|f| f.text.as_deref()) {
            body.push(String::new());
            body.push(text.to_string());
        }
        let body = body.join("\n");
        let (outcome, out) = if blocks {
            (Outcome::Failure { message, body }, None)
        } else {
            (Outcome::Pass, Some(format!("{message}\n{body}")))
        };
        Case {
            class: format!("{TEST_CLASS}.{}", test.record),
            name: test.id.clone(),
            time: 0.0,
            outcome,
            out,
        }
    })
}

fn join_nonempty(parts: &[&str]) -> String {
    let kept: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    kept.join("\n")
}

/// Seconds with millisecond precision, as JUnit readers expect; non-finite times read as 0.
fn seconds(s: f64) -> String {
    let s = if s.is_finite() { s.max(0.0) } else { 0.0 };
    format!("{s:.3}")
}

/// Escapes text for an XML attribute value: markup characters as entities, and tab, newline and
/// carriage return as character references so attribute normalization keeps them.
pub fn escape_attr(s: &str) -> String {
    escape(s, true)
}

/// Escapes text for XML element content.
pub fn escape_text(s: &str) -> String {
    escape(s, false)
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' if attr => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            '\n' | '\t' => out.push(c),
            // XML 1.0 cannot carry these at all, not even as character references.
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "junit_tests.rs"]
mod tests;
