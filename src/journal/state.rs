//! The state directory `.planrun/` of a target, the runs recorded in it, and their history.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::entry;
use super::error::JournalError;
use super::lock;
use crate::fsutil::{self, STATE_DIR};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The apply is in progress, or was killed (see [`interrupted`]).
    Running,
    /// The apply finished and its changes are in effect.
    Applied,
    /// Every change of the run has been undone.
    RolledBack,
    /// The apply failed and its changes may still be (partly) in effect.
    Failed,
}

impl Status {
    /// The word shown to users and stored in `meta.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Applied => "applied",
            Status::RolledBack => "rolled-back",
            Status::Failed => "failed",
        }
    }
}

/// What the caller says about a run when it begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMeta {
    /// The plan's name.
    pub plan: String,
    /// The plan file.
    pub plan_path: PathBuf,
}

/// The contents of a run's `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run id, e.g. `20261121T140501Z-1f3a`.
    pub id: String,
    /// The plan's name.
    pub plan: String,
    /// The plan file.
    pub plan_path: PathBuf,
    /// When the run began (RFC 3339, UTC).
    pub started: String,
    /// Where the run stands.
    pub status: Status,
    /// When the status last changed away from running (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// The process that applied the run.
    pub pid: u32,
    /// The host that process ran on.
    pub host: String,
}

/// One line of `planrun history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The run id.
    pub id: String,
    /// The plan's name.
    pub plan: String,
    /// When the run began (RFC 3339, UTC).
    pub started: String,
    /// Where the run stands.
    pub status: Status,
    /// How many files the run journaled.
    pub files_touched: usize,
}

/// `.planrun/` inside `target`.
pub fn state_dir(target: &Path) -> PathBuf {
    target.join(STATE_DIR)
}

/// `.planrun/journal/` inside `target`.
pub fn journal_dir(target: &Path) -> PathBuf {
    state_dir(target).join("journal")
}

/// The directory of one run.
pub fn run_dir(target: &Path, run_id: &str) -> PathBuf {
    journal_dir(target).join(run_id)
}

/// Creates `.planrun/` with a `.gitignore` that makes git ignore all of it.
pub fn ensure_state_dir(target: &Path) -> Result<PathBuf, JournalError> {
    let dir = state_dir(target);
    let ctx = |what: &str, p: &Path| format!("{what} `{}`", p.display());
    fs::create_dir_all(&dir).map_err(|e| JournalError::io(ctx("create", &dir), e))?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        fsutil::write_atomic(&ignore, b"*\n", None)
            .map_err(|e| JournalError::io(ctx("write", &ignore), e))?;
    }
    Ok(dir)
}

/// A sortable run id for `now`: UTC seconds, then milliseconds and a random nibble in hex.
pub fn new_run_id(now: SystemTime, nibble: u8) -> String {
    let stamp: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let millis = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    format!("{stamp}-{millis:03x}{:x}", nibble & 0xf)
}

/// Reads a run's `meta.json`.
pub fn read_record(run_dir: &Path) -> Result<RunRecord, JournalError> {
    let path = run_dir.join("meta.json");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let id = run_dir.file_name().unwrap_or_default().to_string_lossy();
            return Err(JournalError::NoSuchRun(id.into_owned()));
        }
        Err(e) => return Err(JournalError::io(format!("read `{}`", path.display()), e)),
    };
    serde_json::from_str(&text).map_err(|e| JournalError::Corrupt {
        path,
        reason: e.to_string(),
    })
}

/// Writes a run's `meta.json` atomically.
pub fn write_record(run_dir: &Path, record: &RunRecord) -> Result<(), JournalError> {
    let path = run_dir.join("meta.json");
    let json = serde_json::to_vec_pretty(record).map_err(|e| JournalError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    fsutil::write_atomic(&path, &json, None)
        .map_err(|e| JournalError::io(format!("write `{}`", path.display()), e))
}

/// The run ids of a target, oldest first.
pub fn run_ids(target: &Path) -> Result<Vec<String>, JournalError> {
    let dir = journal_dir(target);
    let read = match fs::read_dir(&dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(JournalError::io(format!("read `{}`", dir.display()), e)),
    };
    let mut ids = Vec::new();
    for item in read {
        let item = item.map_err(|e| JournalError::io(format!("read `{}`", dir.display()), e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && item.path().join("meta.json").is_file() {
            ids.push(name);
        }
    }
    ids.sort();
    Ok(ids)
}

/// Every run recorded on `target`, newest first.
pub fn history(target: &Path) -> Result<Vec<RunSummary>, JournalError> {
    let mut runs = Vec::new();
    for id in run_ids(target)?.into_iter().rev() {
        let dir = run_dir(target, &id);
        let record = read_record(&dir)?;
        let files_touched = entry::read_log(&dir, false)?
            .iter()
            .filter(|r| r.entry.kind() == entry::FILE)
            .count();
        runs.push(RunSummary {
            id,
            plan: record.plan,
            started: record.started,
            status: record.status,
            files_touched,
        });
    }
    Ok(runs)
}

/// The newest run still marked running whose applying process is gone (killed, crashed, or
/// its rollback failed), if any.
pub fn interrupted(target: &Path) -> Result<Option<RunSummary>, JournalError> {
    let holder = lock::read_lock(target).ok().flatten();
    for run in history(target)? {
        if run.status != Status::Running {
            continue;
        }
        let record = read_record(&run_dir(target, &run.id))?;
        let live = holder.as_ref().is_some_and(|l| {
            l.pid == record.pid
                && l.host == record.host
                && (l.host != lock::host_name() || lock::pid_alive(l.pid))
        });
        if !live {
            return Ok(Some(run));
        }
    }
    Ok(None)
}

/// Refuses with "an interrupted run must be rolled back" when [`interrupted`] finds one.
pub fn ensure_not_interrupted(target: &Path) -> Result<(), JournalError> {
    match interrupted(target)? {
        Some(run) => Err(JournalError::Interrupted {
            run_id: run.id,
            target: target.to_path_buf(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn run_ids_sort_by_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_269_901_005);
        let a = new_run_id(t, 0xf);
        let b = new_run_id(t + Duration::from_millis(1), 0);
        let c = new_run_id(t + Duration::from_secs(1), 0);
        assert_eq!(a, "20261121T140501Z-005f");
        assert!(a < b && b < c, "{a} {b} {c}");
    }

    #[test]
    fn state_dir_ignores_itself() {
        let dir = tempfile::tempdir().unwrap();
        let state = ensure_state_dir(dir.path()).unwrap();
        assert_eq!(fs::read_to_string(state.join(".gitignore")).unwrap(), "*\n");
        assert!(history(dir.path()).unwrap().is_empty());
    }
}
