//! Which environments an install may touch: a venv planrun makes in a folder that did not
//! exist, or an existing venv it can snapshot whole; never a system or user site-packages, never
//! a folder it would later delete as its own.
//!
//! The environment journal restores the venv it snapshotted. An interpreter that is not in a
//! venv (a target's `.venv/bin/python` symlinked to a global Python, an absolute path to one)
//! installs into site-packages planrun does not own, and pip may also remove a copy of the
//! package from the user site (`--user`), which no snapshot of the target's environment holds.
//! So these are refused before anything changes, asking the interpreter itself where it lives:
//! its own startup logic decides which site-packages an installer will write.

use std::path::{Path, PathBuf};

use crate::process::{self, Control, Invocation};

/// Why an install's environment is refused.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The interpreter's folder exists although the interpreter does not (or dangles): a venv
    /// made there would be recorded as the run's, and rollback would delete the person's files.
    #[error(
        "`{}` does not run, but its folder `{}` exists: planrun makes a venv only where nothing is, and never deletes a folder it did not create",
        .python.display(), .folder.display()
    )]
    FolderExists { python: PathBuf, folder: PathBuf },
    /// The interpreter is not in a virtual environment.
    #[error(
        "`{}` is not in a virtual environment (it runs with sys.prefix `{prefix}`): an install would change that Python's own packages, which planrun cannot snapshot and restore",
        .python.display()
    )]
    NotAVenv { python: PathBuf, prefix: String },
    /// The interpreter runs as another venv than the one beside it.
    #[error(
        "`{}` runs as the environment `{prefix}`, not as {}: planrun restores only the environment it snapshotted",
        .python.display(),
        .venv.as_ref().map_or_else(|| "a venv of its own".to_string(), |v| format!("`{}`", v.display()))
    )]
    OtherEnv {
        python: PathBuf,
        prefix: String,
        venv: Option<PathBuf>,
    },
    /// The venv also sees the system (and user) site-packages.
    #[error(
        "the venv of `{}` sees the system site-packages (include-system-site-packages = true): pip may change packages there, outside the venv planrun snapshots",
        .python.display()
    )]
    SystemSite { python: PathBuf },
    /// The interpreter reads a user site-packages.
    #[error(
        "`{}` reads the user site-packages `{user_site}`: pip may remove a package's copy there, which planrun cannot restore",
        .python.display()
    )]
    UserSite { python: PathBuf, user_site: String },
    /// The interpreter could not be asked where it lives.
    #[error("failed to ask `{}` which environment it runs in: {message}", .python.display())]
    Probe { python: PathBuf, message: String },
}

impl GuardError {
    /// What the person can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            GuardError::FolderExists { .. } => {
                "remove or rename that folder if it is a broken venv, or point `python` at an interpreter that exists"
            }
            GuardError::NotAVenv { .. } | GuardError::OtherEnv { .. } => {
                "point `python` at a venv's interpreter (`python -m venv .venv`, then `.venv/bin/python`), or at a path that does not exist yet so planrun makes the venv itself"
            }
            GuardError::SystemSite { .. } => {
                "recreate the venv without `--system-site-packages` (or set include-system-site-packages = false in its pyvenv.cfg)"
            }
            GuardError::UserSite { .. } => {
                "use a venv: user site-packages are off inside one (or set PYTHONNOUSERSITE=1 for the apply)"
            }
            GuardError::Probe { .. } => "check that the interpreter runs",
        }
    }
}

/// Whether the install must make a venv for `python`: true when nothing is at `python` and
/// nothing at its venv folder (`DIR` of `DIR/bin/python`). A folder that exists without a
/// working interpreter is refused: checked here, not assumed, since a venv planrun makes is
/// deleted whole on rollback.
pub fn must_create(python: &Path) -> Result<bool, GuardError> {
    if python.exists() {
        return Ok(false);
    }
    let folder = python
        .parent()
        .filter(|bin| bin.file_name().is_some_and(|n| n == "bin"))
        .and_then(Path::parent);
    let existing = [Some(python), folder]
        .into_iter()
        .flatten()
        .find(|p| std::fs::symlink_metadata(p).is_ok());
    match existing {
        Some(_) => Err(GuardError::FolderExists {
            python: python.to_path_buf(),
            folder: folder.unwrap_or(python).to_path_buf(),
        }),
        None => Ok(true),
    }
}

/// What the interpreter says of itself.
#[derive(serde::Deserialize)]
struct Probe {
    prefix: String,
    base_prefix: String,
    user_site: Option<String>,
    system_site: bool,
}

/// Asks the interpreter where it lives and which site-packages it reads.
const PROBE: &str = "import json, site, sys
user = site.getusersitepackages() if site.ENABLE_USER_SITE else None
system = sys.prefix != sys.base_prefix and any(
    p != sys.prefix for p in getattr(site, 'PREFIXES', [sys.prefix]))
print(json.dumps({'prefix': sys.prefix, 'base_prefix': sys.base_prefix,
                  'user_site': user, 'system_site': system}))";

/// Refuses an existing interpreter whose installs would reach beyond the venv `venv` (the one
/// the journal snapshots; `None` when none was found beside it). `env` is the step's extra
/// environment, as the installer will see it.
pub fn check_interpreter(
    python: &Path,
    venv: Option<&Path>,
    env: &[(String, String)],
    control: &Control,
) -> Result<(), GuardError> {
    let probe_error = |message: String| GuardError::Probe {
        python: python.to_path_buf(),
        message,
    };
    let inv = Invocation::new(python)
        .args(["-c", PROBE])
        .envs(env.iter().map(|(k, v)| (k, v)));
    let out = process::capture(&inv, control).map_err(|e| probe_error(e.to_string()))?;
    if !out.outcome.status.success() {
        return Err(probe_error(format!(
            "{}: {}",
            out.outcome.status,
            out.stderr.trim_end()
        )));
    }
    let probe: Probe = serde_json::from_str(out.stdout.trim())
        .map_err(|e| probe_error(format!("unexpected answer ({e})")))?;
    let python = python.to_path_buf();
    if probe.prefix == probe.base_prefix {
        return Err(GuardError::NotAVenv {
            python,
            prefix: probe.prefix,
        });
    }
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !venv.is_some_and(|v| same(v, Path::new(&probe.prefix))) {
        return Err(GuardError::OtherEnv {
            python,
            prefix: probe.prefix,
            venv: venv.map(Path::to_path_buf),
        });
    }
    if probe.system_site {
        return Err(GuardError::SystemSite { python });
    }
    if let Some(user_site) = probe.user_site {
        return Err(GuardError::UserSite { python, user_site });
    }
    Ok(())
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
