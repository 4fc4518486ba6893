//! The HTML report (`report.html`): one self-contained page a person reads to decide whether to
//! keep an optimization. Inline CSS and SVG only: no script, no font, no request (its content
//! security policy forbids them), light and dark from `prefers-color-scheme`.
//!
//! It shows the verdict and every gate with its values and interval, each record's runs on one
//! time axis, per-test before/after (a scatter and the tests that saved and lost the most), each
//! record's memory over time, the steps with their logs, and the diff the apply made.

use std::fmt::Write;

use super::charts;
use super::compare::{cell, columns, fmt_seconds, ratio_cell, speed, speed_cell, MISSING, ROWS};
use super::html_changes;
use super::markdown::duration;
use super::markup::{breakable, code, mark};
use super::model::{GateReport, IntervalReport, RunReport, RunStatus};
use super::pertest::{comparisons, Comparison, TestChange};
use super::svg::esc;
use crate::measure::interval::RatioInterval;

/// Tests listed in each of the "saved most" and "lost most" tables.
pub const TOP_TESTS: usize = 20;

/// The stylesheet: colours as variables, swapped for dark mode.
const CSS: &str = include_str!("html.css");

/// The report as one HTML document.
pub fn to_html(report: &RunReport) -> String {
    let tests: usize = report.records.values().map(|r| r.durations.len()).sum();
    let mut page = String::with_capacity(16 * 1024 + tests * 200);
    let plan = if report.plan.name.is_empty() {
        "planrun"
    } else {
        report.plan.name.as_str()
    };
    let status_class = run_class(report.status);
    let verdict = format!("{} {}", mark(status_class), report.status.phrase());
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{} — {}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        esc(plan),
        esc(&verdict)
    );
    let _ = writeln!(
        page,
        "<header>\n<h1>{} <span class=\"verdict {status_class}\">{}</span></h1>",
        esc(plan),
        esc(&verdict)
    );
    if !report.plan.description.is_empty() {
        let _ = writeln!(
            page,
            "<p class=\"lead\">{}</p>",
            esc(&report.plan.description)
        );
    }
    run_facts(&mut page, report);
    if let Some(line) = headline(report) {
        let _ = writeln!(page, "<p class=\"headline\">{}</p>", esc(&line));
    }
    page.push_str(
        "<nav><a href=\"#gates\">Gates</a> <a href=\"#records\">Records</a> \
         <a href=\"#tests\">Tests</a> <a href=\"#memory\">Memory</a> \
         <a href=\"#steps\">Steps</a> <a href=\"#changes\">Changes</a></nav>\n</header>\n<main>\n",
    );
    gates_section(&mut page, report);
    records_section(&mut page, report);
    tests_section(&mut page, report);
    memory_section(&mut page, report);
    html_changes::steps_section(&mut page, report);
    html_changes::changes_section(&mut page, report);
    html_changes::rollback_section(&mut page, report);
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn run_facts(page: &mut String, report: &RunReport) {
    let mut facts: Vec<(&str, String)> = Vec::new();
    if !report.plan.path.is_empty() {
        facts.push(("plan", code(&report.plan.path)));
    }
    if !report.target.is_empty() {
        facts.push(("target", code(&report.target)));
    }
    if !report.run_id.is_empty() {
        facts.push(("run", code(&report.run_id)));
    }
    if !report.started.is_empty() {
        facts.push(("started", esc(&report.started).into_owned()));
    }
    facts.push(("took", esc(&duration(Some(report.duration_s))).into_owned()));
    if let Some(exit) = report.exit_code {
        facts.push(("exit", exit.to_string()));
    }
    page.push_str("<dl class=\"facts\">");
    for (name, value) in facts {
        let _ = write!(page, "<div><dt>{name}</dt><dd>{value}</dd></div>");
    }
    page.push_str("</dl>\n");
}

/// `baseline 18.2 s → after 812 ms: 22.4x faster, 99% CI 18.1-27.6x, paired over 6 pairs`, for
/// the reference and each other record: the figure the verdicts use ([`speed`]).
fn headline(report: &RunReport) -> Option<String> {
    let (names, reference) = columns(&report.records, &report.baselines_used);
    let reference = reference?;
    let base = report.records.get(reference)?.wall.median;
    let parts: Vec<String> = names
        .iter()
        .filter(|n| **n != reference)
        .filter_map(|name| {
            let m = report.records.get(*name)?.wall.median;
            let versus = match speed(&report.records, name, reference) {
                Some(s) => s.describe(),
                // Records without their runs (an old report): the medians.
                None if m > 0.0 && base > 0.0 => {
                    let (ratio, word) = if m <= base {
                        (base / m, "faster")
                    } else {
                        (m / base, "slower")
                    };
                    format!("{ratio:.1}× {word}")
                }
                None => return None,
            };
            Some(format!("{name} {}: {versus}", fmt_seconds(m)))
        })
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "median wall time: {reference} {} → {}",
            fmt_seconds(base),
            parts.join(", ")
        )
    })
}

fn gates_section(page: &mut String, report: &RunReport) {
    page.push_str("<section id=\"gates\">\n<h2>Gates</h2>\n");
    if report.gates.is_empty() {
        page.push_str("<p class=\"muted\">The plan has no gates.</p>\n</section>\n");
        return;
    }
    let scale = charts::interval_scale(report);
    page.push_str(
        "<table class=\"gates\">\n<thead><tr><th>verdict</th><th>check</th><th>values</th>\
         <th>interval</th><th>why</th></tr></thead>\n<tbody>\n",
    );
    for gate in &report.gates {
        let _ = write!(
            page,
            "<tr><td><span class=\"badge {}\">{} {}</span></td><td>{}<div class=\"muted\">phase {}, on fail {}</div></td><td>{}</td><td>",
            gate_class(gate),
            mark(gate_class(gate)),
            gate.status.word(),
            code(&gate.check),
            esc(&gate.phase),
            esc(&gate.on_fail),
            gate_values(gate),
        );
        for interval in &gate.intervals {
            let _ = write!(
                page,
                "<div class=\"interval\">{}<div class=\"muted\">{}: {}</div></div>",
                scale
                    .as_ref()
                    .map(|s| charts::interval_bar(interval, s))
                    .unwrap_or_default(),
                esc(&interval.ratio),
                esc(&interval_text(interval)),
            );
        }
        let _ = writeln!(
            page,
            "</td><td>{}</td></tr>",
            gate.why.as_deref().map(esc).unwrap_or_default()
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");
}

/// The verdict's state class, as the gates' and steps' are named.
fn run_class(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Passed => "pass",
        RunStatus::GateFailed
        | RunStatus::StepFailed
        | RunStatus::RollbackFailed
        | RunStatus::BaselineRed => "fail",
        RunStatus::Interrupted | RunStatus::Inconclusive => "warn",
        RunStatus::Running => "skip",
    }
}

fn gate_class(gate: &GateReport) -> &'static str {
    use super::model::GateStatus::*;
    match gate.status {
        Pass => "pass",
        Fail | Error => "fail",
        Warn | Inconclusive => "warn",
        NotEvaluated => "skip",
    }
}

/// The explanation (or the reason there is none), then each value the gate read.
fn gate_values(gate: &GateReport) -> String {
    let mut out = String::new();
    if let Some(e) = &gate.explanation {
        out.push_str(&code(e));
    }
    if let Some(m) = &gate.message {
        let _ = write!(out, "<div>{}</div>", esc(m));
    }
    if !gate.values.is_empty() {
        out.push_str("<ul class=\"values\">");
        for (name, value) in &gate.values {
            let _ = write!(
                out,
                "<li><code>{}</code> = {}</li>",
                esc(name),
                esc(&number(*value))
            );
        }
        out.push_str("</ul>");
    }
    if out.is_empty() {
        out.push_str(MISSING);
    }
    out
}

/// `22.4x faster, 99% CI 18.1-27.6x, 2+2 runs`, worded as the terminal words it.
fn interval_text(i: &IntervalReport) -> String {
    RatioInterval {
        estimate: i.estimate,
        low: i.low,
        high: i.high,
        n_num: i.runs_num,
        n_den: i.runs_den,
        confidence: i.confidence,
    }
    .to_string()
}

fn records_section(page: &mut String, report: &RunReport) {
    page.push_str("<section id=\"records\">\n<h2>Records</h2>\n");
    let Some(chart) = charts::runs_chart(report) else {
        page.push_str("<p class=\"muted\">No suite was measured.</p>\n</section>\n");
        return;
    };
    page.push_str("<figure>");
    page.push_str(&chart);
    page.push_str(
        "<figcaption>Each dot is a run (hollow: a warmup run, not counted); the box spans the \
         middle half of the counted runs, the bar marks the median, the whiskers the fastest \
         and slowest run.</figcaption></figure>\n",
    );
    let (names, reference) = columns(&report.records, &report.baselines_used);
    let others: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| Some(*n) != reference)
        .collect();
    page.push_str("<table class=\"metrics\">\n<thead><tr><th>metric</th>");
    for (name, _, class) in charts::ordered(report) {
        let _ = write!(
            page,
            "<th><span class=\"key {class}\"></span>{}</th>",
            esc(name)
        );
    }
    if let Some(base) = reference {
        for other in &others {
            let _ = write!(page, "<th>{} / {}</th>", esc(other), esc(base));
        }
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for row in ROWS {
        let _ = write!(page, "<tr><th><code>{}</code></th>", row.path);
        for name in &names {
            if let Some(record) = report.records.get(*name) {
                let _ = write!(page, "<td class=\"num\">{}</td>", esc(&cell(record, row)));
            }
        }
        if let Some(reference) = reference {
            let base = report
                .records
                .get(reference)
                .and_then(|r| r.metric(row.path));
            for other in &others {
                let ratio = if row.path == "wall.median" {
                    speed_cell(&report.records, other, reference)
                } else {
                    let new = report.records.get(*other).and_then(|r| r.metric(row.path));
                    ratio_cell(new, base, row.compare)
                };
                let _ = write!(page, "<td class=\"num\">{}</td>", esc(&ratio));
            }
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n");
    for (name, source) in &report.baselines_used {
        let _ = writeln!(
            page,
            "<p class=\"note\">{} comes from the saved baseline {}, not from this run.</p>",
            code(name),
            code(source)
        );
    }
    for name in &names {
        let Some(record) = report.records.get(*name) else {
            continue;
        };
        let _ = write!(
            page,
            "<details><summary>{} <span class=\"muted\">{}</span></summary>",
            code(name),
            code(&record.command)
        );
        if !record.warnings.is_empty() {
            page.push_str("<ul class=\"warnings\">");
            for w in &record.warnings {
                let _ = write!(page, "<li>{}</li>", esc(w));
            }
            page.push_str("</ul>");
        }
        if !record.slowest_tests.is_empty() {
            page.push_str("<p>Slowest tests:</p><ol class=\"slowest\">");
            for t in &record.slowest_tests {
                let _ = write!(
                    page,
                    "<li>{} <span class=\"num\">{}</span></li>",
                    code(&t.id),
                    esc(&fmt_seconds(t.seconds))
                );
            }
            page.push_str("</ol>");
        }
        page.push_str("</details>\n");
    }
    page.push_str("</section>\n");
}

fn tests_section(page: &mut String, report: &RunReport) {
    page.push_str("<section id=\"tests\">\n<h2>Tests before and after</h2>\n");
    let pairs = comparisons(report);
    if pairs.is_empty() {
        page.push_str(
            "<p class=\"muted\">No two records both timed their tests (pytest suites do).</p>\n",
        );
    }
    for c in &pairs {
        comparison(page, c);
    }
    page.push_str("</section>\n");
}

fn comparison(page: &mut String, c: &Comparison) {
    let faster = c.shared.iter().filter(|t| t.after < t.before / 1.1).count();
    let slower = c.shared.iter().filter(|t| t.after > t.before * 1.1).count();
    let saved: f64 = c.shared.iter().map(|t| -t.delta()).sum();
    let _ = writeln!(
        page,
        "<h3>{} against {}</h3>\n<p>{} tests in both: {faster} more than 10% faster, {slower} \
         more than 10% slower; their medians add up to {} {}.{}</p>",
        code(c.after),
        code(c.before),
        c.shared.len(),
        esc(&fmt_seconds(saved.abs())),
        if saved >= 0.0 { "less" } else { "more" },
        only_note(c),
    );
    let _ = writeln!(
        page,
        "<figure class=\"scatter\">{}<figcaption>Each dot is a test: its median time in {} \
         across, in {} up, both on log scales. Below the diagonal it got faster (green), above \
         it slower (red, more than 10%); the dashed lines mark twice as fast and twice as \
         slow. Hover a dot for its test.</figcaption></figure>",
        charts::scatter(c),
        code(c.before),
        code(c.after)
    );
    top_table(page, "Saved the most time", &c.saved(TOP_TESTS), c);
    top_table(page, "Lost the most time", &c.lost(TOP_TESTS), c);
}

fn only_note(c: &Comparison) -> String {
    let mut parts = Vec::new();
    if c.only_before > 0 {
        parts.push(format!("{} only in {}", c.only_before, code(c.before)));
    }
    if c.only_after > 0 {
        parts.push(format!("{} only in {}", c.only_after, code(c.after)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" Tests {}.", parts.join(", "))
    }
}

fn top_table(page: &mut String, title: &str, tests: &[TestChange], c: &Comparison) {
    let _ = write!(page, "<h4>{title}</h4>");
    if tests.is_empty() {
        page.push_str("<p class=\"muted\">none</p>");
        return;
    }
    let widest = tests.iter().map(|t| t.delta().abs()).fold(0.0f64, f64::max);
    let _ = write!(
        page,
        "<table class=\"top\"><thead><tr><th>test</th><th>{}</th><th>{}</th><th colspan=\"2\">change</th></tr></thead><tbody>",
        esc(c.before),
        esc(c.after)
    );
    for t in tests {
        let share = if widest > 0.0 {
            t.delta().abs() / widest * 100.0
        } else {
            0.0
        };
        let class = if t.delta() < 0.0 { "faster" } else { "slower" };
        let sign = if t.delta() < 0.0 { "−" } else { "+" };
        let _ = write!(
            page,
            "<tr><td class=\"id\"><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{sign}{}</td><td class=\"bar\"><span class=\"{class}\" style=\"width:{share:.0}%\"></span></td></tr>",
            breakable(t.id),
            esc(&fmt_seconds(t.before)),
            esc(&fmt_seconds(t.after)),
            esc(&fmt_seconds(t.delta().abs())),
        );
    }
    page.push_str("</tbody></table>");
}

fn memory_section(page: &mut String, report: &RunReport) {
    page.push_str("<section id=\"memory\">\n<h2>Memory</h2>\n");
    let charts = charts::memory_charts(report);
    if charts.is_empty() {
        page.push_str(
            "<p class=\"muted\">No memory samples: the runs were not sampled, or came from an \
             older planrun.</p>\n",
        );
    } else {
        page.push_str(
            "<p>Resident memory of each run's whole process tree (xdist workers included) over \
             the run, on one memory axis; dashed lines are warmup runs.</p>\n",
        );
    }
    for (name, chart) in charts {
        let _ = writeln!(
            page,
            "<figure><figcaption>{}</figcaption>{chart}</figure>",
            code(&name)
        );
    }
    page.push_str("</section>\n");
}

/// A gate's value: whole numbers without decimals, others with up to four significant digits.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
