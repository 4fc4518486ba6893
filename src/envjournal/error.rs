//! The environment journal's one error type.

use std::path::PathBuf;

use crate::pyenv::PyEnvError;

/// A failure snapshotting or restoring a Python environment.
#[derive(Debug, thiserror::Error)]
pub enum EnvJournalError {
    /// A file-system operation failed.
    #[error("failed to {context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The installer could not say what an install would change.
    #[error("failed to ask the installer what the install changes")]
    Installer(#[from] PyEnvError),
    /// The installer's dry-run report could not be understood.
    #[error("unreadable installer report: {0}")]
    Report(String),
    /// The environment found is not the one journaled (moved, recreated or re-pointed).
    #[error(
        "refusing to touch environment `{}`: it is not the one journaled (recorded `{}`, found `{}`: {what})",
        given.display(), recorded.display(), found.display()
    )]
    Identity {
        given: PathBuf,
        recorded: PathBuf,
        found: PathBuf,
        what: String,
    },
    /// A snapshot's manifest is not the one whose hash the journal holds.
    #[error("snapshot manifest `{}` does not match its journaled hash", .0.display())]
    ManifestMismatch(PathBuf),
    /// A snapshot file cannot be understood.
    #[error("snapshot file `{}` is unreadable: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A saved copy of a file no longer has the content it was saved with.
    #[error("the saved copy of `{}` is damaged (expected blake3 {expected})", path.display())]
    CopyDamaged { path: PathBuf, expected: String },
    /// Files differ from before the install and no copy of their old content was saved.
    #[error("{} changed and no copy of the old content was saved: {}", crate::styled::count(paths.len(), "path"), list(paths))]
    NoCopy { paths: Vec<PathBuf> },
    /// Paths changed after planrun's install; they are left alone unless forced.
    #[error("{} changed after planrun's install and {} left as found (use --force to restore): {}", crate::styled::count(paths.len(), "path"), if paths.len() == 1 { "was" } else { "were" }, list(paths))]
    Drift { paths: Vec<PathBuf> },
    /// After restoring, the environment still differs from the snapshot.
    #[error("after restoring, the environment still differs from before the install: {}", differences.join("; "))]
    Unverified { differences: Vec<String> },
    /// A path cannot be recorded faithfully.
    #[error("path `{}` is not valid UTF-8", .0.display())]
    NotUtf8(PathBuf),
}

impl EnvJournalError {
    /// An I/O error with what was being done ("read `x`").
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EnvJournalError::Io {
            context: context.into(),
            source,
        }
    }
}

/// The first paths, one per entry, and how many more there are.
fn list(paths: &[PathBuf]) -> String {
    const SHOWN: usize = 10;
    let mut text: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| format!("`{}`", p.display()))
        .collect();
    if paths.len() > SHOWN {
        text.push(format!("and {} more", paths.len() - SHOWN));
    }
    text.join(", ")
}
