//! Where planrun keeps its state in a target: every path under `.planrun/` is built here, and
//! every directory there is made and checked here (a real directory of this user, never
//! followed through a symlink).
//!
//! ```text
//! .planrun/
//!   .gitignore            `*`: git ignores all of it
//!   lock                  one apply per target (`super::lock`)
//!   journal/<run>/        a run's journal; `groups` records its process groups
//!   journal/<run>/drift/  a person's versions of drifted files, kept by `rollback --force`
//!   runs/<run>/           a run's reports (report.json, junit.xml, summary.md, report.html)
//!   runs/<run>/events.jsonl  its events as they happened, one JSON line each, appended
//!   runs/<run>/logs/      its steps' logs
//!   runs/<run>/junit/     its pytest suites' junit files, while they run
//!   baselines/<name>.json saved suite records
//!   quarantine/<run>/     journals not written here, set aside by `rollback --abandon`
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::JournalError;
use crate::fsutil::STATE_DIR;

/// The JSON report's file name in a run's report directory (and in `--report-dir`).
pub const REPORT_JSON: &str = "report.json";
/// The JUnit report's file name in a run's report directory.
pub const JUNIT_XML: &str = "junit.xml";
/// The Markdown summary's file name in a run's report directory.
pub const SUMMARY_MD: &str = "summary.md";
/// The HTML report's file name in a run's report directory.
pub const REPORT_HTML: &str = "report.html";
/// The run's event log in its report directory: one JSON line per event, appended as the run
/// goes (not copied to `--report-dir`: `report.json` is the run's summary).
pub const EVENTS_JSONL: &str = "events.jsonl";
/// Every report file a run's report directory holds.
pub const REPORT_FILES: [&str; 4] = [REPORT_JSON, JUNIT_XML, SUMMARY_MD, REPORT_HTML];

/// The largest journal log read: far above any real run's, low enough that a planted file
/// cannot exhaust memory (a device or a symlink is refused before any size counts).
pub const MAX_LOG: u64 = 1 << 30;
/// The largest small state file read (`meta.json`, `lock`).
pub const MAX_SMALL: u64 = 1 << 20;

const JOURNAL: &str = "journal";
const RUNS: &str = "runs";
const LOGS: &str = "logs";
const JUNIT: &str = "junit";
const DRIFT: &str = "drift";
const BASELINES: &str = "baselines";
const QUARANTINE: &str = "quarantine";
const LOCK: &str = "lock";
const HISTORY: &str = "history.jsonl";

/// `.planrun/` inside `target`.
pub fn state_dir(target: &Path) -> PathBuf {
    target.join(STATE_DIR)
}

/// `.planrun/history.jsonl`: one line per apply on the target (`--history` may name another).
pub fn history_file(target: &Path) -> PathBuf {
    state_dir(target).join(HISTORY)
}

/// `.planrun/lock`: who is applying to the target.
pub fn lock_path(target: &Path) -> PathBuf {
    state_dir(target).join(LOCK)
}

/// `.planrun/journal/`: one directory per run.
pub fn journal_dir(target: &Path) -> PathBuf {
    state_dir(target).join(JOURNAL)
}

/// `.planrun/journal/<run>/`: the journal of one run.
pub fn run_dir(target: &Path, run_id: &str) -> PathBuf {
    journal_dir(target).join(run_id)
}

/// The record of the process groups a run started, in its journal directory `run_dir`.
pub fn orphan_groups(run_dir: &Path) -> PathBuf {
    run_dir.join(crate::process::orphans::FILE)
}

/// Where `rollback --force` keeps a person's versions of drifted files, in the journal
/// directory `run_dir`.
pub fn drift_dir(run_dir: &Path) -> PathBuf {
    run_dir.join(DRIFT)
}

/// `.planrun/runs/`: one report directory per run.
pub fn reports_dir(target: &Path) -> PathBuf {
    state_dir(target).join(RUNS)
}

/// `.planrun/runs/<run>/`: the reports of one run.
pub fn report_dir(target: &Path, run_id: &str) -> PathBuf {
    reports_dir(target).join(run_id)
}

/// `.planrun/runs/<run>/report.json`.
pub fn report_json(target: &Path, run_id: &str) -> PathBuf {
    report_dir(target, run_id).join(REPORT_JSON)
}

/// The step logs of the run whose report directory is `report_dir`.
pub fn logs_dir(report_dir: &Path) -> PathBuf {
    report_dir.join(LOGS)
}

/// The junit files of the pytest suites of the run whose report directory is `report_dir`
/// (removed after each suite).
pub fn junit_dir(report_dir: &Path) -> PathBuf {
    report_dir.join(JUNIT)
}

/// `.planrun/baselines/`: saved suite records, one `<name>.json` each.
pub fn baselines_dir(target: &Path) -> PathBuf {
    state_dir(target).join(BASELINES)
}

/// Creates `.planrun/` with a `.gitignore` that makes git ignore all of it, or checks the one
/// there. It is made whole under a private name and renamed into place, so concurrent first
/// applies never see it half made; one that exists must be a real directory of this user.
pub fn ensure_state_dir(target: &Path) -> Result<PathBuf, JournalError> {
    let dir = state_dir(target);
    let ctx = |what: &str, p: &Path| format!("{what} `{}`", p.display());
    if fs::symlink_metadata(&dir).is_err() {
        let tmp = target.join(format!(
            "{STATE_DIR}.{}.{:x}.tmp",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        fs::create_dir(&tmp).map_err(|e| JournalError::io(ctx("create", &tmp), e))?;
        let made = fs::write(tmp.join(".gitignore"), b"*\n").and_then(|()| fs::rename(&tmp, &dir));
        if made.is_err() {
            // Someone else made it first (the rename found it not empty), or it failed: either
            // way only the directory now in place counts, and it is checked below.
            let _ = fs::remove_dir_all(&tmp);
        }
        if let Err(e) = made {
            if fs::symlink_metadata(&dir).is_err() {
                return Err(JournalError::io(ctx("create", &dir), e));
            }
        }
    }
    check_dir(&dir)?;
    let ignore = dir.join(".gitignore");
    if fs::symlink_metadata(&ignore).is_err() {
        let written = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&ignore)
            .and_then(|mut f| io::Write::write_all(&mut f, b"*\n"));
        match written {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(JournalError::io(ctx("write", &ignore), e)),
        }
    }
    Ok(dir)
}

/// `.planrun/journal/`, created when missing and checked.
pub fn ensure_journal_dir(target: &Path) -> Result<PathBuf, JournalError> {
    ensure_subdir(target, &[JOURNAL])
}

/// `.planrun/runs/`, created when missing and checked.
pub fn ensure_reports_dir(target: &Path) -> Result<PathBuf, JournalError> {
    ensure_subdir(target, &[RUNS])
}

/// `.planrun/runs/<run>/` and its `logs/`, created when missing and checked; returns the
/// report directory.
pub fn ensure_report_dir(target: &Path, run_id: &str) -> Result<PathBuf, JournalError> {
    let logs = ensure_subdir(target, &[RUNS, run_id, LOGS])?;
    Ok(logs.parent().map_or(logs.clone(), Path::to_path_buf))
}

/// `.planrun/baselines/`, created when missing and checked.
pub fn ensure_baselines_dir(target: &Path) -> Result<PathBuf, JournalError> {
    ensure_subdir(target, &[BASELINES])
}

/// `.planrun/baselines/` when it exists and is trustworthy; `None` when it does not exist.
pub fn existing_baselines_dir(target: &Path) -> Result<Option<PathBuf>, JournalError> {
    existing_subdir(target, &[BASELINES])
}

/// `.planrun/quarantine/`, created when missing and checked.
pub fn ensure_quarantine_dir(target: &Path) -> Result<PathBuf, JournalError> {
    ensure_subdir(target, &[QUARANTINE])
}

/// `.planrun/` when it exists and is trustworthy; `None` when it does not exist.
pub fn existing_state_dir(target: &Path) -> Result<Option<PathBuf>, JournalError> {
    existing_subdir(target, &[])
}

/// `.planrun/journal/` when it exists and is trustworthy; `None` when it does not exist.
pub fn existing_journal_dir(target: &Path) -> Result<Option<PathBuf>, JournalError> {
    existing_subdir(target, &[JOURNAL])
}

/// The journal directory of run `run_id` as given on a command line: refused unless it is a
/// run id (so it cannot name a path elsewhere) and a real directory.
pub fn checked_run_dir(target: &Path, run_id: &str) -> Result<PathBuf, JournalError> {
    let plausible = !run_id.is_empty()
        && run_id.len() <= 64
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let dir = run_dir(target, run_id);
    if !plausible || fs::symlink_metadata(&dir).is_err() {
        return Err(JournalError::NoSuchRun(run_id.to_string()));
    }
    check_dir(&dir)?;
    Ok(dir)
}

/// Refuses a state directory that is a symlink, not a directory, or not this user's.
pub fn check_dir(dir: &Path) -> Result<(), JournalError> {
    let meta = fs::symlink_metadata(dir)
        .map_err(|e| JournalError::io(format!("inspect `{}`", dir.display()), e))?;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let what = if meta.file_type().is_symlink() {
        "a symlink".to_string()
    } else if !meta.is_dir() {
        "not a directory".to_string()
    } else if std::os::unix::fs::MetadataExt::uid(&meta) != me {
        format!(
            "owned by uid {}, not by you",
            std::os::unix::fs::MetadataExt::uid(&meta)
        )
    } else {
        return Ok(());
    };
    Err(JournalError::UntrustedStateDir {
        path: dir.to_path_buf(),
        what,
    })
}

/// `.planrun/<parts...>` inside `target`, each directory created when missing and checked.
fn ensure_subdir(target: &Path, parts: &[&str]) -> Result<PathBuf, JournalError> {
    let mut dir = ensure_state_dir(target)?;
    for part in parts {
        dir.push(part);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(JournalError::io(format!("create `{}`", dir.display()), e)),
        }
        check_dir(&dir)?;
    }
    Ok(dir)
}

/// `.planrun/<parts...>` when it exists and every directory on the way is trustworthy.
fn existing_subdir(target: &Path, parts: &[&str]) -> Result<Option<PathBuf>, JournalError> {
    let mut dir = state_dir(target);
    if fs::symlink_metadata(&dir).is_err() {
        return Ok(None);
    }
    check_dir(&dir)?;
    for part in parts {
        dir.push(part);
        if fs::symlink_metadata(&dir).is_err() {
            return Ok(None);
        }
        check_dir(&dir)?;
    }
    Ok(Some(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_lies_under_the_state_dir() {
        let t = Path::new("t");
        assert_eq!(lock_path(t), Path::new("t/.planrun/lock"));
        assert_eq!(run_dir(t, "r1"), Path::new("t/.planrun/journal/r1"));
        assert_eq!(report_dir(t, "r1"), Path::new("t/.planrun/runs/r1"));
        assert_eq!(
            report_json(t, "r1"),
            Path::new("t/.planrun/runs/r1/report.json")
        );
        assert_eq!(
            logs_dir(&report_dir(t, "r1")),
            Path::new("t/.planrun/runs/r1/logs")
        );
        assert_eq!(baselines_dir(t), Path::new("t/.planrun/baselines"));
    }

    #[test]
    fn report_dirs_come_with_their_logs_and_refuse_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        let made = ensure_report_dir(t, "r1").unwrap();
        assert_eq!(made, report_dir(t, "r1"));
        assert!(logs_dir(&made).is_dir());
        assert_eq!(existing_journal_dir(t).unwrap(), None);
        std::os::unix::fs::symlink(t, journal_dir(t)).unwrap();
        assert!(matches!(
            existing_journal_dir(t),
            Err(JournalError::UntrustedStateDir { .. })
        ));
        assert!(matches!(
            checked_run_dir(t, "../r1"),
            Err(JournalError::NoSuchRun(_))
        ));
    }
}
