//! Saved baselines: a suite record kept under `.planrun/baselines/NAME.json`, so CI can compare
//! against the main branch's numbers without measuring them again.

use std::path::{Path, PathBuf};

use crate::measure::record::Record;

/// Why a baseline could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Neither a saved name nor a readable file.
    #[error("no baseline `{name}`: neither `{}` nor a file of that name exists", .saved.display())]
    Missing { name: String, saved: PathBuf },
    /// The file is not a suite record.
    #[error("baseline `{}` is not a planrun record: {message}", .path.display())]
    Parse { path: PathBuf, message: String },
    /// Reading or writing failed.
    #[error("baseline `{}`: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A name that is not an identifier.
    #[error("baseline name `{}` is not a plain name: {source}", crate::ident::shown(.name))]
    Name {
        name: String,
        #[source]
        source: crate::ident::IdentError,
    },
}

/// `.planrun/baselines/NAME.json`, for a name that is an identifier.
fn saved_path(target: &Path, name: &str) -> Result<PathBuf, BaselineError> {
    crate::ident::ident_path(&crate::journal::paths::baselines_dir(target), name, "json").map_err(
        |source| BaselineError::Name {
            name: name.to_string(),
            source,
        },
    )
}

/// The largest baseline file read (a record is a few kilobytes).
const MAX_BASELINE: u64 = 64 << 20;

/// A `.planrun/baselines/` that is a symlink or not this user's directory.
fn untrusted(path: &Path, e: crate::journal::error::JournalError) -> BaselineError {
    BaselineError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
    }
}

/// Refuses a `.planrun/baselines/` planrun must not read or write through.
fn check_dir(target: &Path, path: &Path) -> Result<(), BaselineError> {
    crate::journal::paths::existing_baselines_dir(target)
        .map(drop)
        .map_err(|e| untrusted(path, e))
}

/// What is at `path`, not following a symlink there.
fn fs_kind(path: &Path) -> Option<std::fs::FileType> {
    std::fs::symlink_metadata(path).ok().map(|m| m.file_type())
}

/// Checks, before anything runs, that `--save-baseline` can write its file safely: the
/// baselines directory, when it exists, is a real directory of this user.
pub fn check_saveable(target: &Path, name: &str) -> Result<(), BaselineError> {
    check_dir(target, &saved_path(target, name)?)
}

/// Checks a `--save-baseline` name before anything runs.
pub fn check_name(name: &str) -> Result<(), BaselineError> {
    crate::ident::check(name).map_err(|source| BaselineError::Name {
        name: name.to_string(),
        source,
    })
}

/// Whether a `--baseline` argument names a file rather than a saved baseline: it has a `/` or
/// ends in `.json`.
pub fn is_file_source(source: &str) -> bool {
    source.contains('/') || source.ends_with(".json")
}

/// Saves `record` as baseline `name` in the target's state directory, secret values in its
/// text masked: a saved baseline is shared (CI artifacts, caches) like a report.
pub fn save(
    target: &Path,
    name: &str,
    record: &Record,
    secrets: &crate::secrets::Secrets,
) -> Result<PathBuf, BaselineError> {
    let path = saved_path(target, name)?;
    let io = |source| BaselineError::Io {
        path: path.clone(),
        source,
    };
    crate::journal::paths::ensure_baselines_dir(target).map_err(|e| untrusted(&path, e))?;
    let parse = |e: serde_json::Error| BaselineError::Parse {
        path: path.clone(),
        message: e.to_string(),
    };
    let mut record = record.clone();
    crate::measure::mask::mask_record(&mut record, secrets);
    let text = serde_json::to_string_pretty(&record).map_err(parse)?;
    crate::fsutil::write_atomic(&path, text.as_bytes(), None).map_err(io)?;
    Ok(path)
}

/// Loads a baseline: a name saved in the target's state directory, or a path to a JSON file.
pub fn load(target: &Path, source: &str) -> Result<Record, BaselineError> {
    let path = if is_file_source(source) {
        if !Path::new(source).is_file() {
            return Err(BaselineError::Io {
                path: PathBuf::from(source),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        PathBuf::from(source)
    } else {
        let saved = saved_path(target, source)?;
        check_dir(target, &saved)?;
        if fs_kind(&saved).is_some_and(|t| t.is_file()) {
            saved
        } else if Path::new(source).is_file() {
            // A record file named without `.json` in the current directory, as before.
            PathBuf::from(source)
        } else {
            return Err(BaselineError::Missing {
                name: source.to_string(),
                saved,
            });
        }
    };
    let text =
        crate::fsutil::read_nofollow(&path, MAX_BASELINE).map_err(|source| BaselineError::Io {
            path: path.clone(),
            source,
        })?;
    serde_json::from_slice(&text).map_err(|e| BaselineError::Parse {
        path,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_identifiers_and_paths_are_files() {
        let target = tempfile::tempdir().unwrap();
        let sample = crate::measure::record::RunSample {
            promoted: false,
            warmup: false,
            wall: 1.0,
            cpu_user: 0.5,
            cpu_system: 0.0,
            rss_peak_mb: None,
            status: crate::process::Status::Exited(0),
            exit_code: 0,
            counts: None,
            log: PathBuf::from("x.log"),
            memory: Vec::new(),
            pair: None,
        };
        let run = crate::measure::record::RunResult {
            sample,
            tests: Vec::new(),
            warnings: Vec::new(),
            extras: Default::default(),
        };
        let record =
            Record::from_runs("true", crate::plan::model::Framework::Command, vec![run], 1)
                .unwrap();
        assert!(matches!(
            save(target.path(), "../../x", &record, &Default::default()),
            Err(BaselineError::Name { .. })
        ));
        assert!(!target.path().join("../x.json").exists());
        let secrets = crate::secrets::Secrets::new(["true"]);
        let saved = save(target.path(), "main", &record, &secrets).unwrap();
        let text = std::fs::read_to_string(&saved).unwrap();
        assert!(text.contains("\"command\": \"***\""), "{text}");
        assert_eq!(saved, target.path().join(".planrun/baselines/main.json"));
        assert!(load(target.path(), "main").is_ok());
        assert!(matches!(
            load(target.path(), "a\nb"),
            Err(BaselineError::Name { .. })
        ));
        assert!(load(target.path(), saved.to_str().unwrap()).is_ok());
        assert!(is_file_source("records/main.json") && is_file_source("main.json"));
        assert!(!is_file_source("main"));
    }
}
