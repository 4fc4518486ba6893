//! `planrun rollback`: undo the most recent apply still in effect (runs stack like commits).

use crate::cli::TargetArgs;
use crate::error::{Error, Result};
use crate::exit;
use crate::journal::error::RollbackError;
use crate::journal::lock::{Lock, LockError};
use crate::journal::{render, replay, state};
use crate::ui;

/// Runs `planrun rollback`.
pub fn run(args: &TargetArgs) -> Result<u8> {
    let target = &args.target;
    let shown = target.display();
    if !target.is_dir() {
        return Err(Error::invalid(
            format!("target `{shown}` is not a directory"),
            None,
        ));
    }
    if !state::state_dir(target).is_dir() {
        ui::note(&format!(
            "nothing to roll back: no planrun runs in `{shown}`"
        ));
        return Ok(exit::OK);
    }
    let failed = |message: String, hint: String| Error::Message {
        message,
        hint: Some(hint),
        code: exit::ROLLBACK_FAILED,
    };
    let (_lock, cleared) = Lock::acquire_breaking_stale(target, "rollback").map_err(|e| {
        let hint = match &e {
            LockError::Held { .. } => Some("wait for that process to finish, then run this again"),
            _ => e.hint(),
        };
        failed(
            crate::error::with_causes(&e),
            hint.map_or("nothing was rolled back".into(), |h| {
                format!("nothing was rolled back; {h}")
            }),
        )
    })?;
    if let Some(info) = cleared {
        ui::note(&format!(
            "cleared the stale lock of `{}` (pid {} on {}, started {})",
            info.command, info.pid, info.host, info.started
        ));
    }
    end_orphans(target);
    let color = ui::stdout_color();
    match replay::rollback_latest(target) {
        Ok(Some(report)) => {
            for line in render::rollback_lines(&report, color) {
                ui::out(&line);
            }
            Ok(exit::OK)
        }
        Ok(None) => {
            ui::note(&format!("nothing to roll back: every run in `{shown}` is rolled back"));
            Ok(exit::OK)
        }
        Err(RollbackError::Incomplete {
            run_id,
            failures,
            report,
        }) => {
            for line in render::rollback_lines(&report, color).into_iter().skip(1) {
                ui::out(&line);
            }
            let list: Vec<String> = failures.iter().map(|f| format!("\n  - {f}")).collect();
            Err(failed(
                format!("rollback of run `{run_id}` is incomplete:{}", list.concat()),
                format!(
                    "fix the cause above, then run `planrun rollback --target {shown}` again; \
                     what was undone stays undone and the journal is kept in \
                     .planrun/journal/{run_id}"
                ),
            ))
        }
        Err(RollbackError::Journal(e)) => Err(failed(
            format!("rollback failed: {e}"),
            format!("the journal is kept in `{shown}/.planrun/journal`; fix the cause and run `planrun rollback --target {shown}` again"),
        )),
    }
}

/// Ends processes that a killed apply left running, before their files are restored.
fn end_orphans(target: &std::path::Path) {
    let Ok(runs) = state::history(target) else {
        return;
    };
    for run in runs.iter().filter(|r| r.status == state::Status::Running) {
        let record = state::run_dir(target, &run.id).join(crate::exec::orphans::FILE);
        let killed = crate::exec::orphans::reap(&record);
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

    fn args(target: &Path) -> TargetArgs {
        TargetArgs {
            target: target.to_path_buf(),
        }
    }

    #[test]
    fn rolls_back_then_reports_nothing_left() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        assert_eq!(run(&args(t)).unwrap(), exit::OK);
        assert!(
            !state::state_dir(t).exists(),
            "no state dir for a target never applied"
        );
        let journal = Journal::begin(
            t,
            RunMeta {
                plan: "p".into(),
                plan_path: "p.toml".into(),
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
            },
        )
        .unwrap();
        journal
            .record_undo("s", "exit 3", &Default::default(), t)
            .unwrap();
        let err = run(&args(t)).unwrap_err();
        let Error::Message {
            code,
            hint,
            message,
        } = &err
        else {
            panic!("{err}");
        };
        assert_eq!(*code, exit::ROLLBACK_FAILED);
        assert!(message.contains("exit 3"), "{message}");
        assert!(hint
            .as_deref()
            .unwrap_or("")
            .contains("planrun rollback --target"));
    }
}
