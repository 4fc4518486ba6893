//! Rolling a run back, one service for `apply` (after a failed step or gate, or a signal) and
//! for `planrun rollback` alike: end what a killed run left running (its services by their stop
//! commands, uv's lock, its processes), replay its journal, and say each thing as an event for
//! the caller's sinks to show. Nothing here prints.

use std::path::{Path, PathBuf};

use crate::exec::services::{self, LeftBehind};
use crate::journal::error::RollbackError;
use crate::journal::outcome::RollbackReport;
use crate::journal::replay::{self, RollbackOptions};
use crate::journal::{paths, state};

/// Which run to roll back.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// This run (the apply rolling itself back).
    Run(&'a str),
    /// The newest run still in effect (`planrun rollback`: runs stack like commits).
    Latest,
}

/// What a rollback did, one event each.
#[derive(Debug)]
pub enum RollbackEvent {
    /// A service (or its directory) that run `run_id` left behind was dealt with.
    LeftBehind {
        /// The run.
        run_id: String,
        /// What was done.
        left: LeftBehind,
    },
    /// uv's lock file, left in an environment when the run was killed, was removed.
    LockCleared {
        /// The run.
        run_id: String,
        /// The lock file.
        path: PathBuf,
    },
    /// Processes the run left running were ended.
    ProcessesEnded {
        /// The run.
        run_id: String,
        /// How many distinct processes.
        count: usize,
    },
    /// The journal was replayed: what was undone.
    Undone(RollbackReport),
}

/// Rolls back `which` on `target`, emitting what it does; `Ok(false)` when there was no run to
/// roll back. The error is the replay's; the orphans are ended whatever it is.
pub fn roll_back(
    target: &Path,
    which: Which<'_>,
    opts: RollbackOptions,
    emit: &mut dyn FnMut(RollbackEvent),
) -> Result<bool, RollbackError> {
    end_orphans(target, which, emit);
    let report = match which {
        Which::Run(run_id) => Some(replay::rollback_run(target, run_id, opts)?),
        Which::Latest => replay::rollback_latest(target, opts)?,
    };
    let undone = report.is_some();
    if let Some(report) = report {
        emit(RollbackEvent::Undone(report));
    }
    Ok(undone)
}

/// Ends processes that a killed apply left running, before their files are restored: its
/// services first, each by its stop command as the apply would have, then everything else.
/// For `Which::Run`, only that run's (an apply has stopped its own; this finds what escaped).
fn end_orphans(target: &Path, which: Which<'_>, emit: &mut dyn FnMut(RollbackEvent)) {
    let Ok(runs) = state::history(target) else {
        return;
    };
    let mine = |id: &str| match which {
        Which::Run(run_id) => run_id == id,
        Which::Latest => true,
    };
    let running = runs.iter().filter(|r| r.status == state::Status::Running);
    for run in running.filter(|r| mine(&r.id)) {
        let run_id = run.id.clone();
        for left in services::stop_left_behind(target, &run.id) {
            let run_id = run_id.clone();
            emit(RollbackEvent::LeftBehind { run_id, left });
        }
        let run_dir = paths::run_dir(target, &run.id);
        if let Some(path) = crate::envjournal::affected::clear_left_lock(&run_dir) {
            let run_id = run_id.clone();
            emit(RollbackEvent::LockCleared { run_id, path });
        }
        let record = paths::orphan_groups(&run_dir);
        // Distinct processes: the sweep by mark skips what the group kill just signalled.
        let reaped = crate::process::orphans::reap_pids(&record);
        let count = reaped.len() + crate::process::scope::end_left(&run.id, &reaped);
        if count > 0 {
            emit(RollbackEvent::ProcessesEnded { run_id, count });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::Journal;
    use crate::journal::state::RunMeta;

    /// A target with one run that created `new.txt` and rewrote `kept.txt`.
    fn applied(t: &Path) -> String {
        std::fs::write(t.join("kept.txt"), "before").unwrap();
        let journal = Journal::begin(
            t,
            RunMeta {
                plan: "p".into(),
                plan_path: "p.toml".into(),
                plan_hash: String::new(),
            },
        )
        .unwrap();
        for (rel, text) in [("new.txt", "x"), ("kept.txt", "after")] {
            let abs = journal.record_file(Path::new(rel)).unwrap();
            std::fs::write(abs, text).unwrap();
        }
        journal.seal_files().unwrap();
        journal.run_id().to_string()
    }

    /// The events, with what differs between two targets (run ids, timings) left out.
    fn shown(events: &[RollbackEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                RollbackEvent::Undone(r) => format!(
                    "undone {} {:?}",
                    r.plan,
                    r.actions
                        .iter()
                        .map(|a| format!("{} {:?}", a.subject, a.outcome))
                        .collect::<Vec<_>>()
                ),
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// The apply's rollback of its own run and `planrun rollback` of the latest one are the
    /// same service: for the same journal they do the same and say the same.
    #[test]
    fn apply_and_the_rollback_command_emit_the_same_events_for_the_same_journal() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let run_a = applied(a.path());
        applied(b.path());
        let mut by_apply = Vec::new();
        let done = roll_back(a.path(), Which::Run(&run_a), Default::default(), &mut |e| {
            by_apply.push(e)
        });
        assert!(done.unwrap());
        let mut by_command = Vec::new();
        let done = roll_back(b.path(), Which::Latest, Default::default(), &mut |e| {
            by_command.push(e)
        });
        assert!(done.unwrap());
        assert_eq!(shown(&by_apply), shown(&by_command));
        assert_eq!(by_apply.len(), 1, "{by_apply:?}");
        for t in [a.path(), b.path()] {
            assert!(!t.join("new.txt").exists());
            assert_eq!(
                std::fs::read_to_string(t.join("kept.txt")).unwrap(),
                "before"
            );
        }
        // Nothing is left to roll back, and nothing is said.
        let mut again = Vec::new();
        let done = roll_back(b.path(), Which::Latest, Default::default(), &mut |e| {
            again.push(e)
        });
        assert!(!done.unwrap());
        assert!(again.is_empty());
    }
}
