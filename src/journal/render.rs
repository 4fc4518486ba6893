//! Text for people: a rollback report and the history table, as lines of styled spans that
//! `crate::ui` renders with or without colour.

use super::outcome::{Outcome, RollbackReport};
use super::state::{RunSummary, Status};
use crate::styled::{Style, Styled};

/// The lines describing a rollback: a headline, then one line per change made.
pub fn rollback_lines(report: &RollbackReport) -> Vec<Styled> {
    if report.already_rolled_back {
        let mut line = Styled::new();
        line.plain(format!(
            "run {} (plan {}) was already rolled back",
            report.run_id, report.plan
        ));
        return vec![line];
    }
    let mut head = Styled::new();
    head.styled(Style::BoldGreen, "rolled back").plain(format!(
        " run {} (plan {}) in {}",
        report.run_id,
        report.plan,
        millis(report.seconds)
    ));
    let mut lines = vec![head];
    let mut unchanged = 0;
    for action in &report.actions {
        let (word, detail) = match &action.outcome {
            Outcome::Unchanged => {
                unchanged += 1;
                continue;
            }
            Outcome::Restored => ("restored", String::new()),
            Outcome::Deleted => ("deleted", String::new()),
            Outcome::DirRemoved => ("removed", String::new()),
            Outcome::DirKept => ("kept", " (holds files planrun did not create)".into()),
            Outcome::VenvRemoved => ("removed", " (venv created by the run)".into()),
            Outcome::UndoRan => ("undo ran", String::new()),
            Outcome::AlreadyDone => ("undo ran", " (in an earlier rollback)".into()),
            Outcome::CachesRemoved { count: 1 } => ("removed", " (a cache the run created)".into()),
            Outcome::CachesRemoved { count } => {
                ("removed", format!(" ({count} caches the run created)"))
            }
            Outcome::EnvRestored {
                removed, restored, ..
            } => {
                let mut parts: Vec<String> = removed.iter().map(|p| format!("-{p}")).collect();
                parts.extend(restored.iter().map(|p| format!("+{p}")));
                ("packages", format!(": {}", parts.join(" ")))
            }
        };
        lines.push(labelled(
            Style::Cyan,
            word,
            format!("{}{detail}", action.subject),
        ));
    }
    for (path, copy) in &report.saved {
        let rest = format!("{path}: your version is in {}", copy.display());
        lines.push(labelled(Style::Yellow, "saved", rest));
    }
    for (path, now) in &report.leftovers {
        let rest = format!(
            "{path} (created by the run's commands) to {}",
            now.display()
        );
        lines.push(labelled(Style::Cyan, "moved", rest));
    }
    if unchanged > 0 {
        let mut line = Styled::new();
        line.plain("  ")
            .styled(Style::Dim, format!("{unchanged} already as they were"));
        lines.push(line);
    }
    lines
}

/// `  word      rest`: the word styled, padded to a column of 9 outside its style.
fn labelled(style: Style, word: &str, rest: String) -> Styled {
    let pad = 9usize.saturating_sub(word.chars().count());
    let mut line = Styled::new();
    line.plain("  ")
        .styled(style, word)
        .plain(format!("{:pad$} {rest}", ""));
    line
}

/// The history table, newest first; `interrupted` names a run to show as interrupted.
pub fn history_lines(runs: &[RunSummary], interrupted: Option<&str>) -> Vec<Styled> {
    let rows: Vec<[String; 5]> = runs
        .iter()
        .map(|run| {
            let status = if Some(run.id.as_str()) == interrupted {
                "interrupted"
            } else {
                run.status.as_str()
            };
            [
                run.id.clone(),
                run.plan.clone(),
                run.started.clone(),
                status.to_string(),
                run.files_touched.to_string(),
            ]
        })
        .collect();
    let header = ["RUN", "PLAN", "STARTED", "STATUS", "FILES"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5], styles: [Option<Style>; 5]| {
        let mut out = Styled::new();
        let last = row.len() - 1;
        for (i, ((cell, w), style)) in row.iter().zip(widths).zip(styles).enumerate() {
            out.push(style, cell.clone());
            if i < last {
                let pad = w - cell.chars().count() + 2;
                out.plain(format!("{:pad$}", ""));
            }
        }
        out
    };
    let mut lines = vec![line(&header, [Some(Style::Bold); 5])];
    for (row, run) in rows.iter().zip(runs) {
        let status_style = match run.status {
            _ if Some(run.id.as_str()) == interrupted => Style::BoldRed,
            Status::Applied => Style::Green,
            Status::RolledBack | Status::Abandoned => Style::Dim,
            Status::Running | Status::Failed => Style::Yellow,
        };
        lines.push(line(row, [None, None, None, Some(status_style), None]));
    }
    lines
}

fn millis(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::outcome::RollbackAction;

    fn action(outcome: Outcome, subject: &str) -> RollbackAction {
        RollbackAction {
            seq: 1,
            outcome,
            subject: subject.into(),
            seconds: 0.001,
        }
    }

    #[test]
    fn rollback_lines_list_changes_and_count_the_rest() {
        let report = RollbackReport {
            run_id: "20261121T140501Z-05af".into(),
            plan: "xdist".into(),
            already_rolled_back: false,
            actions: vec![
                action(Outcome::Deleted, "pytest.ini"),
                action(Outcome::Unchanged, "a"),
                action(
                    Outcome::EnvRestored {
                        removed: vec!["six".into()],
                        restored: vec!["pip==23.2.1".into()],
                        files_deleted: 3,
                        files_written: 2,
                    },
                    ".venv/bin/python",
                ),
            ],
            seconds: 0.012,
            saved: Vec::new(),
            leftovers: Vec::new(),
        };
        let lines = rollback_lines(&report);
        assert_eq!(lines[0].spans()[0].style, Some(Style::BoldGreen));
        assert_eq!(lines[1].spans()[1].style, Some(Style::Cyan));
        assert_eq!(lines[1].spans()[1].text, "deleted");
        assert_eq!(lines[3].spans()[1].style, Some(Style::Dim));
        assert_eq!(
            lines.iter().map(Styled::text).collect::<Vec<_>>(),
            vec![
                "rolled back run 20261121T140501Z-05af (plan xdist) in 12 ms",
                "  deleted   pytest.ini",
                "  packages  .venv/bin/python: -six +pip==23.2.1",
                "  1 already as they were",
            ]
        );
    }

    #[test]
    fn history_table_aligns_and_marks_the_interrupted_run() {
        let run = |id: &str, status| RunSummary {
            id: id.into(),
            plan: "xdist".into(),
            started: "2026-11-21T14:05:01Z".into(),
            status,
            files_touched: 3,
        };
        let runs = [run("B", Status::Running), run("A", Status::Applied)];
        let lines = history_lines(&runs, Some("B"));
        let status = |line: &Styled| {
            line.spans()
                .iter()
                .find_map(|s| s.style.map(|st| (st, s.text.clone())))
        };
        assert_eq!(status(&lines[0]), Some((Style::Bold, "RUN".to_string())));
        assert_eq!(
            status(&lines[1]),
            Some((Style::BoldRed, "interrupted".to_string()))
        );
        assert_eq!(
            status(&lines[2]),
            Some((Style::Green, "applied".to_string()))
        );
        assert_eq!(
            lines.iter().map(Styled::text).collect::<Vec<_>>(),
            vec![
                "RUN  PLAN   STARTED               STATUS       FILES",
                "B    xdist  2026-11-21T14:05:01Z  interrupted  3",
                "A    xdist  2026-11-21T14:05:01Z  applied      3",
            ]
        );
    }
}
