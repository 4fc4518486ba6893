//! The uv that may run in a project that pins one (`[tool.uv] required-version` in
//! `pyproject.toml`, or `required-version` in `uv.toml`): uv refuses every command in such a
//! project when its own version does not satisfy the pin, `uv venv` and `uv pip` included. So
//! planrun's own venv and installer calls use a uv the pin allows, as the relock does, rather
//! than `--no-config`, which would also drop the project's index settings.

use std::path::{Path, PathBuf};

use crate::edit::locks;
use crate::exec::setup::Prepared;
use crate::process::{self, Control};
use crate::pyenv;

/// Where the project states its pin, for messages: `pyproject.toml:12`.
fn pin_site(prep: &Prepared) -> String {
    for file in ["pyproject.toml", "uv.toml"] {
        if let Ok(Some(text)) = prep.read(file) {
            if let Some(i) = text
                .lines()
                .position(|l| l.trim_start().starts_with("required-version"))
            {
                return format!("{file}:{}", i + 1);
            }
        }
    }
    "pyproject.toml".to_string()
}

/// The uv to run in the target instead of `found`: `found` itself when the target pins no uv
/// or `found` satisfies the pin, else a uv the pin allows (installed once into planrun's cache).
/// The error names where the pin is and what to do.
pub fn for_target(
    prep: &Prepared,
    found: PathBuf,
    base_python: &Path,
    control: &Control,
) -> Result<PathBuf, String> {
    let read = |rel: &str| prep.read(rel).ok().flatten();
    let Some(pin) = locks::uv_pin(
        &read("pyproject.toml").unwrap_or_default(),
        read("uv.toml").as_deref(),
    ) else {
        return Ok(found);
    };
    let version = version_of(&found, control);
    if version.is_some_and(|v| locks::satisfies(v, &pin)) {
        return Ok(found);
    }
    tracing::info!(%pin, found = %found.display(), "the project pins another uv");
    pyenv::provision_uv_matching(&pin, Some(&found), base_python, control).map_err(|e| {
        let had = version.map_or("an unknown version".to_string(), |[a, b, c]| format!("{a}.{b}.{c}"));
        format!(
            "the project pins uv {pin} ({}) and the uv found ({}) is {had}; installing a uv the pin allows failed: {e}\n  hint: put a uv that satisfies the pin first on PATH or in UV, or run once with the network so planrun can cache one",
            pin_site(prep),
            found.display()
        )
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
