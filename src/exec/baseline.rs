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
    /// A name with a path separator or a leading dot.
    #[error("baseline name `{0}` must be a plain name (letters, digits, `-`, `_`, `.`)")]
    Name(String),
}

fn saved_path(target: &Path, name: &str) -> PathBuf {
    target
        .join(".planrun")
        .join("baselines")
        .join(format!("{name}.json"))
}

fn check_name(name: &str) -> Result<(), BaselineError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(BaselineError::Name(name.to_string()))
    }
}

/// Saves `record` as baseline `name` in the target's state directory.
pub fn save(target: &Path, name: &str, record: &Record) -> Result<PathBuf, BaselineError> {
    check_name(name)?;
    let path = saved_path(target, name);
    let io = |source| BaselineError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(record).map_err(|e| BaselineError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    crate::fsutil::write_atomic(&path, text.as_bytes(), None).map_err(io)?;
    Ok(path)
}

/// Loads a baseline: a name saved in the target's state directory, or a path to a JSON file.
pub fn load(target: &Path, source: &str) -> Result<Record, BaselineError> {
    let saved = saved_path(target, source);
    let path = if check_name(source).is_ok() && saved.is_file() {
        saved
    } else if Path::new(source).is_file() {
        PathBuf::from(source)
    } else {
        return Err(BaselineError::Missing {
            name: source.to_string(),
            saved,
        });
    };
    let text = std::fs::read_to_string(&path).map_err(|source| BaselineError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| BaselineError::Parse {
        path,
        message: e.to_string(),
    })
}
