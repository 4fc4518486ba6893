//! `planrun rollback`: undo the most recent apply still in effect (runs stack like commits),
//! refuse to overwrite what a person changed since, and end a journal by hand (`--abandon`).

use crate::cli::RollbackArgs;
use crate::error::{Error, Result};
use crate::exec::rollback::{self, RollbackEvent, Which};
use crate::exit;
use crate::journal::error::JournalError;
use crate::journal::explain::foreign_warnings;
use crate::journal::lock::{Lock, LockError};
use crate::journal::replay::RollbackOptions;
use crate::journal::{paths, render, state};
use crate::ui;

/// Runs `planrun rollback`.
pub fn run(args: &RollbackArgs) -> Result<u8> {
    let target = &args.target;
    let shown = target.display();
    if !target.is_dir() {
        return Err(Error::invalid(
            format!("target `{shown}` is not a directory"),
            None,
        ));
    }
    if paths::existing_state_dir(target)
        .map_err(Error::from)?
        .is_none()
    {
        ui::note(&format!(
            "nothing to roll back: no planrun runs in `{shown}`"
        ));
        return Ok(exit::OK);
    }
    let (_lock, cleared) = Lock::acquire_breaking_stale(target, "rollback").map_err(|e| {
        let hint = match &e {
            LockError::Held { .. } => Some("wait for that process to finish, then run this again"),
            _ => e.hint(),
        };
        Error::Lock {
            hint: Some(hint.map_or("nothing was rolled back".into(), |h| {
                format!("nothing was rolled back; {h}")
            })),
            source: Box::new(e),
        }
    })?;
    if let Some(info) = cleared {
        ui::note(&format!(
            "cleared the stale lock of `{}` (pid {} on {}, started {})",
            info.command, info.pid, info.host, info.started
        ));
    }
    if let Some(run_id) = &args.abandon {
        return abandon(target, run_id);
    }
    foreign_warnings(target).iter().for_each(|w| ui::warn(w));
    let opts = RollbackOptions { force: args.force };
    match rollback::roll_back(target, Which::Latest, opts, &mut show) {
        Ok(true) => Ok(exit::OK),
        Ok(false) => {
            ui::note(&format!(
                "nothing to roll back: every run in `{shown}` is rolled back"
            ));
            Ok(exit::OK)
        }
        Err(e) => Err(Error::rollback(target, e)),
    }
}

/// `--abandon RUN`: ends one of this user's runs without undoing it (kept in history), or moves
/// a journal not written here to `.planrun/quarantine/`.
fn abandon(target: &std::path::Path, run_id: &str) -> Result<u8> {
    let dir = paths::checked_run_dir(target, run_id).map_err(Error::from)?;
    // Its records are checked too: a journal whose meta is intact but whose records were
    // edited is no more this user's than one with a forged meta.
    let trusted = state::read_record(&dir)
        .and_then(|record| crate::journal::entry::read_log(&dir, false).map(|_| record));
    match trusted {
        Ok(mut record) => {
            if matches!(
                record.status,
                state::Status::RolledBack | state::Status::Abandoned
            ) {
                ui::note(&format!(
                    "run {run_id} is already {}; nothing to do",
                    record.status.as_str()
                ));
                return Ok(exit::OK);
            }
            let was = record.status;
            record.status = state::Status::Abandoned;
            record.finished = Some(crate::timestamp::now());
            crate::journal::reserve::write_status(&dir, &record).map_err(Error::from)?;
            ui::out(&format!(
                "abandoned run {run_id} (plan {}, was {}): planrun no longer undoes it, and what it changed stays as it is now; its journal is kept in .planrun/journal/{run_id}",
                record.plan,
                was.as_str()
            ));
            Ok(exit::OK)
        }
        Err(JournalError::Foreign { .. } | JournalError::Corrupt { .. }) => {
            let quarantine = paths::ensure_quarantine_dir(target).map_err(Error::from)?;
            let to = quarantine.join(run_id);
            std::fs::rename(&dir, &to)
                .map_err(|e| Error::io(format!("failed to move `{}` aside", dir.display()), e))?;
            ui::out(&format!(
                "set aside journal {run_id}, which was not written here, in {}; planrun never acted on it",
                to.display()
            ));
            Ok(exit::OK)
        }
        Err(e) => Err(e.into()),
    }
}

/// The terminal of `planrun rollback`: each leftover of a killed run as a note, and what the
/// replay undid on stdout.
fn show(event: RollbackEvent) {
    match &event {
        RollbackEvent::Undone(report) => {
            let color = ui::stdout_color();
            for line in render::rollback_lines(report) {
                ui::out(&ui::render(&line, color));
            }
        }
        other => {
            if let Some(note) = crate::report::words::rollback_note(other) {
                ui::note(&note);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::Journal;
    use crate::journal::state::{RunMeta, Status};
    use std::path::Path;

    fn args(target: &Path) -> RollbackArgs {
        RollbackArgs {
            target: target.to_path_buf(),
            force: false,
            abandon: None,
        }
    }

    #[test]
    fn rolls_back_then_reports_nothing_left() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        assert_eq!(run(&args(t)).unwrap(), exit::OK);
        assert!(
            !paths::state_dir(t).exists(),
            "no state dir for a target never applied"
        );
        let journal = Journal::begin(
            t,
            RunMeta {
                plan: "p".into(),
                plan_path: "p.toml".into(),
                plan_hash: String::new(),
            },
        )
        .unwrap();
        let abs = journal.record_file(Path::new("new.txt")).unwrap();
        std::fs::write(abs, "x").unwrap();
        journal.set_status(Status::Applied).unwrap();
        assert_eq!(run(&args(t)).unwrap(), exit::OK);
        assert!(!t.join("new.txt").exists());
        assert_eq!(run(&args(t)).unwrap(), exit::OK);
    }

    #[test]
    fn incomplete_rollback_exits_4_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        let journal = Journal::begin(
            t,
            RunMeta {
                plan: "p".into(),
                plan_path: "p.toml".into(),
                plan_hash: String::new(),
            },
        )
        .unwrap();
        journal
            .record_undo("s", "exit 3", &Default::default(), t)
            .unwrap();
        let err = run(&args(t)).unwrap_err();
        let Error::Rollback { source, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(err.code(), exit::ROLLBACK_FAILED);
        let message = crate::error::rollback_message(source);
        assert!(message.contains("exit 3"), "{message}");
        assert!(err
            .hint()
            .unwrap_or_default()
            .contains("planrun rollback --target"));
    }
}
