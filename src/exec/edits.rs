//! The vocabulary of the file changes a step makes, computed purely from what the files hold
//! now: the change, what computing it reads, and why it failed. Each action computes its own
//! ([`crate::exec::action::Action::files`]); dry-run reads through an overlay of earlier
//! previewed changes and prints the diff, apply reads the disk and writes the result, through
//! the same function, so the preview and the change cannot disagree.

use std::path::Path;

use std::collections::BTreeMap;

use crate::edit;
use crate::edit::pytest_config::Generation;
use crate::measure::record::Record;
use crate::plan::compiled::Install;

/// One file's change: its content before (None = absent) and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the target, as the plan names it.
    pub rel: String,
    /// Content before the step; `None` when the file does not exist.
    pub old: Option<String>,
    /// Content after the step.
    pub new: String,
    /// Unix permissions to give the file, when the step asks for them.
    pub mode: Option<u32>,
}

impl FileChange {
    /// Whether applying the change would alter the file.
    pub fn is_noop(&self) -> bool {
        self.old.as_deref() == Some(self.new.as_str()) && self.mode.is_none()
    }
}

/// Why a step's change could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EditStepError {
    /// The edit itself failed (no match, malformed input, ...).
    #[error("cannot edit `{path}`: {source}")]
    Edit {
        path: String,
        #[source]
        source: edit::error::EditError,
    },
    /// A file could not be read.
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
    /// The template of a `write` step could not be read.
    #[error("cannot read template `{path}`: {message}")]
    Template { path: String, message: String },
    /// A mode string is not octal.
    #[error("mode `{0}` is not an octal permission such as \"0644\"")]
    Mode(String),
    /// `record_in` names a requirements file that pins hashes.
    #[error("cannot record packages in `{path}`: it pins hashes (`--hash=`), and a line without one would make pip refuse the whole file; name another file in `record_in`, or regenerate this one with `pip-compile --generate-hashes` after the apply")]
    Hashed { path: String },
    /// Template interpolation failed.
    #[error("template `{path}`: {message}")]
    Interpolate { path: String, message: String },
}

/// How a step reads the target's files: `Ok(None)` when a file does not exist.
pub type Reader<'a> = dyn Fn(&str) -> Result<Option<String>, String> + 'a;

/// Expands `${vars}` in a template's text.
pub type Expander<'a> = dyn Fn(&str) -> Result<String, String> + 'a;

/// What computing a step's file changes reads: the target's files, where the plan lives, the
/// records measured so far (a `mark` step reads one; without it, its durations file is left
/// out), and which pytest's rules find its configuration file (asked only by the steps that
/// edit it).
pub struct Inputs<'a> {
    /// How the target's files are read (the disk, or the dry run's overlay).
    pub read: &'a Reader<'a>,
    /// The plan file's directory (templates are relative to it).
    pub plan_dir: &'a Path,
    /// Expands `${vars}` in a template.
    pub expand: &'a Expander<'a>,
    /// The records measured so far.
    pub records: &'a BTreeMap<String, Record>,
    /// Which pytest's rules find its configuration file.
    pub pytest: &'a dyn Fn() -> Generation,
}

impl Inputs<'_> {
    /// A target file's content, `None` when it does not exist.
    pub fn get(&self, rel: &str) -> Result<Option<String>, EditStepError> {
        (self.read)(rel).map_err(|message| EditStepError::Read {
            path: rel.to_string(),
            message,
        })
    }
}

/// A change of `rel` from `old` to `new`, its mode kept.
pub fn change(rel: &str, old: Option<String>, new: String) -> FileChange {
    FileChange {
        rel: rel.to_string(),
        old,
        new,
        mode: None,
    }
}

/// The error of an edit of `path` that failed.
pub fn failed(path: &str) -> impl FnOnce(edit::error::EditError) -> EditStepError {
    let path = path.to_string();
    move |source| EditStepError::Edit { path, source }
}

/// Where `record_in` would put an install step's requirements, and why, read through `read`.
pub fn placement(step: &Install, read: &Reader<'_>) -> Option<edit::placement::Placement> {
    let record_in = step.record_in.as_deref()?;
    let request = edit::placement::Request {
        record_in,
        group: step.group.as_deref(),
        extra: step.extra,
        packages: &step.packages,
    };
    Some(edit::placement::place(&request, &|rel| {
        read(rel).ok().flatten()
    }))
}
