//! What planrun says when a rollback stops: the details to show, the message and what to do
//! next, the same for `planrun rollback` and for apply's own rollback. The exit code is the
//! error's own (`Error::code`).

use std::path::Path;

use super::error::{JournalError, RollbackError};
use super::{render, state};
use crate::ui;

/// Prints what a rollback has to show before its error line: each drifted path with its diff,
/// or what an incomplete rollback did undo.
pub fn rollback_details(target: &Path, e: &RollbackError, color: bool) {
    let _ = target;
    match e {
        RollbackError::Drift { drift, .. } => {
            for d in drift {
                let tracked = if d.git_dirty {
                    " (tracked by git, with uncommitted changes)"
                } else {
                    ""
                };
                ui::err(&format!(
                    "changed since the apply: {}{tracked}",
                    ui::paint(color, ui::Style::Bold, &d.path)
                ));
                ui::err(d.diff.trim_end());
            }
        }
        RollbackError::Incomplete { report, .. } => {
            for line in render::rollback_lines(report, color).into_iter().skip(1) {
                ui::out(&line);
            }
        }
        RollbackError::Journal(_) => {}
    }
}

/// The error line of a rollback that stopped or did not finish.
pub fn rollback_message(e: &RollbackError) -> String {
    match e {
        RollbackError::Drift { run_id, drift } => format!(
            "rollback of run `{run_id}` stopped: {} path(s) changed since planrun wrote them; nothing was touched",
            drift.len()
        ),
        RollbackError::Incomplete {
            run_id, failures, ..
        } => {
            let list: Vec<String> = failures.iter().map(|f| format!("\n  - {f}")).collect();
            format!("rollback of run `{run_id}` is incomplete:{}", list.concat())
        }
        RollbackError::Journal(
            e @ (JournalError::Foreign { .. } | JournalError::UntrustedStateDir { .. }),
        ) => crate::error::with_causes(e),
        RollbackError::Journal(e) => {
            format!("rollback failed: {}", crate::error::with_causes(e))
        }
    }
}

/// What to do after a rollback of `target` stopped or did not finish.
pub fn rollback_hint(target: &Path, e: &RollbackError) -> String {
    let shown = target.display();
    match e {
        RollbackError::Drift { run_id, .. } => format!(
            "keep your changes elsewhere first, or run `planrun rollback --force --target {shown}` to restore anyway after saving your versions in .planrun/journal/{run_id}/drift/"
        ),
        RollbackError::Incomplete { run_id, .. } => format!(
            "fix the cause above, then run `planrun rollback --target {shown}` again: it retries only what is left, and the journal is kept in .planrun/journal/{run_id}; if you put things right by hand, `planrun rollback --abandon {run_id} --target {shown}` ends the run"
        ),
        RollbackError::Journal(JournalError::Foreign { .. } | JournalError::UntrustedStateDir { .. }) => {
            "nothing was done".into()
        }
        RollbackError::Journal(_) => format!(
            "the journal is kept in `{shown}/.planrun/journal`; fix the cause and run `planrun rollback --target {shown}` again"
        ),
    }
}

/// Warns about journals in the target that were not written here: they are never replayed.
pub fn warn_foreign(target: &Path) {
    if let Ok(foreign) = state::foreign_runs(target) {
        for id in foreign {
            ui::warn(&format!(
                "`.planrun/journal/{id}` was not written here (by this user on this machine) and is ignored; inspect it, then `planrun rollback --abandon {id}` sets it aside"
            ));
        }
    }
}
