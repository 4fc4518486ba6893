//! The uv that may run in a project that pins one (`[tool.uv] required-version` in
//! `pyproject.toml`, or `required-version` in `uv.toml`): uv refuses every command in such a
//! project when its own version does not satisfy the pin, `uv venv` and `uv pip` included. So
//! planrun's own venv and installer calls use a uv the pin allows, as the relock does, rather
//! than `--no-config`, which would also drop the project's index settings.

use std::path::{Path, PathBuf};

use crate::edit::locks;
use crate::exec::setup::Prepared;
use crate::plan::model::Installer;
use crate::process::{self, Control};
use crate::pyenv;

/// Where the project states its pin, for messages: `pyproject.toml:12`. The line of
/// `required-version` at the top of `uv.toml`, else in `[tool.uv]` of `pyproject.toml`, in the
/// order [`locks::uv_pin`] reads them.
fn pin_site(prep: &Prepared) -> String {
    for (file, table) in [("uv.toml", None), ("pyproject.toml", Some("tool.uv"))] {
        let Ok(Some(text)) = prep.read(file) else {
            continue;
        };
        let mut current: Option<String> = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if let Some(header) = line.strip_prefix('[') {
                let name = header.split(']').next().unwrap_or_default();
                current = Some(name.split_whitespace().collect());
                continue;
            }
            if current.as_deref() == table && line.starts_with("required-version") {
                return format!("{file}:{}", i + 1);
            }
        }
    }
    "pyproject.toml".to_string()
}

/// No uv the project's pin allows could be had: where the pin is, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}\n  hint: {hint}")]
pub struct PinError {
    /// What is missing, with the pin's file and line.
    pub message: String,
    /// What to do.
    pub hint: String,
}

/// Refuses, before anything changes, a plan whose install steps would drive uv in a project
/// that pins a uv planrun cannot have (none at hand meets the pin, and none can be installed,
/// e.g. offline): uv would refuse each command there, halfway through the apply. Fetching it
/// now also means the steps find it cached.
pub fn preflight(prep: &Prepared, control: &Control) -> crate::error::Result<()> {
    let uses_uv = prep.plan.installs().find(|s| s.installer != Installer::Pip);
    let Some(step) = uses_uv else {
        return Ok(());
    };
    if pin(prep).is_none() {
        return Ok(());
    }
    let base = Path::new(&step.base_python);
    let venv = prep
        .resolve_python(&step.python)
        .and_then(|p| pyenv::venv_dir_of(&p));
    // Without any uv (and none installable), the steps use pip: no pin applies to it.
    let Some(found) = pyenv::find_or_provision_uv(venv.as_deref(), base, control) else {
        return Ok(());
    };
    for_target(prep, found, base, control)
        .map(drop)
        .map_err(|e| {
            crate::error::Error::invalid(
                format!("step `{}`: {}", step.id, e.message),
                Some(&format!("nothing was changed; {}", e.hint)),
            )
        })
}

/// The dry run's words for the installer when the project pins a uv that `found` does not
/// satisfy (nothing is fetched); `None` when `found` may run in the project.
pub fn describe(prep: &Prepared, found: &Path) -> Option<String> {
    let pin = pin(prep)?;
    let version = version_of(found, &Control::default());
    if version.is_some_and(|v| locks::satisfies(v, &pin)) {
        return None;
    }
    let had = version.map_or("of unknown version".to_string(), |[a, b, c]| {
        format!("{a}.{b}.{c}")
    });
    Some(format!(
        "uv {pin}, as the project pins ({}); the uv found ({}) is {had}, so one the pin allows is installed once into planrun's cache",
        pin_site(prep),
        found.display()
    ))
}

/// The project's uv pin, as a specifier.
fn pin(prep: &Prepared) -> Option<String> {
    let read = |rel: &str| prep.read(rel).ok().flatten();
    locks::uv_pin(
        &read("pyproject.toml").unwrap_or_default(),
        read("uv.toml").as_deref(),
    )
}

/// The uv to run in the target instead of `found`: `found` itself when the target pins no uv
/// or `found` satisfies the pin, else a uv the pin allows (installed once into planrun's cache).
/// The error names where the pin is and what to do.
pub fn for_target(
    prep: &Prepared,
    found: PathBuf,
    base_python: &Path,
    control: &Control,
) -> Result<PathBuf, PinError> {
    let Some(pin) = pin(prep) else {
        return Ok(found);
    };
    let version = version_of(&found, control);
    if version.is_some_and(|v| locks::satisfies(v, &pin)) {
        return Ok(found);
    }
    tracing::info!(%pin, found = %found.display(), "the project pins another uv");
    pyenv::provision_uv_matching(&pin, Some(&found), base_python, control).map_err(|e| {
        let had = version.map_or("an unknown version".to_string(), |[a, b, c]| format!("{a}.{b}.{c}"));
        PinError {
            message: format!(
                "the project pins uv {pin} ({}) and the uv found ({}) is {had}; installing a uv the pin allows failed: {e}",
                pin_site(prep),
                found.display()
            ),
            hint: "put a uv that satisfies the pin first on PATH or in UV, or run once with the network so planrun can cache one".into(),
        }
    })
}

/// A tool's version from its `--version` output.
pub fn version_of(program: &Path, control: &Control) -> Option<[u64; 3]> {
    let inv = process::capture::Invocation::new(program)
        .arg("--version")
        .timeout(Some(std::time::Duration::from_secs(60)));
    let out = process::capture::capture(&inv, control).ok()?;
    locks::parse_version(&out.stdout)
}
