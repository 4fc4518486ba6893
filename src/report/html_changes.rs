//! What the apply did, in the HTML report: its steps on a timeline with their logs linked, the
//! diff of every file it changed, and what a rollback put back.

use std::fmt::Write;
use std::path::Path;

use super::markdown::duration;
use super::markup::{code, mark};
use super::model::{RunReport, StepStatus};
use super::svg::esc;

pub(super) fn steps_section(page: &mut String, report: &RunReport) {
    page.push_str("<section id=\"steps\">\n<h2>Steps</h2>\n");
    if report.steps.is_empty() {
        page.push_str("<p class=\"muted\">No steps.</p>\n</section>\n");
        return;
    }
    let end = report
        .steps
        .iter()
        .filter_map(|s| Some(s.started_s? + s.duration_s.unwrap_or(0.0)))
        .fold(report.duration_s, f64::max)
        .max(f64::MIN_POSITIVE);
    page.push_str(
        "<table class=\"steps\">\n<thead><tr><th>status</th><th>phase</th><th>step</th>\
         <th>action</th><th>duration</th><th class=\"timeline\">when</th><th>log</th>\
         <th>note</th></tr></thead>\n<tbody>\n",
    );
    for step in &report.steps {
        let bar = match (step.started_s, step.duration_s) {
            (Some(start), Some(d)) => format!(
                "<span class=\"tl\"><span class=\"{}\" style=\"margin-left:{:.1}%;width:{:.1}%\"></span></span>",
                step_class(step.status),
                (start / end * 100.0).clamp(0.0, 100.0),
                (d / end * 100.0).clamp(0.3, 100.0),
            ),
            _ => String::new(),
        };
        let log = step
            .log
            .as_deref()
            .map(|l| {
                format!(
                    "<a href=\"{}\">{}</a>",
                    esc(&log_href(report, l)),
                    esc(file_name(l))
                )
            })
            .unwrap_or_default();
        let mut note = step
            .message
            .as_deref()
            .map(esc)
            .unwrap_or_default()
            .into_owned();
        if !step.changed.is_empty() {
            let files: Vec<String> = step.changed.iter().map(|f| code(f)).collect();
            let _ = write!(
                note,
                "<div class=\"muted\">changed {}</div>",
                files.join(", ")
            );
        }
        let _ = writeln!(
            page,
            "<tr><td><span class=\"badge {}\">{} {}</span></td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"timeline\">{bar}</td><td>{log}</td><td>{note}</td></tr>",
            step_class(step.status),
            mark(step_class(step.status)),
            step.status.word(),
            esc(&step.phase),
            code(&step.id),
            esc(&step.action),
            esc(&duration(step.duration_s)),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");
}

fn step_class(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Ok => "pass",
        StepStatus::Failed => "fail",
        StepStatus::Unchanged | StepStatus::Skipped | StepStatus::Pending => "skip",
        StepStatus::Running => "warn",
    }
}

/// The link to a step's log (a target-relative path) from the run's report directory, where
/// report.html is: logs of this run sit beside it, anything else is three levels up.
pub(super) fn log_href(report: &RunReport, log: &str) -> String {
    let own = crate::journal::paths::report_dir(Path::new(""), &report.run_id);
    let path = Path::new(log);
    let rel = match path.strip_prefix(&own) {
        Ok(rest) if !report.run_id.is_empty() => rest.to_string_lossy().into_owned(),
        _ if path.is_absolute() => log.to_string(),
        _ => format!("../../../{log}"),
    };
    percent_encode(&rel)
}

/// `path` with every byte outside the unreserved set and `/` percent-encoded.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub(super) fn changes_section(page: &mut String, report: &RunReport) {
    let d = &report.diffstat;
    let _ = write!(
        page,
        "<section id=\"changes\">\n<h2>Changes</h2>\n<p>{}, {} insertions(+), {} deletions(−){}.</p>\n",
        if d.files == 1 {
            "1 file changed".to_string()
        } else {
            format!("{} files changed", d.files)
        },
        d.insertions,
        d.deletions,
        if report.rollback.as_ref().is_some_and(|r| r.ok) {
            ", all undone by the rollback"
        } else {
            ""
        }
    );
    if report.diff.is_empty() && d.files > 0 {
        page.push_str(
            "<p class=\"muted\">This report holds no diff (an older planrun wrote it).</p>\n",
        );
    }
    for file in &report.diff {
        let _ = write!(
            page,
            "<details open><summary>{}</summary><pre class=\"diff\">",
            code(&file.path)
        );
        for line in file.diff.lines() {
            let class = if line.starts_with("+++") || line.starts_with("---") {
                "file"
            } else if line.starts_with("@@") {
                "hunk"
            } else if line.starts_with('+') {
                "add"
            } else if line.starts_with('-') {
                "del"
            } else {
                "ctx"
            };
            // Block spans, one per line: a newline between them would show as an empty line.
            let _ = write!(page, "<span class=\"{class}\">{}</span>", esc(line));
        }
        if file.truncated {
            page.push_str("<span class=\"hunk\">… cut here: the diff is longer</span>");
        }
        page.push_str("</pre></details>\n");
    }
    page.push_str("</section>\n");
}

pub(super) fn rollback_section(page: &mut String, report: &RunReport) {
    let Some(rollback) = &report.rollback else {
        return;
    };
    let outcome = if rollback.ok {
        "completed".to_string()
    } else {
        format!(
            "failed: {}; the journal was kept",
            rollback.message.as_deref().unwrap_or("unknown error")
        )
    };
    let _ = write!(
        page,
        "<section id=\"rollback\">\n<h2>Rollback</h2>\n<p>{}: <span class=\"badge {}\">{}</span></p>\n<ul>",
        esc(&rollback.reason),
        if rollback.ok { "pass" } else { "fail" },
        esc(&outcome)
    );
    for (label, items) in rollback.lists() {
        if !items.is_empty() {
            let list: Vec<String> = items.iter().map(|i| code(i)).collect();
            let _ = write!(page, "<li>{label}: {}</li>", list.join(", "));
        }
    }
    page.push_str("</ul>\n</section>\n");
}
