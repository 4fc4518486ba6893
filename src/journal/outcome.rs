//! What a rollback did and what it found: the report of each entry undone, and the paths that
//! changed since the run wrote them (drift).

use std::path::PathBuf;

use serde::Serialize;

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
    /// With `--force`: the person's versions of drifted paths, saved before they were
    /// overwritten (target-relative path, where the copy is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saved: Vec<(String, PathBuf)>,
    /// Files and directories the run's commands created in the target, moved out of it into
    /// the run's `leftovers/` folder (where it was and where it is now, relative to the target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<(String, PathBuf)>,
}

/// A path that changed since the run wrote it: rollback would destroy someone's work there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Relative to the target.
    pub path: String,
    /// A unified diff from what planrun left to what is there now.
    pub diff: String,
    /// The path is tracked by git and has uncommitted changes.
    pub git_dirty: bool,
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
    /// Caches the run's commands created (`__pycache__`, `.pytest_cache`) were removed.
    CachesRemoved {
        /// How many directories and files went.
        count: usize,
    },
}
