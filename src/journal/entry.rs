//! The journal's entries: one numbered JSON file per recorded mutation (plus a blob for a file's
//! old content), named so that listing a run never needs to open them.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::JournalError;

/// The kind of a file entry, as it appears in entry file names.
pub const FILE: &str = "file";
/// The kind of a directory entry.
pub const DIR: &str = "dir";
/// The kind of a Python environment entry.
pub const ENV: &str = "env";
/// The kind of an undo command entry.
pub const UNDO: &str = "undo";

/// One recorded mutation, written before the mutation happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// A file about to be written or deleted, and what it was before.
    File {
        /// Relative to the target.
        path: PathBuf,
        /// Its state before the run touched it.
        before: Before,
    },
    /// A directory the run is about to create (removed on rollback when empty).
    Dir {
        /// Relative to the target.
        path: PathBuf,
    },
    /// A Python environment about to change.
    Env {
        /// The interpreter; relative paths are relative to the target.
        python: PathBuf,
        /// Its venv; relative paths are relative to the target.
        venv: Option<PathBuf>,
        /// The venv did not exist: rollback deletes it.
        created_venv: bool,
        /// The package set before (empty when the venv is created).
        freeze: Vec<String>,
    },
    /// A command to run on rollback (the `undo` of a `run` step).
    Undo {
        /// The step it belongs to.
        step: String,
        /// A shell command line.
        command: String,
        /// Extra environment variables.
        env: BTreeMap<String, String>,
        /// Working directory; relative paths are relative to the target.
        cwd: PathBuf,
    },
}

/// A file's state before the run, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Before {
    /// The file did not exist.
    Absent,
    /// A regular file; its bytes are in the blob file beside the entry.
    File {
        /// Permission bits.
        mode: u32,
        /// The blob's file name in the run directory.
        blob: String,
        /// The blob's length, to detect a truncated blob.
        len: u64,
    },
    /// A symbolic link.
    Symlink {
        /// What it pointed to.
        target: PathBuf,
    },
}

impl Entry {
    /// The kind word used in the entry's file name.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::File { .. } => FILE,
            Entry::Dir { .. } => DIR,
            Entry::Env { .. } => ENV,
            Entry::Undo { .. } => UNDO,
        }
    }
}

/// An entry file found in a run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its sequence number (1-based, in recording order).
    pub seq: u32,
    /// Its kind word.
    pub kind: String,
    /// The JSON file.
    pub path: PathBuf,
}

/// `000042-file.json`.
pub fn entry_name(seq: u32, kind: &str) -> String {
    format!("{seq:06}-{kind}.json")
}

/// `000042.blob`.
pub fn blob_name(seq: u32) -> String {
    format!("{seq:06}.blob")
}

/// `000042.done`: written once a non-idempotent entry (an undo command) has been undone.
pub fn done_name(seq: u32) -> String {
    format!("{seq:06}.done")
}

fn parse_name(name: &str) -> Option<(u32, String)> {
    let stem = name.strip_suffix(".json")?;
    let (seq, kind) = stem.split_once('-')?;
    if seq.len() != 6 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((seq.parse().ok()?, kind.to_string()))
}

/// The entries of a run, in recording order. Temporary files and blobs are skipped.
pub fn list(run_dir: &Path) -> Result<Vec<Listed>, JournalError> {
    let ctx = || format!("read `{}`", run_dir.display());
    let mut entries = Vec::new();
    for item in fs::read_dir(run_dir).map_err(|e| JournalError::io(ctx(), e))? {
        let item = item.map_err(|e| JournalError::io(ctx(), e))?;
        let name = item.file_name();
        if let Some((seq, kind)) = name.to_str().and_then(parse_name) {
            entries.push(Listed {
                seq,
                kind,
                path: item.path(),
            });
        }
    }
    entries.sort_by_key(|e| e.seq);
    Ok(entries)
}

/// Reads and parses one entry file.
pub fn read(path: &Path) -> Result<Entry, JournalError> {
    let bytes =
        fs::read(path).map_err(|e| JournalError::io(format!("read `{}`", path.display()), e))?;
    serde_json::from_slice(&bytes).map_err(|e| JournalError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads a file entry's blob, checking its length.
pub fn read_blob(run_dir: &Path, blob: &str, len: u64) -> Result<Vec<u8>, JournalError> {
    let path = run_dir.join(blob);
    let bytes =
        fs::read(&path).map_err(|e| JournalError::io(format!("read `{}`", path.display()), e))?;
    if bytes.len() as u64 != len {
        return Err(JournalError::Corrupt {
            path,
            reason: format!("expected {len} bytes, found {}", bytes.len()),
        });
    }
    Ok(bytes)
}

/// Whether an entry is already marked undone.
pub fn is_done(run_dir: &Path, seq: u32) -> bool {
    run_dir.join(done_name(seq)).exists()
}

/// Marks an entry undone, durably.
pub fn mark_done(run_dir: &Path, seq: u32) -> io::Result<()> {
    let file = fs::File::create(run_dir.join(done_name(seq)))?;
    file.sync_all()?;
    crate::fsutil::fsync_dir(run_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_keeps_entries_in_order_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "000010-undo.json",
            "000002-file.json",
            "000002.blob",
            ".000011-file.json.planrun-tmp",
            "meta.json",
            "000003.done",
        ] {
            fs::write(dir.path().join(name), "{}").unwrap();
        }
        let listed = list(dir.path()).unwrap();
        let got: Vec<_> = listed.iter().map(|e| (e.seq, e.kind.as_str())).collect();
        assert_eq!(got, vec![(2, FILE), (10, UNDO)]);
    }

    #[test]
    fn entries_round_trip_through_json() {
        let entry = Entry::File {
            path: "a/b.txt".into(),
            before: Before::File {
                mode: 0o644,
                blob: blob_name(1),
                len: 3,
            },
        };
        let json = serde_json::to_string(&entry).unwrap();
        assert!(json.contains(r#""kind":"file""#), "{json}");
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
    }

    #[test]
    fn truncated_blob_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("000001.blob"), "ab").unwrap();
        assert!(matches!(
            read_blob(dir.path(), "000001.blob", 3),
            Err(JournalError::Corrupt { .. })
        ));
        assert_eq!(read_blob(dir.path(), "000001.blob", 2).unwrap(), b"ab");
    }
}
