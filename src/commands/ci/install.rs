//! How a CI job installs the project and its test dependencies, the way the project documents
//! it: its manager (uv, Poetry, else pip) from planrun's environment discovery, and the group,
//! extra or requirements file from the place `record_in = "auto"` would choose (the one that
//! holds pytest). Pure but for reading the target's files.

use std::path::Path;

use crate::edit::declared::{Declared, Place};
use crate::edit::placement::{self, Request, Target};
use crate::pyenv::discover::Manager;

/// The project manager the job drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// uv (`astral-sh/setup-uv`, then `uv sync`).
    Uv,
    /// Poetry (`pipx install poetry`, then `poetry install`).
    Poetry,
    /// pip into a `.venv` made with `python -m venv`.
    Pip,
}

/// The installation, as shell lines and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInstall {
    /// Which tool.
    pub tool: Tool,
    /// The commands, one a line, every name from the target shell-quoted.
    pub commands: Vec<String>,
    /// Where the test dependencies were found, for the workflow's comment.
    pub why: String,
}

/// A name from the target that would change the workflow's meaning if written into it.
#[derive(Debug, thiserror::Error)]
#[error("refusing {what} `{value}` from the target: a workflow cannot carry it safely")]
pub struct Unsafe {
    /// What the value is ("the requirements file").
    pub what: String,
    /// The value, escaped for display.
    pub value: String,
}

/// Decides how `target` is installed.
pub fn detect(target: &Path) -> Result<ProjectInstall, Unsafe> {
    let read = |rel: &str| std::fs::read_to_string(target.join(rel)).ok();
    let manager = Manager::of(target);
    let declared = Declared::scan(&read);
    let place = test_place(&declared, &read);
    let installable = ["pyproject.toml", "setup.py", "setup.cfg"]
        .iter()
        .any(|f| target.join(f).is_file())
        && project_table(&read);
    let why = place.as_ref().map_or_else(
        || "nothing declares pytest; the plan installs it".to_string(),
        |p| format!("pytest is declared in {p}"),
    );
    let tool = if manager.uv {
        Tool::Uv
    } else if manager.poetry {
        Tool::Poetry
    } else {
        Tool::Pip
    };
    let commands = match tool {
        Tool::Uv => uv(place.as_ref(), target.join("uv.lock").is_file())?,
        Tool::Poetry => poetry(place.as_ref())?,
        Tool::Pip => pip(place.as_ref(), installable, &read)?,
    };
    Ok(ProjectInstall {
        tool,
        commands,
        why,
    })
}

/// The place that holds pytest, as `record_in = "auto"` chooses it; `None` when nothing does.
fn test_place(declared: &Declared, read: &dyn Fn(&str) -> Option<String>) -> Option<Place> {
    if declared.direct("pytest").is_empty() {
        return None;
    }
    let chosen = placement::place(
        &Request {
            record_in: "auto",
            group: None,
            extra: false,
            packages: &[],
        },
        read,
    );
    let place = match chosen.target {
        Target::Requirements => Place::Requirements(chosen.file),
        Target::Tox { section } => Place::Tox(section),
        Target::Poetry { group } if declared.has(&Place::PoetryLegacyDev) && group == "dev" => {
            Place::PoetryLegacyDev
        }
        Target::Poetry { group } => Place::PoetryGroup(group),
        Target::Array { table, key } => match table {
            "dependency-groups" => Place::Group(key),
            "project.optional-dependencies" => Place::Extra(key),
            _ => Place::UvDev,
        },
    };
    Some(place)
}

/// Whether the project is a package pip can install (`[project]`, a build system, or setup.*).
fn project_table(read: &dyn Fn(&str) -> Option<String>) -> bool {
    if read("setup.py").is_some() || read("setup.cfg").is_some() {
        return true;
    }
    read("pyproject.toml")
        .and_then(|t| t.parse::<toml::Table>().ok())
        .is_some_and(|d| d.contains_key("project") || d.contains_key("build-system"))
}

fn uv(place: Option<&Place>, locked: bool) -> Result<Vec<String>, Unsafe> {
    let mut sync = String::from("uv sync");
    if locked {
        // The lock is the project's word: a stale one fails here, not in the measurement.
        sync.push_str(" --locked");
    }
    let mut more = Vec::new();
    match place {
        Some(Place::Group(g)) => sync.push_str(&format!(" --group {}", quote("group", g)?)),
        Some(Place::Extra(e)) => sync.push_str(&format!(" --extra {}", quote("extra", e)?)),
        Some(Place::Requirements(f)) => more.push(format!(
            "uv pip install -r {}",
            quote("requirements file", f)?
        )),
        _ => {}
    }
    Ok(std::iter::once(sync).chain(more).collect())
}

fn poetry(place: Option<&Place>) -> Result<Vec<String>, Unsafe> {
    // In the project, so planrun's discovery finds it where Poetry put it.
    let mut lines = vec!["poetry config virtualenvs.in-project true --local".to_string()];
    let install = match place {
        Some(Place::PoetryGroup(g)) => format!("poetry install --with {}", quote("group", g)?),
        Some(Place::Extra(e)) => format!("poetry install --extras {}", quote("extra", e)?),
        _ => "poetry install".to_string(),
    };
    lines.push(install);
    if let Some(Place::Requirements(f)) = place {
        lines.push(format!(
            "poetry run python -m pip install -r {}",
            quote("requirements file", f)?
        ));
    }
    Ok(lines)
}

fn pip(
    place: Option<&Place>,
    installable: bool,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, Unsafe> {
    let pip = ".venv/bin/python -m pip install";
    let mut lines = vec!["python -m venv .venv".to_string()];
    let editable = if installable { "-e ." } else { "" };
    match place {
        Some(Place::Extra(e)) if installable => {
            lines.push(format!("{pip} -e {}", quote("extra", &format!(".[{e}]"))?));
        }
        Some(Place::Group(g)) => {
            // PEP 735 groups: pip 25.1 reads them (`--group`).
            lines.push(format!("{pip} --upgrade 'pip>=25.1'"));
            let args = format!("{editable} --group {}", quote("group", g)?);
            lines.push(format!("{pip} {}", args.trim_start()));
        }
        Some(Place::Requirements(f)) => {
            let runtime = read("requirements.txt").is_some() && f != "requirements.txt";
            let mut args = vec![editable.to_string()];
            if runtime {
                args.push("-r requirements.txt".into());
            }
            args.push(format!("-r {}", quote("requirements file", f)?));
            lines.push(format!("{pip} {}", join(&args)));
        }
        Some(Place::Tox(section)) => {
            let deps = crate::edit::declared::tox_deps(&read("tox.ini").unwrap_or_default());
            let mut args = vec![editable.to_string()];
            for (_, text) in deps.iter().filter(|(s, _)| s == section) {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    // The whole line first, so a refusal names what the file says.
                    quote("tox dependency", line)?;
                    for word in line.split_whitespace() {
                        args.push(quote("tox dependency", word)?);
                    }
                }
            }
            lines.push(format!("{pip} {}", join(&args)));
        }
        _ if installable => lines.push(format!("{pip} -e .")),
        _ => {}
    }
    Ok(lines)
}

fn join(args: &[String]) -> String {
    args.iter()
        .filter(|a| !a.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `value` as one bash word, quoted by the one shell quoter ([`crate::process::shell::quote`])
/// when it needs it; refused when it holds a control character (it would end the YAML block) or
/// `${{` (GitHub would evaluate it as an expression).
pub fn quote(what: &str, value: &str) -> Result<String, Unsafe> {
    if value.chars().any(char::is_control) || value.contains("${{") {
        return Err(Unsafe {
            what: what.to_string(),
            value: value.escape_debug().to_string(),
        });
    }
    Ok(crate::process::shell::quote(value).into_owned())
}

#[cfg(test)]
#[path = "install_tests.rs"]
mod tests;
