//! `planrun rollback`: undo the most recent apply still in effect (runs stack like commits),
//! refuse to overwrite what a person changed since, and end a journal by hand (`--abandon`).

use crate::cli::RollbackArgs;
use crate::error::{Error, Result};
use crate::exit;
use crate::journal::error::JournalError;
use crate::journal::explain::foreign_warnings;
use crate::journal::lock::{Lock, LockError};
use crate::journal::replay::RollbackOptions;
use crate::journal::{paths, render, replay, state};
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
    end_orphans(target);
    let color = ui::stdout_color();
    let opts = RollbackOptions { force: args.force };
    match replay::rollback_latest(target, opts) {
        Ok(Some(report)) => {
            for line in render::rollback_lines(&report) {
                ui::out(&ui::render(&line, color));
            }
            Ok(exit::OK)
        }
        Ok(None) => {
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

/// Ends processes that a killed apply left running, before their files are restored: its
/// services first, each by its stop command as the apply would have, then everything else.
fn end_orphans(target: &std::path::Path) {
    let Ok(runs) = state::history(target) else {
        return;
    };
    for run in runs.iter().filter(|r| r.status == state::Status::Running) {
        for left in crate::exec::services::stop_left_behind(target, &run.id) {
            ui::note(&crate::exec::words::left_behind(&left, &run.id));
        }
        let run_dir = paths::run_dir(target, &run.id);
        if let Some(lock) = crate::envjournal::affected::clear_left_lock(&run_dir) {
            ui::note(&format!(
                "removed `{}`, which uv left in the environment when the run {} was killed",
                lock.display(),
                run.id
            ));
        }
        let record = paths::orphan_groups(&run_dir);
        // Distinct processes: the sweep by mark skips what the group kill just signalled.
        let reaped = crate::process::orphans::reap_pids(&record);
        let killed = reaped.len() + crate::process::scope::end_left(&run.id, &reaped);
        if killed > 0 {
            ui::note(&format!(
                "ended {killed} process(es) left running by the interrupted run {}",
                run.id
            ));
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
