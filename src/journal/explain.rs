//! What planrun says when a rollback stops or a journal is refused: the message, what to do
//! next, and the exit code, the same for `planrun rollback` and for apply's own rollback.

use std::path::Path;

use super::error::{JournalError, RollbackError};
use super::{render, state};
use crate::error::Error;
use crate::exit;
use crate::ui;

/// The error of a rollback that did not finish, with what to do next; shared with apply's
/// automatic rollback so both say the same thing.
pub fn rollback_error(target: &Path, e: RollbackError, color: bool) -> Error {
    let shown = target.display();
    match e {
        RollbackError::Drift { run_id, drift } => {
            for d in &drift {
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
            Error::Message {
                message: format!(
                    "rollback of run `{run_id}` stopped: {} path(s) changed since planrun wrote them; nothing was touched",
                    drift.len()
                ),
                hint: Some(format!(
                    "keep your changes elsewhere first, or run `planrun rollback --force --target {shown}` to restore anyway after saving your versions in .planrun/journal/{run_id}/drift/"
                )),
                code: exit::DRIFT,
            }
        }
        RollbackError::Incomplete {
            run_id,
            failures,
            report,
        } => {
            for line in render::rollback_lines(&report, color).into_iter().skip(1) {
                ui::out(&line);
            }
            let list: Vec<String> = failures.iter().map(|f| format!("\n  - {f}")).collect();
            Error::Message {
                message: format!("rollback of run `{run_id}` is incomplete:{}", list.concat()),
                hint: Some(format!(
                    "fix the cause above, then run `planrun rollback --target {shown}` again: it retries only what is left, and the journal is kept in .planrun/journal/{run_id}; if you put things right by hand, `planrun rollback --abandon {run_id} --target {shown}` ends the run"
                )),
                code: exit::ROLLBACK_FAILED,
            }
        }
        RollbackError::Journal(e @ (JournalError::Foreign { .. } | JournalError::UntrustedStateDir { .. })) => refused(e),
        RollbackError::Journal(e) => Error::Message {
            message: format!("rollback failed: {e}"),
            hint: Some(format!("the journal is kept in `{shown}/.planrun/journal`; fix the cause and run `planrun rollback --target {shown}` again")),
            code: exit::ROLLBACK_FAILED,
        },
    }
}

/// A state directory or journal planrun will not act on.
pub fn refused(e: JournalError) -> Error {
    Error::Message {
        message: e.to_string(),
        hint: Some("nothing was done".into()),
        code: exit::INVALID,
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
