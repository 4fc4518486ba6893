//! `planrun report`: re-renders a past run's `report.json` as Markdown, JSON, JUnit XML or HTML.

use std::fs;
use std::io;
use std::path::Path;

use crate::cli::{ReportArgs, ReportFormat};
use crate::error::{Error, Result};
use crate::exit;
use crate::journal::paths::{self, REPORT_JSON};
use crate::report::json::{from_json, to_json};
use crate::report::junit::to_junit;
use crate::report::markdown::to_markdown;
use crate::report::model::RunReport;
use crate::ui;

/// At most this many run ids are listed when the one asked for does not exist.
const RUNS_LISTED: usize = 10;

/// Runs `planrun report`.
pub fn run(args: &ReportArgs) -> Result<u8> {
    if let Some(crate::cli::ReportAction::Merge(merge)) = &args.action {
        return super::merge::run(merge);
    }
    let report = load(&args.target, args.run.as_deref())?;
    ui::out(render(&report, args.format).trim_end_matches('\n'));
    Ok(exit::OK)
}

/// The report in the chosen format.
fn render(report: &RunReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Markdown => to_markdown(report),
        ReportFormat::Json => to_json(report),
        ReportFormat::Junit => to_junit(report),
        ReportFormat::Html => crate::report::html::to_html(report),
    }
}

/// Reads the report of run `wanted` (default: the newest) in `target`.
pub(super) fn load(target: &Path, wanted: Option<&str>) -> Result<RunReport> {
    let run = pick_run(&list_runs(&paths::reports_dir(target))?, wanted, target)?;
    let path = paths::report_json(target, &run);
    let text = fs::read_to_string(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::invalid(
            format!("run `{run}` has no `{REPORT_JSON}`"),
            Some(
                "the run may have been killed before its first step; `planrun history` lists runs",
            ),
        ),
        _ => Error::io(format!("failed to read `{}`", path.display()), e),
    })?;
    from_json(&text).map_err(|e| {
        Error::invalid(
            format!("failed to parse `{}`: {e}", path.display()),
            Some("the file may have been edited or written by another planrun version"),
        )
    })
}

/// The run directories' names, oldest first (run ids sort by time); none when there is no
/// `.planrun/runs/` at all.
fn list_runs(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("failed to list `{}`", dir.display()), e)),
    };
    let mut runs = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::io(format!("failed to list `{}`", dir.display()), e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if let Some(name) = entry.file_name().to_str() {
                runs.push(name.to_string());
            }
        }
    }
    runs.sort();
    Ok(runs)
}

/// The run to show: `wanted` when it exists, else the newest; an error naming the choices when
/// there is none.
fn pick_run(runs: &[String], wanted: Option<&str>, target: &Path) -> Result<String> {
    let Some(newest) = runs.last() else {
        return Err(Error::invalid(
            format!("no run yet in `{}`", target.display()),
            Some("`planrun apply PLAN --target DIR` records a run to report on"),
        ));
    };
    let Some(wanted) = wanted else {
        return Ok(newest.clone());
    };
    if runs.iter().any(|r| r == wanted) {
        return Ok(wanted.to_string());
    }
    let mut listed: Vec<String> = runs
        .iter()
        .rev()
        .take(RUNS_LISTED)
        .map(|r| format!("`{r}`"))
        .collect();
    if runs.len() > RUNS_LISTED {
        listed.push(format!("and {} older", runs.len() - RUNS_LISTED));
    }
    Err(Error::invalid(
        format!("no run `{wanted}` in `{}`", target.display()),
        Some(&format!(
            "available runs, newest first: {}",
            listed.join(", ")
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::write::write_all;

    fn message_of(err: Error) -> (String, Option<String>, u8) {
        let code = err.code();
        match err {
            Error::Message { message, hint } => (message, hint, code),
            other => panic!("unexpected error {other:?}"),
        }
    }

    fn report_named(run_id: &str) -> RunReport {
        RunReport {
            run_id: run_id.into(),
            ..RunReport::default()
        }
    }

    fn target_with_runs(ids: &[&str]) -> tempfile::TempDir {
        let target = tempfile::tempdir().unwrap();
        for id in ids {
            let dir = paths::report_dir(target.path(), id);
            fs::create_dir_all(&dir).unwrap();
            write_all(&dir, &report_named(id)).unwrap();
        }
        target
    }

    #[test]
    fn no_runs_is_a_clear_usage_error() {
        let target = tempfile::tempdir().unwrap();
        let (message, hint, code) = message_of(load(target.path(), None).unwrap_err());
        assert!(message.starts_with("no run yet in `"), "{message}");
        assert!(hint.unwrap().contains("planrun apply"));
        assert_eq!(code, exit::INVALID);
    }

    #[test]
    fn the_newest_run_is_the_default() {
        let target = target_with_runs(&["20250301T101500Z-aaaa", "20250302T090000Z-bbbb"]);
        fs::write(paths::reports_dir(target.path()).join("zzz-not-a-dir"), "x").unwrap();
        let report = load(target.path(), None).unwrap();
        assert_eq!(report.run_id, "20250302T090000Z-bbbb");
        let older = load(target.path(), Some("20250301T101500Z-aaaa")).unwrap();
        assert_eq!(older.run_id, "20250301T101500Z-aaaa");
    }

    #[test]
    fn an_unknown_run_lists_the_available_ones_newest_first() {
        let target = target_with_runs(&["r1", "r2"]);
        let (message, hint, code) = message_of(load(target.path(), Some("r9")).unwrap_err());
        assert!(message.starts_with("no run `r9` in `"), "{message}");
        assert_eq!(hint.unwrap(), "available runs, newest first: `r2`, `r1`");
        assert_eq!(code, exit::INVALID);
    }

    #[test]
    fn long_run_lists_are_cut() {
        let runs: Vec<String> = (10..25).map(|i| format!("r{i}")).collect();
        let (_, hint, _) = message_of(pick_run(&runs, Some("x"), Path::new(".")).unwrap_err());
        let hint = hint.unwrap();
        assert!(
            hint.starts_with("available runs, newest first: `r24`, `r23`"),
            "{hint}"
        );
        assert!(hint.ends_with("`r15`, and 5 older"), "{hint}");
    }

    #[test]
    fn a_run_without_report_or_with_a_broken_one_says_so() {
        let target = target_with_runs(&[]);
        fs::create_dir_all(paths::report_dir(target.path(), "r1")).unwrap();
        let (message, _, _) = message_of(load(target.path(), None).unwrap_err());
        assert_eq!(message, "run `r1` has no `report.json`");
        fs::write(paths::report_json(target.path(), "r1"), "{").unwrap();
        let (message, hint, _) = message_of(load(target.path(), None).unwrap_err());
        assert!(message.starts_with("failed to parse `"), "{message}");
        assert!(hint.is_some());
    }

    #[test]
    fn each_format_renders_its_document() {
        let report = report_named("r1");
        assert!(render(&report, ReportFormat::Markdown).starts_with("# planrun — "));
        assert!(render(&report, ReportFormat::Json).contains("\"run_id\": \"r1\""));
        assert!(render(&report, ReportFormat::Junit).starts_with("<?xml"));
        assert!(render(&report, ReportFormat::Html).starts_with("<!DOCTYPE html>"));
    }
}
