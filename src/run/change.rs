//! The net change of the target's files, as the executor measures it before any rollback.

pub use crate::edit::diff::DiffStat;

/// The net change of one file the run changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The file, relative to the target.
    pub path: String,
    /// Its unified diff (`--- a/`, `+++ b/`, hunks), cut at a line when it is very long.
    pub diff: String,
    /// Whether `diff` was cut.
    pub truncated: bool,
}
