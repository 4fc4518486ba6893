//! Rollback: replay a run's entries newest first. Every step is idempotent (or marked done once
//! it is not), so a rollback cut short by a crash is finished by running it again. Only the
//! journaled paths are visited: the cost grows with what the run touched, never with the tree.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::Serialize;

use super::entry::{self, Before, Entry, Record};
use super::error::{JournalError, RollbackError};
use super::state::{self, Status};
use crate::envjournal::{self, EnvJournalError};
use crate::fsutil::{self, FileImage, Restored};

/// What rolling back one run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackReport {
    /// The run rolled back.
    pub run_id: String,
    /// Its plan's name.
    pub plan: String,
    /// The run was already rolled back; nothing was done.
    pub already_rolled_back: bool,
    /// One line per entry, in the order they were undone.
    pub actions: Vec<RollbackAction>,
    /// Total time taken, in seconds.
    pub seconds: f64,
}

/// What undoing one entry did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackAction {
    /// The entry's sequence number.
    pub seq: u32,
    /// What happened.
    pub outcome: Outcome,
    /// The path, interpreter or command concerned.
    pub subject: String,
    /// Time taken, in seconds.
    pub seconds: f64,
}

/// The result of undoing one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Outcome {
    /// A file was written back to its old content and mode.
    Restored,
    /// A file the run created was deleted.
    Deleted,
    /// Already as it was; nothing to do.
    Unchanged,
    /// A directory the run created was removed.
    DirRemoved,
    /// A directory the run created was kept: something not journaled is in it.
    DirKept,
    /// A Python environment was put back, file by file, as it was before an install.
    EnvRestored {
        /// Distributions removed, as freeze lines.
        removed: Vec<String>,
        /// Distributions put back as they were, as freeze lines.
        restored: Vec<String>,
        /// Files, symlinks and directories deleted.
        files_deleted: usize,
        /// Files, symlinks and directories written back.
        files_written: usize,
    },
    /// A venv the run created was deleted.
    VenvRemoved,
    /// An undo command ran successfully.
    UndoRan,
    /// An undo command had already run in an earlier, interrupted rollback.
    AlreadyDone,
}

/// Rolls back one run. Entries that fail are reported and the others still undone; the run is
/// marked rolled-back only when all succeeded.
pub fn rollback_run(target: &Path, run_id: &str) -> Result<RollbackReport, RollbackError> {
    let started = Instant::now();
    tracing::info!(run_id, target = %target.display(), "rolling back");
    let run_dir = state::run_dir(target, run_id);
    let mut record = state::read_record(&run_dir)?;
    let mut report = RollbackReport {
        run_id: run_id.to_string(),
        plan: record.plan.clone(),
        already_rolled_back: record.status == Status::RolledBack,
        actions: Vec::new(),
        seconds: 0.0,
    };
    if report.already_rolled_back {
        return Ok(report);
    }
    let entries = entry::read_log(&run_dir, true)?;
    let failures = replay(target, &run_dir, &entries, &mut report);
    report.seconds = started.elapsed().as_secs_f64();
    if !failures.is_empty() {
        return Err(RollbackError::Incomplete {
            run_id: run_id.to_string(),
            failures,
            report: Box::new(report),
        });
    }
    record.status = Status::RolledBack;
    record.finished =
        Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string());
    state::write_record(&run_dir, &record)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Rolls back the newest run not yet rolled back; `None` when there is none. Called again, it
/// walks further back.
pub fn rollback_latest(target: &Path) -> Result<Option<RollbackReport>, RollbackError> {
    let latest = state::history(target)?
        .into_iter()
        .find(|run| run.status != Status::RolledBack);
    match latest {
        Some(run) => rollback_run(target, &run.id).map(Some),
        None => Ok(None),
    }
}

/// Undoes `entries` newest first, appending to `report`; returns one message per failure.
pub(crate) fn replay(
    target: &Path,
    run_dir: &Path,
    entries: &[Record],
    report: &mut RollbackReport,
) -> Vec<String> {
    let mut failures = Vec::new();
    for rec in entries.iter().rev() {
        let started = Instant::now();
        match undo_one(target, run_dir, rec) {
            Ok((outcome, subject)) => report.actions.push(RollbackAction {
                seq: rec.seq,
                outcome,
                subject,
                seconds: started.elapsed().as_secs_f64(),
            }),
            Err(e) => failures.push(format!("entry {}: {}", rec.seq, error_chain(&e))),
        }
    }
    failures
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn undo_one(
    target: &Path,
    run_dir: &Path,
    rec: &Record,
) -> Result<(Outcome, String), JournalError> {
    let entry = rec.entry.clone();
    let io_err = |what: &str, p: &Path| {
        let context = format!("{what} `{}`", p.display());
        move |e| JournalError::io(context, e)
    };
    match entry {
        Entry::File { path, before } => {
            let abs = confine(target, &path)?;
            let image = match before {
                Before::Absent => FileImage::Absent,
                Before::Symlink { target } => FileImage::Symlink { target },
                Before::File { mode } => FileImage::File {
                    bytes: entry::read_payload(run_dir, rec)?,
                    mode,
                },
            };
            let restored = image.restore(&abs).map_err(io_err("restore", &abs))?;
            let outcome = match restored {
                Restored::Unchanged => Outcome::Unchanged,
                Restored::Written => Outcome::Restored,
                Restored::Deleted => Outcome::Deleted,
            };
            Ok((outcome, path.display().to_string()))
        }
        Entry::Dir { path } => {
            let abs = confine(target, &path)?;
            let outcome = match fs::remove_dir(&abs) {
                Ok(()) => {
                    fsutil::fsync_dir(fsutil::parent_or_dot(&abs))
                        .map_err(io_err("sync the parent of", &abs))?;
                    Outcome::DirRemoved
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Outcome::Unchanged,
                Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => Outcome::DirKept,
                Err(e) => return Err(io_err("remove", &abs)(e)),
            };
            Ok((outcome, format!("{}/", path.display())))
        }
        Entry::Env {
            python,
            venv,
            created_venv,
            identity,
            snapshot,
            manifest,
        } => {
            if created_venv {
                let rel = venv.ok_or_else(|| JournalError::Corrupt {
                    path: run_dir.join(entry::LOG),
                    reason: "a created venv without its directory".into(),
                })?;
                let abs = confine(target, &rel)?;
                // The venv planrun made is a directory; a symlink there now points elsewhere.
                if fs::symlink_metadata(&abs).is_ok_and(|m| m.file_type().is_symlink()) {
                    let found = fs::canonicalize(&abs).unwrap_or_else(|_| abs.clone());
                    return Err(EnvJournalError::Identity {
                        given: abs.clone(),
                        recorded: abs,
                        found,
                        what: "the venv planrun created was replaced by a symlink".into(),
                    }
                    .into());
                }
                let outcome = match fs::remove_dir_all(&abs) {
                    Ok(()) => Outcome::VenvRemoved,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Outcome::Unchanged,
                    Err(e) => return Err(io_err("remove", &abs)(e)),
                };
                return Ok((outcome, format!("{}/", rel.display())));
            }
            let subject = target.join(&python).display().to_string();
            // An install that changed nothing has no snapshot, and nothing to undo.
            let (Some(identity), Some(snapshot), Some(manifest)) = (identity, snapshot, manifest)
            else {
                return Ok((Outcome::Unchanged, subject));
            };
            let report = envjournal::restore(&run_dir.join(snapshot), &manifest, &identity, false)?;
            let outcome = if report.files_deleted + report.files_written == 0 {
                Outcome::Unchanged
            } else {
                Outcome::EnvRestored {
                    removed: report.removed,
                    restored: report.restored,
                    files_deleted: report.files_deleted,
                    files_written: report.files_written,
                }
            };
            Ok((outcome, subject))
        }
        Entry::Undo {
            step,
            command,
            env,
            cwd,
        } => {
            let subject = format!("{step}: {command}");
            if entry::is_done(run_dir, rec.seq) {
                return Ok((Outcome::AlreadyDone, subject));
            }
            let out = Command::new("sh")
                .arg("-c")
                .arg(&command)
                .current_dir(target.join(&cwd))
                .envs(&env)
                .output()
                .map_err(io_err("run the undo command of step", Path::new(&step)))?;
            if !out.status.success() {
                let output = String::from_utf8_lossy(&out.stderr);
                return Err(JournalError::io(
                    format!("run the undo command of step `{step}` ({})", out.status),
                    io::Error::other(format!("`{command}`: {}", output.trim_end())),
                ));
            }
            entry::mark_done(run_dir, rec.seq)
                .map_err(io_err("write", &run_dir.join(entry::done_name(rec.seq))))?;
            Ok((Outcome::UndoRan, subject))
        }
    }
}

/// Re-checks a journaled path: a symlink planted since the run must not redirect the restore.
fn confine(target: &Path, rel: &Path) -> Result<PathBuf, JournalError> {
    let text = rel
        .to_str()
        .ok_or_else(|| JournalError::NotUtf8(rel.to_path_buf()))?;
    Ok(fsutil::confine(target, text)?)
}

#[cfg(test)]
mod tests;
