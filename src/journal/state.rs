//! The runs recorded in a target's journal: each run's `meta.json`, and their history.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::entry;
use super::error::JournalError;
use super::lock;
use super::paths;
use super::trust;
use crate::fsutil;

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
    /// A person ended the run by hand (`planrun rollback --abandon`): whatever it left is theirs
    /// now, and it no longer blocks applies.
    Abandoned,
}

impl Status {
    /// The word shown to users and stored in `meta.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Applied => "applied",
            Status::RolledBack => "rolled-back",
            Status::Failed => "failed",
            Status::Abandoned => "abandoned",
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
    /// What identifies this plan's content and inputs (see [`plan_hash`]), so a re-apply of
    /// the same plan can be recognised.
    pub plan_hash: String,
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
    /// The hash of the plan file and its variables when it began.
    #[serde(default)]
    pub plan_hash: String,
    /// The MAC of everything above under this user's key ([`super::trust`]).
    #[serde(default)]
    pub mac: String,
}

/// A run's record in its journal directory.
const META: &str = "meta.json";

/// The MAC domain of `meta.json`.
const META_MAC: &str = "planrun meta v1";

/// The hash that tells two applies of the same plan with the same inputs from others.
pub fn plan_hash(plan_bytes: &[u8], vars: &std::collections::BTreeMap<String, String>) -> String {
    let vars = serde_json::to_vec(vars).unwrap_or_default();
    trust::hash(&[plan_bytes, b"\0", &vars].concat())
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

/// A sortable run id for `now`: UTC seconds, then the 16-microsecond slot within the second in
/// hex (0 to f423), plus `retry` (the next slots, when the run directory was taken). Runs of
/// different targets can share a history, so their ids must differ without any coordination:
/// two processes would have to create their journals within the same 16 microseconds.
pub fn new_run_id(now: SystemTime, retry: u8) -> String {
    let stamp: String = crate::timestamp::rfc3339(now)
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let slot = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros() / 16);
    format!("{stamp}-{:04x}", slot + u32::from(retry & 0xf))
}

/// Reads a run's `meta.json`.
pub fn read_record(run_dir: &Path) -> Result<RunRecord, JournalError> {
    let path = run_dir.join(META);
    let text = match crate::fsutil::read_nofollow(&path, super::paths::MAX_SMALL) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let id = run_dir.file_name().unwrap_or_default().to_string_lossy();
            return Err(JournalError::NoSuchRun(id.into_owned()));
        }
        Err(e) => return Err(JournalError::io(format!("read `{}`", path.display()), e)),
    };
    let record: RunRecord = serde_json::from_str(&text).map_err(|e| JournalError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let id = run_dir.file_name().unwrap_or_default().to_string_lossy();
    if record.id != id || !trust::verify(META_MAC, &[&unsigned(&record)?], &record.mac)? {
        return Err(JournalError::Foreign {
            run_id: id.into_owned(),
            dir: run_dir.to_path_buf(),
        });
    }
    Ok(record)
}

/// The bytes a record's MAC covers: the record with an empty MAC.
fn unsigned(record: &RunRecord) -> Result<Vec<u8>, JournalError> {
    let mut bare = record.clone();
    bare.mac.clear();
    serde_json::to_vec(&bare)
        .map_err(|e| JournalError::io("encode a run record", io::Error::other(e)))
}

/// Writes a run's `meta.json` atomically.
pub fn write_record(run_dir: &Path, record: &RunRecord) -> Result<(), JournalError> {
    let path = run_dir.join(META);
    let mut record = record.clone();
    record.mac = trust::mac(META_MAC, &[&unsigned(&record)?])?;
    let json = serde_json::to_vec_pretty(&record).map_err(|e| JournalError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    fsutil::write_atomic(&path, &json, None)
        .map_err(|e| JournalError::io(format!("write `{}`", path.display()), e))
}

/// The run ids of a target, oldest first.
pub fn run_ids(target: &Path) -> Result<Vec<String>, JournalError> {
    let Some(dir) = paths::existing_journal_dir(target)? else {
        return Ok(Vec::new());
    };
    let read = match fs::read_dir(&dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(JournalError::io(format!("read `{}`", dir.display()), e)),
    };
    let mut ids = Vec::new();
    for item in read {
        let item = item.map_err(|e| JournalError::io(format!("read `{}`", dir.display()), e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        let real_dir = item.file_type().is_ok_and(|t| t.is_dir());
        if !name.starts_with('.') && real_dir && item.path().join(META).is_file() {
            ids.push(name);
        }
    }
    ids.sort();
    Ok(ids)
}

/// Every run recorded on `target` by this user on this machine, newest first; journals that
/// fail their check are left out (see [`foreign_runs`]).
pub fn history(target: &Path) -> Result<Vec<RunSummary>, JournalError> {
    let mut runs = Vec::new();
    for id in run_ids(target)?.into_iter().rev() {
        let dir = paths::run_dir(target, &id);
        let record = match read_record(&dir) {
            Ok(record) => record,
            Err(JournalError::Foreign { .. }) => continue,
            Err(e) => return Err(e),
        };
        let files_touched = match entry::read_log(&dir, false) {
            Ok(records) => records,
            Err(JournalError::Foreign { .. }) => continue,
            Err(e) => return Err(e),
        }
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

/// The run directories on `target` that this user did not write here, oldest first.
pub fn foreign_runs(target: &Path) -> Result<Vec<String>, JournalError> {
    let mut foreign = Vec::new();
    for id in run_ids(target)? {
        let dir = paths::run_dir(target, &id);
        let checked = read_record(&dir).and_then(|_| entry::read_log(&dir, false).map(drop));
        match checked {
            Ok(()) => {}
            Err(JournalError::Foreign { .. }) => foreign.push(id),
            Err(e) => return Err(e),
        }
    }
    Ok(foreign)
}

/// The newest run still marked running whose applying process is gone (killed, crashed, or
/// its rollback failed), if any.
pub fn interrupted(target: &Path) -> Result<Option<RunSummary>, JournalError> {
    let holder = lock::read_lock(target).ok().flatten();
    for run in history(target)? {
        if run.status != Status::Running {
            continue;
        }
        let record = read_record(&paths::run_dir(target, &run.id))?;
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
        // 5 ms is slot 312 (0x138), plus the 15th retry.
        assert_eq!(a, "20261121T140501Z-0147");
        assert!(a < b && b < c, "{a} {b} {c}");
        // Two processes 16 microseconds apart, with no coordination, get different ids (a
        // random nibble beside the millisecond gave 6 concurrent applies sharing a history
        // the same id).
        let d = new_run_id(t + Duration::from_micros(16), 0);
        assert_ne!(new_run_id(t, 0), d);
        let last = new_run_id(t + Duration::from_micros(999_999), 0xf);
        assert_eq!(last.len(), a.len(), "{last}");
    }

    #[test]
    fn state_dir_ignores_itself() {
        let dir = tempfile::tempdir().unwrap();
        let state = paths::ensure_state_dir(dir.path()).unwrap();
        assert_eq!(fs::read_to_string(state.join(".gitignore")).unwrap(), "*\n");
        assert!(history(dir.path()).unwrap().is_empty());
    }
}
