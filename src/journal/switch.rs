//! Switching the target between two states of one run, for interleaved measurement: the state
//! in which an earlier record was measured (the journal's images at a mark) and the state after
//! the changes since (what planrun wrote, files and environments).
//!
//! The journal always knows where the target stands: before a switch touches anything, an
//! entry saying which state it goes to is made durable, and another once it is done. Each path
//! is switched by one atomic rename, so after a crash in the middle every journaled path holds
//! its state at the mark or after the changes, both planrun's own: drift detection accepts
//! either ([`marked_images`]), environment stashes are recognised as planrun's leftovers, and
//! `planrun rollback` restores the before-images as after any other crash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::entry::{self, Before, Entry, Record};
use super::error::JournalError;
use super::record::Journal;
use crate::envjournal::switch::EnvSwitch;
use crate::fsutil::FileImage;

/// The environment variable a debug build's test sets to stop a switch halfway: the path of a
/// file created there, after which the switch waits to be killed.
pub const TEST_PAUSE_ENV: &str = "PLANRUN_TEST_PAUSE_IN_SWITCH";

/// Which of the two states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The state the earlier record was measured in.
    Before,
    /// The state after the changes since.
    After,
}

impl State {
    /// The word the journal stores.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Before => "before",
            State::After => "after",
        }
    }
}

/// One journaled file in its two states.
#[derive(Debug)]
struct FileItem {
    abs: PathBuf,
    before: FileImage,
    after: FileImage,
}

/// A prepared switch between the state at `mark` and the state now (the after state).
#[derive(Debug)]
pub struct Switcher<'j> {
    journal: &'j Journal,
    mark: u32,
    files: Vec<FileItem>,
    envs: Vec<EnvSwitch>,
    state: State,
    switches: u32,
}

/// What one switch touched and how long it took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SwitchReport {
    /// Files rewritten or deleted.
    pub files: usize,
    /// Environment paths moved or rewritten.
    pub env_paths: usize,
    /// Time taken, the journal's two syncs included.
    pub took: Duration,
}

/// Each journaled file's image at the mark of the run's switches, when it has any: the newest
/// after-state recorded up to the mark, or the before-image of a file first journaled after it.
pub fn marked_images(
    run_dir: &Path,
    entries: &[Record],
) -> Result<BTreeMap<PathBuf, FileImage>, JournalError> {
    let mark = entries.iter().find_map(|r| match &r.entry {
        Entry::Switch { mark, .. } => Some(*mark),
        _ => None,
    });
    match mark {
        Some(mark) => images_at(run_dir, entries, mark),
        None => Ok(BTreeMap::new()),
    }
}

/// Each journaled file (caches left out) as it was when entry `mark` was the last one.
fn images_at(
    run_dir: &Path,
    entries: &[Record],
    mark: u32,
) -> Result<BTreeMap<PathBuf, FileImage>, JournalError> {
    let mut out = BTreeMap::new();
    for rec in entries {
        let Entry::File { path, before } = &rec.entry else {
            continue;
        };
        if out.contains_key(path) || super::caches::is_cache(path) {
            continue;
        }
        let image = match before {
            Before::Absent => FileImage::Absent,
            Before::Symlink { target } => FileImage::Symlink {
                target: target.clone(),
            },
            Before::File { mode } => FileImage::File {
                bytes: entry::read_payload(run_dir, rec)?,
                mode: *mode,
            },
        };
        out.insert(path.clone(), image);
    }
    for rec in entries.iter().filter(|r| r.seq <= mark) {
        let Entry::After { path, after } = &rec.entry else {
            continue;
        };
        let image = match after {
            entry::After::Absent => FileImage::Absent,
            entry::After::Symlink { target } => FileImage::Symlink {
                target: target.clone(),
            },
            entry::After::File { mode, .. } => FileImage::File {
                bytes: entry::read_payload(run_dir, rec)?,
                mode: *mode,
            },
        };
        out.insert(path.clone(), image);
    }
    Ok(out)
}

/// Why the changes recorded after `mark` cannot be switched, from the journal alone: an undo
/// command, a service, a venv created between the records (one created before `mark` is where
/// both records were measured, and installs into it since switch like any other).
fn blocker(entries: &[Record], mark: u32) -> Option<String> {
    entries
        .iter()
        .filter(|r| r.seq > mark)
        .find_map(|r| match &r.entry {
            Entry::Undo { step, .. } => Some(format!("step `{step}` has an undo command")),
            Entry::Service { step, .. } => Some(format!("step `{step}` starts a service")),
            Entry::Env {
                created_venv: true,
                venv,
                ..
            } => Some(format!(
                "a venv was created between the records ({})",
                venv.as_deref().unwrap_or(Path::new("?")).display()
            )),
            _ => None,
        })
}

impl Journal {
    /// Prepares switching the target between its state when entry `mark` was the last one and
    /// its state now. `Ok(Err(reason))` when the changes since cannot be switched exactly.
    pub fn switcher(&self, mark: u32) -> Result<Result<Switcher<'_>, String>, JournalError> {
        let run_dir = self.run_dir();
        let entries = entry::read_log(run_dir, true)?;
        if let Some(reason) = blocker(&entries, mark) {
            return Ok(Err(reason));
        }
        let mut files = Vec::new();
        for (rel, before) in images_at(run_dir, &entries, mark)? {
            let text = rel
                .to_str()
                .ok_or_else(|| JournalError::NotUtf8(rel.clone()))?;
            let abs = crate::fsutil::confine(self.target(), text)?;
            let after = FileImage::read(&abs)
                .map_err(|e| JournalError::io(format!("read `{}`", abs.display()), e))?;
            if after != before {
                files.push(FileItem { abs, before, after });
            }
        }
        // The oldest install into each environment after the mark: its snapshot holds the
        // environment as it was at the mark.
        let mut envs: Vec<EnvSwitch> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for rec in entries.iter().filter(|r| r.seq > mark) {
            let Entry::Env {
                python,
                identity: Some(identity),
                snapshot: Some(snapshot),
                manifest: Some(manifest),
                ..
            } = &rec.entry
            else {
                continue;
            };
            if !seen.insert(python.clone()) {
                continue;
            }
            let after_files = run_dir.join(format!("switch-{mark}")).join(snapshot);
            match crate::envjournal::switch::prepare(
                &run_dir.join(snapshot),
                manifest,
                identity,
                &after_files,
            ) {
                Ok(sw) => envs.push(sw),
                Err(Ok(reason)) => {
                    return Ok(Err(format!(
                        "the environment of `{}` cannot be switched: {reason}",
                        python.display()
                    )))
                }
                Err(Err(e)) => return Err(e.into()),
            }
        }
        // A venv this run created is removed on rollback by its list: it names the stashes too.
        for env in &envs {
            if let Some(venv) = self.created_venv_of(&env.python) {
                let rel = venv.strip_prefix(self.target()).unwrap_or(&venv);
                super::venvlist::write_with(run_dir, rel, &venv, &env.stash_paths())?;
            }
        }
        Ok(Ok(Switcher {
            journal: self,
            mark,
            files,
            envs,
            state: State::After,
            switches: 0,
        }))
    }
}

impl Switcher<'_> {
    /// The state the target is in.
    pub fn state(&self) -> State {
        self.state
    }

    /// How many files and environment paths differ between the two states.
    pub fn size(&self) -> (usize, usize) {
        (self.files.len(), self.envs.iter().map(EnvSwitch::len).sum())
    }

    /// Brings the target to `to`, the journal saying so durably before and after.
    pub fn switch(&mut self, to: State) -> Result<SwitchReport, JournalError> {
        let started = Instant::now();
        if to == self.state {
            return Ok(SwitchReport::default());
        }
        self.note(to, false)?;
        self.switches += 1;
        let mut paused = self.switches > 1;
        let mut pause = || {
            if !paused {
                paused = true;
                test_pause();
            }
        };
        let mut report = SwitchReport::default();
        let half = self.files.len() / 2;
        for (i, f) in self.files.iter().enumerate() {
            if i == half && self.envs.is_empty() {
                pause();
            }
            let image = if to == State::After {
                &f.after
            } else {
                &f.before
            };
            let restored = image
                .restore(&f.abs)
                .map_err(|e| JournalError::io(format!("switch `{}`", f.abs.display()), e))?;
            report.files += usize::from(restored != crate::fsutil::Restored::Unchanged);
        }
        for env in &self.envs {
            let done = env.switch(to == State::After, &mut pause)?;
            report.env_paths += done.moved + done.written;
        }
        self.state = to;
        self.note(to, true)?;
        report.took = started.elapsed();
        tracing::debug!(to = to.as_str(), ?report, "target switched");
        Ok(report)
    }

    /// Leaves the target in the after state, as the changes left it.
    pub fn finish(mut self) -> Result<(), JournalError> {
        self.switch(State::After)?;
        for env in &self.envs {
            env.clean()?;
        }
        Ok(())
    }

    fn note(&self, to: State, done: bool) -> Result<(), JournalError> {
        self.journal.append(&Entry::Switch {
            mark: self.mark,
            to: to.as_str().to_string(),
            done,
        })
    }
}

/// A debug build's test hook: with [`TEST_PAUSE_ENV`] set, creates that file and waits to be
/// killed. A release build never pauses.
fn test_pause() {
    if !cfg!(debug_assertions) {
        return;
    }
    let Some(path) = std::env::var_os(TEST_PAUSE_ENV) else {
        return;
    };
    let _ = std::fs::write(&path, b"paused\n");
    std::thread::sleep(Duration::from_secs(600));
}

#[cfg(test)]
#[path = "switch_tests.rs"]
mod tests;
