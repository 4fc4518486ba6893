//! The journal's errors: recording and reading runs, and rolling them back.

use std::path::PathBuf;

use crate::fsutil::ConfineError;
use crate::pyenv::PyEnvError;

use super::outcome::{Drift, RollbackReport};

/// A failure recording a run or reading the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file-system operation failed.
    #[error("failed to {context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A path was refused because it leaves the target.
    #[error(transparent)]
    Confine(#[from] ConfineError),
    /// The Python environment could not be inspected.
    #[error("failed to record the python environment")]
    PyEnv(#[from] PyEnvError),
    /// The Python environment could not be snapshotted or restored (`Drift` inside means exit 5).
    #[error(transparent)]
    EnvJournal(#[from] crate::envjournal::EnvJournalError),
    /// A path is not valid UTF-8, so it cannot be checked and recorded faithfully.
    #[error("path `{}` is not valid UTF-8", .0.display())]
    NotUtf8(PathBuf),
    /// A venv planrun would create (and later delete) is not inside the target.
    #[error("venv `{}` is not inside the target; planrun only creates venvs it may remove", .0.display())]
    VenvOutsideTarget(PathBuf),
    /// No run with this id exists.
    #[error("no run `{0}` in the journal")]
    NoSuchRun(String),
    /// A journal file cannot be understood.
    #[error("journal file `{}` is unreadable: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A run directory whose MACs do not check out under this user's key: it was not written
    /// by this user on this machine (shipped in a repository, copied, or tampered with).
    #[error("journal `{}` was not written here (by this user on this machine), so planrun will not act on it; inspect it, then `planrun rollback --abandon {run_id}` sets it aside", dir.display())]
    Foreign { run_id: String, dir: PathBuf },
    /// A directory of planrun's state is a symlink or not this user's: planrun would write
    /// its journal (with copies of the target's files) wherever it points.
    #[error("`{}` is {what}; planrun keeps its state only in a real directory of its own", path.display())]
    UntrustedStateDir { path: PathBuf, what: String },
    /// A run was interrupted and still holds changes.
    #[error("an interrupted run must be rolled back: planrun rollback --target {}", target.display())]
    Interrupted { run_id: String, target: PathBuf },
}

impl JournalError {
    /// Whether this is drift found in an environment (paths changed after planrun's install,
    /// left alone): the rollback command maps it to exit code 5 (`crate::exit::DRIFT`).
    pub fn is_drift(&self) -> bool {
        matches!(
            self,
            JournalError::EnvJournal(crate::envjournal::EnvJournalError::Drift { .. })
        )
    }

    /// An I/O error with what was being done ("write `x`").
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        JournalError::Io {
            context: context.into(),
            source,
        }
    }
}

/// A rollback that did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    /// The journal itself could not be read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Paths changed since the run wrote them; nothing was touched.
    #[error("rollback of run `{run_id}` would overwrite changes made since the apply: {}", drift.iter().map(|d| d.path.as_str()).collect::<Vec<_>>().join(", "))]
    Drift { run_id: String, drift: Vec<Drift> },
    /// Some entries could not be undone; the others were, and the journal is kept.
    #[error("rollback of run `{run_id}` is incomplete: {}", failures.join("; "))]
    Incomplete {
        run_id: String,
        failures: Vec<String>,
        report: Box<RollbackReport>,
    },
}
