//! The Markdown summary (`summary.md`, GitHub's step summary): the verdict, the records side by
//! side with their ratios, the gates, the steps, the diff stat and what a rollback restored.

use std::fmt::Write;

use super::compare::{
    cell, columns, fmt_seconds, ratio_cell, speed_cell, MISSING, OPTIONAL_ROWS, ROWS,
};
use super::model::{RollbackInfo, RunReport};

/// At most this many flaky test ids are listed per record.
const FLAKY_LISTED: usize = 10;

/// At most this many rows has the failing tests' table.
const FAILING_LISTED: usize = 50;

/// The report as a Markdown document.
pub fn to_markdown(report: &RunReport) -> String {
    let mut md = String::new();
    let plan = if report.plan.name.is_empty() {
        "planrun"
    } else {
        report.plan.name.as_str()
    };
    let _ = writeln!(
        md,
        "# {} — {} {}\n",
        text(plan),
        report.status.icon(),
        report.status.phrase()
    );
    if !report.plan.description.is_empty() {
        let _ = writeln!(md, "{}\n", text(&report.plan.description));
    }
    let _ = writeln!(md, "{}\n", run_line(report));
    records_section(&mut md, report);
    md.push_str(&super::mermaid::section(report));
    budgets_section(&mut md, report);
    coverage_section(&mut md, report);
    gates_section(&mut md, report);
    failing_tests_section(&mut md, report);
    steps_section(&mut md, report);
    let _ = writeln!(md, "## Changes\n\n{}\n", diffstat_line(report));
    if let Some(rollback) = &report.rollback {
        rollback_section(&mut md, rollback);
    }
    md.truncate(md.trim_end().len());
    md.push('\n');
    md
}

fn run_line(report: &RunReport) -> String {
    let mut parts = Vec::new();
    if !report.plan.path.is_empty() {
        parts.push(format!("plan {}", code(&report.plan.path)));
    }
    if !report.target.is_empty() {
        parts.push(format!("target {}", code(&report.target)));
    }
    if !report.run_id.is_empty() {
        parts.push(format!("run {}", code(&report.run_id)));
    }
    parts.push(duration(Some(report.duration_s)));
    if let Some(exit) = report.exit_code {
        parts.push(format!("exit {exit}"));
    }
    parts.join(" · ")
}

fn records_section(md: &mut String, report: &RunReport) {
    if report.records.is_empty() {
        return;
    }
    let (names, reference) = columns(&report.records, &report.baselines_used);
    let others: Vec<&str> = match reference {
        Some(r) => names.iter().copied().filter(|n| *n != r).collect(),
        None => Vec::new(),
    };
    md.push_str("## Records\n\n| metric |");
    for name in &names {
        let _ = write!(md, " {} |", text(name));
    }
    for other in &others {
        let _ = write!(
            md,
            " {}/{} |",
            text(other),
            text(reference.unwrap_or_default())
        );
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(names.len()));
    md.push_str(&"---|".repeat(others.len()));
    md.push('\n');
    let records = || {
        names
            .iter()
            .filter_map(|name| Some((*name, report.records.get(*name)?)))
    };
    let metric = |name: &str, path: &str| report.records.get(name)?.metric(path);
    let optional = OPTIONAL_ROWS
        .iter()
        .filter(|row| names.iter().any(|n| metric(n, row.path).is_some()));
    for row in ROWS.iter().chain(optional) {
        let label = if row.path == "wall.median" {
            "wall.median ± stddev"
        } else {
            row.path
        };
        let _ = write!(md, "| {label} |");
        for (_, record) in records() {
            let _ = write!(md, " {} |", cell(record, row));
        }
        if let Some(base) = reference {
            let base = metric(base, row.path);
            for other in &others {
                let ratio = match (row.path, reference) {
                    ("wall.median", Some(r)) => speed_cell(&report.records, other, r),
                    _ => ratio_cell(metric(other, row.path), base, row.compare),
                };
                let _ = write!(md, " {ratio} |");
            }
        }
        md.push('\n');
    }
    let mut notes = Vec::new();
    for (name, source) in &report.baselines_used {
        notes.push(format!(
            "- {} comes from the saved baseline {}, not from this run",
            code(name),
            code(source)
        ));
    }
    for (name, record) in records() {
        if !record.flaky.is_empty() {
            notes.push(format!(
                "- flaky in {}: {}",
                code(name),
                flaky_list(&record.flaky)
            ));
        }
    }
    if !notes.is_empty() {
        md.push('\n');
        md.push_str(&notes.join("\n"));
        md.push('\n');
    }
    md.push('\n');
}

/// Every test over its budget, per record, slowest first: what to paste into `pytest`.
fn budgets_section(md: &mut String, report: &RunReport) {
    let (names, _) = columns(&report.records, &report.baselines_used);
    let over: Vec<(&str, &crate::measure::record::Record)> = names
        .iter()
        .filter_map(|n| Some((*n, report.records.get(*n)?)))
        .filter(|(_, r)| !r.over_budget.is_empty())
        .collect();
    if over.is_empty() {
        return;
    }
    md.push_str(
        "## Over budget

| record | test | median | budget | over by |
|---|---|---:|---:|---:|
",
    );
    for (name, record) in over {
        for o in &record.over_budget {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} ({}) | {} |",
                text(name),
                code(&o.id),
                fmt_seconds(o.seconds),
                fmt_seconds(o.budget),
                code(&o.key),
                fmt_seconds(o.seconds - o.budget)
            );
        }
    }
    md.push('\n');
}

/// How many files the coverage table lists at most.
const COVERAGE_FILES_LISTED: usize = 30;

/// Line coverage per record and per file (the least covered first, by the first record).
fn coverage_section(md: &mut String, report: &RunReport) {
    let (names, _) = columns(&report.records, &report.baselines_used);
    let covered: Vec<(&str, &crate::measure::coverage::Coverage)> = names
        .iter()
        .filter_map(|n| Some((*n, report.records.get(*n)?.coverage.as_ref()?)))
        .collect();
    let Some((_, first)) = covered.first() else {
        return;
    };
    md.push_str(
        "## Coverage

| file |",
    );
    for (name, _) in &covered {
        let _ = write!(md, " {} |", text(name));
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(covered.len()));
    md.push_str("\n| **total** |");
    for (_, c) in &covered {
        let _ = write!(md, " **{:.2}%** |", c.percent);
    }
    md.push('\n');
    let files = crate::measure::coverage::lowest(first, COVERAGE_FILES_LISTED);
    for (path, _) in &files {
        let _ = write!(md, "| {} |", code(path));
        for (_, c) in &covered {
            match c.files.get(*path) {
                Some(f) => {
                    let _ = write!(md, " {:.1}% |", f.percent);
                }
                None => {
                    let _ = write!(md, " {MISSING} |");
                }
            }
        }
        md.push('\n');
    }
    if first.files.len() > files.len() {
        let _ = writeln!(
            md,
            "\n{} more files, all covered at least as well (report.json lists every file)",
            first.files.len() - files.len()
        );
    }
    md.push('\n');
}

fn flaky_list(flaky: &[String]) -> String {
    let mut ids: Vec<String> = flaky.iter().take(FLAKY_LISTED).map(|id| code(id)).collect();
    if flaky.len() > FLAKY_LISTED {
        ids.push(format!("and {} more", flaky.len() - FLAKY_LISTED));
    }
    ids.join(", ")
}

fn gates_section(md: &mut String, report: &RunReport) {
    if report.gates.is_empty() {
        return;
    }
    md.push_str("## Gates\n\n| verdict | check | explanation | why |\n|---|---|---|---|\n");
    for gate in &report.gates {
        let said = gate.explanation.as_deref().map(code);
        let mut said = match (said, &gate.message) {
            (Some(e), Some(m)) => format!("{e}<br>{}", text(m)),
            (Some(e), None) => e,
            (None, Some(m)) => text(m),
            (None, None) => MISSING.to_string(),
        };
        if let Some(tests) = gate.tests_phrase() {
            said = format!("{said}<br>{}", text(&tests));
        }
        for detail in &gate.details {
            said.push_str("<br>");
            said.push_str(&text(detail));
        }
        let _ = writeln!(
            md,
            "| {} {} | {} | {} | {} |",
            gate.status.icon(),
            gate.status.word(),
            code(&gate.check),
            said,
            gate.why.as_deref().map_or_else(String::new, text),
        );
    }
    md.push('\n');
}

/// Every test that failed, errored or was flaky in a record: the ones the gates name first,
/// then the others; one column per record, and the failure's message.
fn failing_tests_section(md: &mut String, report: &RunReport) {
    let mut ids: Vec<&str> = Vec::new();
    let named = report
        .gates
        .iter()
        .flat_map(|g| g.tests.iter().map(|t| t.id.as_str()));
    let failed = report.records.values().flat_map(|r| {
        r.failures
            .iter()
            .map(|f| f.id.as_str())
            .chain(r.flaky.iter().map(String::as_str))
    });
    for id in named.chain(failed) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return;
    }
    let (names, _) = columns(&report.records, &report.baselines_used);
    md.push_str("## Failing tests\n\n| test |");
    for name in &names {
        let _ = write!(md, " {} |", text(name));
    }
    md.push_str(" message |\n|---|");
    md.push_str(&"---|".repeat(names.len() + 1));
    md.push('\n');
    for id in ids.iter().take(FAILING_LISTED) {
        let _ = write!(md, "| {} |", code(id));
        let mut message = None;
        for name in &names {
            let Some(record) = report.records.get(*name) else {
                continue;
            };
            let failure = record.failures.iter().find(|f| f.id == *id);
            let cell = match failure {
                Some(f) if f.runs < record.runs => {
                    format!("⚠️ flaky ({}/{} runs failed)", f.runs, record.runs)
                }
                Some(f) if f.outcome == crate::measure::junit::Outcome::Error => {
                    "💥 error".to_string()
                }
                Some(_) => "❌ failed".to_string(),
                None if record.flaky.iter().any(|f| f == id) => "⚠️ flaky".to_string(),
                None if record.durations.contains_key(*id) => "✅ ok".to_string(),
                None => MISSING.to_string(),
            };
            if message.is_none() {
                message = failure.and_then(|f| {
                    let m = f.message.as_deref()?;
                    Some(match (&f.file, f.line) {
                        (Some(file), Some(n)) => format!("{} ({file}:{n})", first_line(m)),
                        _ => first_line(m).to_string(),
                    })
                });
            }
            let _ = write!(md, " {cell} |");
        }
        let _ = writeln!(
            md,
            " {} |",
            message.as_deref().map(text).unwrap_or_default()
        );
    }
    if ids.len() > FAILING_LISTED {
        let _ = writeln!(md, "\nand {} more", ids.len() - FAILING_LISTED);
    }
    md.push('\n');
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

fn steps_section(md: &mut String, report: &RunReport) {
    if report.steps.is_empty() {
        return;
    }
    md.push_str("## Steps\n\n| status | phase | step | action | duration | note |\n");
    md.push_str("|---|---|---|---|---:|---|\n");
    for step in &report.steps {
        let mut note = step.message.as_deref().map(text).unwrap_or_default();
        if let Some(log) = &step.log {
            if !note.is_empty() {
                note.push_str("<br>");
            }
            let _ = write!(note, "log: {}", code(log));
        }
        let _ = writeln!(
            md,
            "| {} {} | {} | {} | {} | {} | {note} |",
            step.status.icon(),
            step.status.word(),
            text(&step.phase),
            text(&step.id),
            text(&step.action),
            duration(step.duration_s),
        );
    }
    md.push('\n');
}

fn diffstat_line(report: &RunReport) -> String {
    let d = &report.diffstat;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!(
        "{} changed, {}(+), {}(-)",
        plural(d.files, "file", "files"),
        plural(d.insertions, "insertion", "insertions"),
        plural(d.deletions, "deletion", "deletions"),
    );
    if report.rollback.as_ref().is_some_and(|r| r.ok) {
        line.push_str(", all undone by the rollback");
    }
    line
}

fn rollback_section(md: &mut String, rollback: &RollbackInfo) {
    let outcome = if rollback.ok {
        "✅ completed".to_string()
    } else {
        format!(
            "❌ failed: {}; the journal was kept",
            rollback
                .message
                .as_deref()
                .map_or_else(|| "unknown error".into(), text)
        )
    };
    let _ = writeln!(md, "## Rollback\n\n{}: {outcome}\n", text(&rollback.reason));
    for (label, items) in rollback.lists() {
        if !items.is_empty() {
            let list: Vec<String> = items.iter().map(|i| code(i)).collect();
            let _ = writeln!(md, "- {label}: {}", list.join(", "));
        }
    }
}

/// A duration as `0.80 s`, `108.40 s` or `2 min 23 s`.
pub(super) fn duration(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s.is_finite() && s >= 60.0 => {
            let whole = s.round() as u64;
            format!("{} min {} s", whole / 60, whole % 60)
        }
        Some(s) if s.is_finite() => fmt_seconds(s),
        _ => MISSING.to_string(),
    }
}

/// Plain text made safe for a table cell: no HTML, no column breaks, no line breaks.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A code span that holds `s` verbatim, safe in a table cell: the fence is longer than any run
/// of backticks inside, and pipes are escaped because GFM splits cells before code spans.
fn code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let body = s.replace('|', "\\|").replace(['\n', '\r'], " ");
    if longest > 0 || body.starts_with(' ') || body.ends_with(' ') {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
