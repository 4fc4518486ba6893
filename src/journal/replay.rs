//! Rollback: replay a run's entries newest first. Every step is idempotent (or marked done once
//! it is not), so a rollback cut short by a crash is finished by running it again. Only the
//! journaled paths are visited: the cost grows with what the run touched, never with the tree.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::entry::{self, Before, Entry, Record};
use super::error::{JournalError, RollbackError};
use super::outcome::{Drift, Outcome, RollbackAction, RollbackReport};
use super::paths;
use super::state::{self, Status};
use crate::envjournal::{self, EnvJournalError};
use crate::fsutil::{self, FileImage, Restored};
use crate::process::{self, Control, Invocation};

/// How to roll back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollbackOptions {
    /// Restore paths that changed since planrun wrote them, after saving a copy of each.
    pub force: bool,
}

/// Rolls back one run. Entries that fail are reported and the others still undone; the run is
/// marked rolled-back only when all succeeded.
pub fn rollback_run(
    target: &Path,
    run_id: &str,
    opts: RollbackOptions,
) -> Result<RollbackReport, RollbackError> {
    let started = Instant::now();
    tracing::info!(run_id, target = %target.display(), "rolling back");
    let run_dir = paths::run_dir(target, run_id);
    let mut record = state::read_record(&run_dir)?;
    let mut report = RollbackReport {
        run_id: run_id.to_string(),
        plan: record.plan.clone(),
        already_rolled_back: record.status == Status::RolledBack,
        actions: Vec::new(),
        seconds: 0.0,
        saved: Vec::new(),
        leftovers: Vec::new(),
    };
    if report.already_rolled_back || record.status == Status::Abandoned {
        report.already_rolled_back = true;
        return Ok(report);
    }
    let entries = entry::read_log(&run_dir, true)?;
    // Decided before anything is touched: a rollback that would destroy a person's work does
    // nothing at all, unless forced, and then it keeps their version first.
    let drift = drift(target, &run_dir, &entries)?;
    if !drift.is_empty() {
        if !opts.force {
            return Err(RollbackError::Drift {
                run_id: run_id.to_string(),
                drift,
            });
        }
        report.saved = save_drifted(target, &run_dir, &drift)?;
    }
    let failures = replay(target, &run_dir, &entries, &mut report, opts.force);
    // Once everything planrun wrote is undone, what is left that the run's commands made.
    if failures.is_empty() {
        report.leftovers = move_leftovers(target, run_id, &entries, record.status);
    }
    report.seconds = started.elapsed().as_secs_f64();
    if !failures.is_empty() {
        return Err(RollbackError::Incomplete {
            run_id: run_id.to_string(),
            failures,
            report: Box::new(report),
        });
    }
    record.status = Status::RolledBack;
    record.finished = Some(crate::timestamp::now());
    crate::journal::reserve::write_status(&run_dir, &record)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Rolls back the newest run not yet rolled back; `None` when there is none. Called again, it
/// walks further back.
pub fn rollback_latest(
    target: &Path,
    opts: RollbackOptions,
) -> Result<Option<RollbackReport>, RollbackError> {
    let latest = state::history(target)?
        .into_iter()
        .find(|run| !matches!(run.status, Status::RolledBack | Status::Abandoned));
    match latest {
        Some(run) => rollback_run(target, &run.id, opts).map(Some),
        None => Ok(None),
    }
}

/// The newest after-state recorded for each path, with its bytes.
fn final_afters(
    run_dir: &Path,
    entries: &[Record],
) -> Result<std::collections::BTreeMap<PathBuf, (entry::After, Vec<u8>)>, JournalError> {
    let mut out = std::collections::BTreeMap::new();
    for rec in entries {
        if let Entry::After { path, after } = &rec.entry {
            out.insert(
                path.clone(),
                (after.clone(), entry::read_payload(run_dir, rec)?),
            );
        }
    }
    Ok(out)
}

/// Every journaled path whose content is neither what the run left there nor what it was
/// before the run: someone changed it since, and restoring it would destroy their work. A
/// path the run was changing when it was killed (a command's declared `changes`, with no
/// after-state yet) cannot be told apart from a person's edit, so it counts as drift too.
pub fn drift(
    target: &Path,
    run_dir: &Path,
    entries: &[Record],
) -> Result<Vec<Drift>, JournalError> {
    let afters = final_afters(run_dir, entries)?;
    // A target switched for interleaved measurement may hold a file's state at the switch's
    // mark: planrun's own, not drift.
    let at_mark = super::switch::marked_images(run_dir, entries)?;
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for rec in entries {
        let Entry::File { path, before } = &rec.entry else {
            continue;
        };
        if !seen.insert(path.clone()) || crate::journal::caches::is_cache(path) {
            continue;
        }
        let abs = confine(target, path)?;
        let now = FileImage::read(&abs);
        let before = match before {
            Before::Absent => FileImage::Absent,
            Before::Symlink { target } => FileImage::Symlink {
                target: target.clone(),
            },
            Before::File { mode } => FileImage::File {
                bytes: entry::read_payload(run_dir, rec)?,
                mode: *mode,
            },
        };
        let after = afters.get(path);
        let unchanged = match &now {
            Ok(image) => {
                image == &before
                    || after.is_some_and(|(a, _)| &entry::After::of(image).0 == a)
                    || at_mark.get(path) == Some(image)
            }
            Err(_) => false,
        };
        if unchanged {
            continue;
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let left = match after {
            Some((entry::After::File { .. }, bytes)) => Some(text(bytes)),
            Some(_) => None,
            None => match &before {
                FileImage::File { bytes, .. } => Some(text(bytes)),
                _ => None,
            },
        };
        let right = match &now {
            Ok(FileImage::File { bytes, .. }) => Some(text(bytes)),
            Ok(FileImage::Symlink { target }) => Some(format!("-> {}\n", target.display())),
            Ok(FileImage::Absent) => None,
            Err(e) => Some(format!("({e})\n")),
        };
        let rel = path.display().to_string();
        let diff = crate::edit::diff::unified(&rel, left.as_deref(), right.as_deref());
        out.push(Drift {
            path: rel,
            diff,
            git_dirty: false,
        });
    }
    // An environment the run installed into more than once was, after an earlier install,
    // changed by the run's own later one: only what came after its last install is drift
    // (rollback undoes the later installs first, and then the earlier ones find it as they
    // left it).
    let mut last_install = BTreeMap::new();
    for rec in entries {
        if let Entry::Env { python, .. } = &rec.entry {
            last_install.insert(python.clone(), rec.seq);
        }
    }
    let created = created_venvs(entries);
    for rec in entries {
        let Entry::Env {
            python,
            venv,
            identity: Some(identity),
            snapshot: Some(snapshot),
            manifest: Some(manifest),
            ..
        } = &rec.entry
        else {
            continue;
        };
        // A venv the run created goes whole, with only what planrun listed in it.
        if last_install.get(python) != Some(&rec.seq) || in_created(&created, venv.as_deref()) {
            continue;
        }
        let changed = envjournal::restore::drift(&run_dir.join(snapshot), manifest, identity)?;
        if changed.is_empty() {
            continue;
        }
        let listed: Vec<String> = changed
            .iter()
            .take(20)
            .map(|p| format!("  changed since the install: {}", p.display()))
            .collect();
        let more = changed.len().saturating_sub(20);
        out.push(Drift {
            path: target.join(python).display().to_string(),
            diff: format!(
                "{}{}\n",
                listed.join("\n"),
                if more > 0 {
                    format!("\n  ... and {more} more")
                } else {
                    String::new()
                }
            ),
            git_dirty: false,
        });
    }
    let paths: Vec<String> = out.iter().map(|d| d.path.clone()).collect();
    let dirty = crate::gitstate::uncommitted(target, &paths);
    for d in &mut out {
        d.git_dirty = dirty.contains(&d.path);
    }
    Ok(out)
}

/// Copies each drifted path as it is now into `<run>/drift/`, durably, before `--force`
/// overwrites it; returns where each went.
fn save_drifted(
    target: &Path,
    run_dir: &Path,
    drift: &[Drift],
) -> Result<Vec<(String, PathBuf)>, JournalError> {
    let mut saved = Vec::new();
    for d in drift {
        // An environment's drift names its interpreter: its changed files are not copied.
        if Path::new(&d.path).is_absolute() {
            continue;
        }
        let from = confine(target, Path::new(&d.path))?;
        let to = paths::drift_dir(run_dir).join(&d.path);
        let copied = match FileImage::read(&from) {
            Ok(FileImage::File { bytes, mode }) => to
                .parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|()| fsutil::write_atomic(&to, &bytes, Some(mode))),
            Ok(_) => continue,
            Err(e) => Err(e),
        };
        copied
            .map_err(|e| JournalError::io(format!("save `{}` to `{}`", d.path, to.display()), e))?;
        saved.push((d.path.clone(), to));
    }
    Ok(saved)
}

/// Undoes `entries` newest first, appending to `report`; returns one message per failure.
pub(crate) fn replay(
    target: &Path,
    run_dir: &Path,
    entries: &[Record],
    report: &mut RollbackReport,
    force: bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    let created = created_venvs(entries);
    for rec in entries.iter().rev() {
        let started = Instant::now();
        // An install into a venv the run created is undone by deleting the venv (its snapshot
        // served interleaved measurement only): restoring it first would bring back paths the
        // venv's list does not name, and keep the venv.
        if let Entry::Env {
            created_venv: false,
            venv,
            ..
        } = &rec.entry
        {
            if in_created(&created, venv.as_deref()) {
                continue;
            }
        }
        match undo_one(target, run_dir, rec, force) {
            Ok(None) => {}
            Ok(Some((outcome, subject))) => report.actions.push(RollbackAction {
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

/// The venvs (target-relative) the run created.
fn created_venvs(entries: &[Record]) -> std::collections::BTreeSet<PathBuf> {
    entries
        .iter()
        .filter_map(|r| match &r.entry {
            Entry::Env {
                created_venv: true,
                venv: Some(venv),
                ..
            } => Some(venv.clone()),
            _ => None,
        })
        .collect()
}

/// Whether `venv` is one of `created`.
fn in_created(created: &std::collections::BTreeSet<PathBuf>, venv: Option<&Path>) -> bool {
    venv.is_some_and(|v| created.contains(v))
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

/// Undoes one entry; `None` for entries with nothing to show (after-states, no new caches).
fn undo_one(
    target: &Path,
    run_dir: &Path,
    rec: &Record,
    force: bool,
) -> Result<Option<(Outcome, String)>, JournalError> {
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
            let restored =
                crate::ownership::restore(&image, &abs).map_err(io_err("restore", &abs))?;
            let outcome = match restored {
                Restored::Unchanged => Outcome::Unchanged,
                Restored::Written => Outcome::Restored,
                Restored::Deleted => Outcome::Deleted,
            };
            Ok(Some((outcome, path.display().to_string())))
        }
        // The apply stops its services, and `planrun rollback` those a killed apply left
        // running, before any entry is replayed.
        Entry::After { .. } | Entry::Service { .. } | Entry::Tree { .. } | Entry::Switch { .. } => {
            Ok(None)
        }
        Entry::Bytecode { roots, paths } => {
            let removed = envjournal::bytecode::remove_new(&roots, &paths).map_err(io_err(
                "remove bytecode under",
                roots.first().map_or(target, PathBuf::as_path),
            ))?;
            Ok((!removed.is_empty()).then(|| {
                (
                    Outcome::CachesRemoved {
                        count: removed.len(),
                    },
                    roots
                        .iter()
                        .map(|r| r.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            }))
        }
        Entry::Caches { dirs, files } => {
            let before = crate::journal::caches::Found { dirs, files };
            let removed = crate::journal::caches::remove_new(target, &before)
                .map_err(io_err("remove caches under", target))?;
            Ok((!removed.is_empty()).then(|| {
                (
                    Outcome::CachesRemoved {
                        count: removed.len(),
                    },
                    removed
                        .iter()
                        .take(3)
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            }))
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
            Ok(Some((outcome, format!("{}/", path.display()))))
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
                if let Some(outcome) = super::venvlist::remove_listed(run_dir, &rel, &abs)? {
                    return Ok(Some((outcome, format!("{}/", rel.display()))));
                }
                let outcome = match fs::remove_dir_all(&abs) {
                    Ok(()) => Outcome::VenvRemoved,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Outcome::Unchanged,
                    Err(e) => return Err(io_err("remove", &abs)(e)),
                };
                return Ok(Some((outcome, format!("{}/", rel.display()))));
            }
            let subject = target.join(&python).display().to_string();
            // An install that changed nothing has no snapshot, and nothing to undo.
            let (Some(identity), Some(snapshot), Some(manifest)) = (identity, snapshot, manifest)
            else {
                return Ok(Some((Outcome::Unchanged, subject)));
            };
            let report = envjournal::restore(&run_dir.join(snapshot), &manifest, &identity, force)?;
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
            Ok(Some((outcome, subject)))
        }
        Entry::Undo {
            step,
            command,
            shown,
            env,
            cwd,
        } => {
            let command = super::trust::open(&command)?;
            let shown = if shown.is_empty() { &command } else { &shown };
            let env = env
                .iter()
                .map(|(k, v)| Ok((k.clone(), super::trust::open(v)?)))
                .collect::<Result<BTreeMap<_, _>, JournalError>>()?;
            let subject = format!("{step}: {shown}");
            if entry::is_done(run_dir, rec.seq) {
                return Ok(Some((Outcome::AlreadyDone, subject)));
            }
            // In a process group of its own and never cancelled: a second Ctrl-C during apply's
            // automatic rollback goes to planrun's group, and must not cut an undo command off
            // half way.
            let inv = Invocation::new("/bin/sh")
                .args(["-c", command.as_str()])
                .cwd(target.join(&cwd))
                .envs(&env);
            let out = process::capture(&inv, &Control::default())
                .map_err(io_err("run the undo command of step", Path::new(&step)))?;
            if !out.outcome.status.success() {
                let output = &out.stderr;
                return Err(JournalError::io(
                    format!(
                        "run the undo command of step `{step}` ({})",
                        out.outcome.status
                    ),
                    io::Error::other(format!("`{shown}`: {}", output.trim_end())),
                ));
            }
            entry::mark_done(run_dir, rec.seq)
                .map_err(io_err("write", &run_dir.join(entry::done_name(rec.seq))))?;
            Ok(Some((Outcome::UndoRan, subject)))
        }
    }
}

/// Moves what the run's commands created in the target (see [`super::leftovers`]) into
/// `.planrun/runs/<id>/leftovers/`; returns each path moved and where it is now (both relative
/// to the target).
fn move_leftovers(
    target: &Path,
    run_id: &str,
    entries: &[Record],
    status: Status,
) -> Vec<(String, PathBuf)> {
    let (mut start, mut end) = (None, None);
    let mut known = std::collections::BTreeSet::new();
    for rec in entries {
        match &rec.entry {
            Entry::Tree { end: false, paths } => start = Some(paths),
            Entry::Tree { end: true, paths } => end = Some(paths.as_slice()),
            Entry::File { path, .. } | Entry::Dir { path } => {
                known.insert(path.clone());
            }
            Entry::Env {
                venv: Some(venv),
                created_venv: true,
                ..
            } => {
                known.insert(venv.clone());
            }
            _ => {}
        }
    }
    let Some(start) = start else {
        return Vec::new();
    };
    // An apply killed before its end was recorded: whatever is new now counts.
    let end = end.filter(|_| status != Status::Running);
    let now = super::leftovers::scan(target);
    let new = super::leftovers::created(start, end, &now, &known);
    if new.is_empty() {
        return Vec::new();
    }
    let moved = match paths::ensure_report_dir(target, run_id) {
        Ok(dir) => super::leftovers::move_into(target, &new, &dir.join("leftovers"))
            .into_iter()
            .map(|(rel, to)| {
                (
                    rel,
                    to.strip_prefix(target)
                        .map_or(to.clone(), Path::to_path_buf),
                )
            })
            .collect(),
        Err(e) => {
            tracing::warn!("left what the run created in place: {e}");
            Vec::new()
        }
    };
    // A directory planrun made that held only those is empty now.
    for dir in known.iter().rev() {
        if let Ok(abs) = confine(target, dir) {
            let _ = fs::remove_dir(abs);
        }
    }
    moved
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
