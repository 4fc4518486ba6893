//! Which Python environment a plan runs in, found the way the project's own tools find it.
//!
//! The order, first match wins:
//!
//! 1. `--var python=...` on the command line;
//! 2. the plan's own `python` in `[vars]` (unless it is `"auto"`);
//! 3. the active environment, `VIRTUAL_ENV`;
//! 4. the environment of the project's declared manager: uv (`uv.lock` or `[tool.uv]`:
//!    `UV_PROJECT_ENVIRONMENT`, else `.venv`), Poetry (`poetry.lock` or `[tool.poetry]`: what
//!    `poetry env info --path` says, else `.venv` when Poetry is configured in-project), PDM
//!    (the interpreter `.pdm-python` names), Hatch (`hatch env find`);
//! 5. `.venv`, then `venv`, in the target.
//!
//! When none exists, the environment is the one the project's manager would create (uv's
//! `UV_PROJECT_ENVIRONMENT`) or `.venv` in the target; an install step creates it and says so.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{self, Control, Invocation};

/// The value of a plan's `python` that asks for discovery.
pub const AUTO: &str = "auto";

/// Why an environment was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--var python=...`.
    CommandLine,
    /// The plan's `[vars]`.
    Plan,
    /// `VIRTUAL_ENV`.
    VirtualEnv,
    /// uv's project environment; `true` when `UV_PROJECT_ENVIRONMENT` names it.
    Uv { variable: bool },
    /// Poetry's environment; how it was found.
    Poetry { how: &'static str },
    /// PDM's `.pdm-python`.
    Pdm,
    /// Hatch's default environment.
    Hatch,
    /// A `.venv` or `venv` directory in the target.
    InTarget,
    /// Nothing exists yet: this is where the environment is created.
    Missing,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::CommandLine => "--var python",
            Source::Plan => "the plan's `python`",
            Source::VirtualEnv => "VIRTUAL_ENV",
            Source::Uv { variable: true } => "uv project, UV_PROJECT_ENVIRONMENT",
            Source::Uv { variable: false } => "uv project",
            Source::Poetry { how } => how,
            Source::Pdm => "PDM, .pdm-python",
            Source::Hatch => "Hatch, `hatch env find`",
            Source::InTarget => "found in the target",
            Source::Missing => "none found",
        })
    }
}

/// The environment a plan runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its interpreter: absolute, or as the plan or command line wrote it.
    pub python: String,
    /// Why this one.
    pub source: Source,
}

impl Found {
    /// `/x/.venv (VIRTUAL_ENV)`: the venv directory when the interpreter is `DIR/bin/python`.
    pub fn describe(&self, target: &Path) -> String {
        let python = Path::new(&self.python);
        let abs = if python.is_absolute() {
            python.to_path_buf()
        } else {
            target.join(python)
        };
        let shown = super::venv_dir_of(&abs).unwrap_or(abs);
        let shown = match shown.strip_prefix(target) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
            _ => shown.display().to_string(),
        };
        format!("{shown} ({})", self.source)
    }
}

/// What discovery reads from outside the target: environment variables and tools.
pub trait Probe {
    /// An environment variable, `None` when unset or empty.
    fn var(&self, name: &str) -> Option<OsString>;
    /// The trimmed standard output of `program args` run in `dir`, `None` when it fails.
    fn output(&self, dir: &Path, program: &str, args: &[&str]) -> Option<String>;
}

/// The real process environment and tools on `PATH`.
pub struct System;

impl Probe for System {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name).filter(|v| !v.is_empty())
    }

    fn output(&self, dir: &Path, program: &str, args: &[&str]) -> Option<String> {
        let inv = Invocation::new(program)
            .args(args)
            .cwd(dir)
            .timeout(Some(Duration::from_secs(30)));
        let out = process::capture(&inv, &Control::default()).ok()?;
        if !out.outcome.status.success() {
            tracing::debug!(program, stderr = %out.stderr.trim(), "environment probe failed");
            return None;
        }
        let text = out.stdout.trim().to_string();
        (!text.is_empty()).then_some(text)
    }
}

/// Finds the environment for `target`; `var` is `--var python`, `plan` the plan's own value.
pub fn discover(target: &Path, var: Option<&str>, plan: Option<&str>, probe: &dyn Probe) -> Found {
    let given = |python: &str, source| Found {
        python: python.to_string(),
        source,
    };
    if let Some(python) = var.filter(|v| v.trim() != AUTO) {
        return given(python, Source::CommandLine);
    }
    if let Some(python) = plan.filter(|v| v.trim() != AUTO) {
        return given(python, Source::Plan);
    }
    // Inside the target the path is written relative to it, as commands run there see it.
    let at = |dir: PathBuf, source: Source| Found {
        python: relative(target, &dir.join("bin").join("python")),
        source,
    };
    if let Some(venv) = probe.var("VIRTUAL_ENV").map(PathBuf::from) {
        if is_venv(&venv) {
            return at(venv, Source::VirtualEnv);
        }
        tracing::warn!(venv = %venv.display(), "VIRTUAL_ENV names no environment; ignored");
    }
    let manager = Manager::of(target);
    let mut missing = None;
    if manager.uv {
        let (dir, variable) = match probe.var("UV_PROJECT_ENVIRONMENT") {
            Some(dir) => (target.join(PathBuf::from(dir)), true),
            None => (target.join(".venv"), false),
        };
        if is_venv(&dir) {
            return at(dir, Source::Uv { variable });
        }
        // uv would create it there; so does planrun when nothing else exists.
        missing = Some(dir);
    }
    if manager.poetry {
        if let Some(found) = poetry(target, probe) {
            return found;
        }
    }
    if manager.pdm {
        if let Some(python) = pdm(target) {
            return given(&python, Source::Pdm);
        }
    }
    if manager.hatch {
        if let Some(dir) = probe
            .output(target, "hatch", &["env", "find", "default"])
            .map(PathBuf::from)
            .filter(|d| is_venv(d))
        {
            return at(dir, Source::Hatch);
        }
    }
    for name in [".venv", "venv"] {
        let dir = target.join(name);
        if is_venv(&dir) {
            return at(dir, Source::InTarget);
        }
    }
    at(
        missing.unwrap_or_else(|| target.join(".venv")),
        Source::Missing,
    )
}

/// Poetry's environment: what `poetry env info --path` says (Poetry reads its own
/// configuration: `virtualenvs.in-project`, `virtualenvs.path`, its naming), else an in-project
/// `.venv` when `poetry.toml` or `POETRY_VIRTUALENVS_IN_PROJECT` asks for one.
fn poetry(target: &Path, probe: &dyn Probe) -> Option<Found> {
    let found = |dir: PathBuf, how| Found {
        python: relative(target, &dir.join("bin").join("python")),
        source: Source::Poetry { how },
    };
    if let Some(dir) = probe
        .output(target, "poetry", &["env", "info", "--path", "--no-ansi"])
        .map(PathBuf::from)
        .filter(|d| is_venv(d))
    {
        return Some(found(dir, "Poetry, `poetry env info --path`"));
    }
    let in_project = probe
        .var("POETRY_VIRTUALENVS_IN_PROJECT")
        .map(|v| matches!(v.to_str(), Some("true" | "1")))
        .unwrap_or_else(|| poetry_toml_in_project(target));
    let dir = target.join(".venv");
    (in_project && is_venv(&dir)).then(|| found(dir, "Poetry, virtualenvs.in-project"))
}

/// `[virtualenvs] in-project = true` in the project's `poetry.toml`.
fn poetry_toml_in_project(target: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(target.join("poetry.toml")) else {
        return false;
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return false;
    };
    doc.get("virtualenvs")
        .and_then(|v| v.get("in-project"))
        .and_then(toml::Value::as_bool)
        .unwrap_or(false)
}

/// The interpreter `.pdm-python` names, when it exists.
fn pdm(target: &Path) -> Option<String> {
    let text = std::fs::read_to_string(target.join(".pdm-python")).ok()?;
    let python = text.trim();
    (!python.is_empty() && Path::new(python).is_file()).then(|| python.to_string())
}

/// The project managers a target declares.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Manager {
    /// `uv.lock` or `[tool.uv]`.
    pub uv: bool,
    /// `poetry.lock` or `[tool.poetry]`.
    pub poetry: bool,
    /// `pdm.lock` or `[tool.pdm]`.
    pub pdm: bool,
    /// `[tool.hatch]`.
    pub hatch: bool,
}

impl Manager {
    /// From lock files and `[tool.*]` tables of `pyproject.toml`.
    pub fn of(target: &Path) -> Manager {
        let tools = std::fs::read_to_string(target.join("pyproject.toml"))
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .and_then(|d| d.get("tool").and_then(|t| t.as_table()).cloned())
            .unwrap_or_default();
        let has = |file: &str, tool: &str| target.join(file).is_file() || tools.contains_key(tool);
        Manager {
            uv: has("uv.lock", "uv"),
            poetry: has("poetry.lock", "poetry"),
            pdm: has("pdm.lock", "pdm"),
            hatch: tools.contains_key("hatch"),
        }
    }
}

/// `path` relative to `target` when it lies inside it, else as it is.
fn relative(target: &Path, path: &Path) -> String {
    match path.strip_prefix(target) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// A venv directory: `pyvenv.cfg` and `bin/python`.
fn is_venv(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file() && dir.join("bin").join("python").exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A probe answering from fixed variables and tool outputs.
    #[derive(Default)]
    struct Fixed {
        vars: BTreeMap<&'static str, String>,
        outputs: BTreeMap<&'static str, String>,
    }

    impl Probe for Fixed {
        fn var(&self, name: &str) -> Option<OsString> {
            self.vars.get(name).map(OsString::from)
        }
        fn output(&self, _: &Path, program: &str, _: &[&str]) -> Option<String> {
            self.outputs.get(program).cloned()
        }
    }

    fn venv(dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        std::fs::write(dir.join("bin/python"), "").unwrap();
        dir.join("bin/python")
    }

    fn found(python: &Path, source: Source) -> Found {
        Found {
            python: python.display().to_string(),
            source,
        }
    }

    /// A path inside the target as discovery writes it.
    fn inside(target: &Path, python: &Path) -> PathBuf {
        python.strip_prefix(target).unwrap().to_path_buf()
    }

    #[test]
    fn the_command_line_then_the_plan_then_virtual_env_win() {
        let t = tempfile::tempdir().unwrap();
        let active = venv(&t.path().join("active"));
        venv(&t.path().join("target/.venv"));
        let target = t.path().join("target");
        let mut probe = Fixed::default();
        probe
            .vars
            .insert("VIRTUAL_ENV", t.path().join("active").display().to_string());
        assert_eq!(
            discover(&target, Some("/x/bin/python"), Some("p"), &probe),
            found(Path::new("/x/bin/python"), Source::CommandLine)
        );
        assert_eq!(
            discover(&target, Some("auto"), Some("p/bin/python"), &probe),
            found(Path::new("p/bin/python"), Source::Plan)
        );
        assert_eq!(
            discover(&target, None, Some("auto"), &probe),
            found(&active, Source::VirtualEnv)
        );
        probe
            .vars
            .insert("VIRTUAL_ENV", t.path().join("gone").display().to_string());
        assert_eq!(
            discover(&target, None, None, &probe).source,
            Source::InTarget
        );
    }

    #[test]
    fn a_uv_project_uses_its_project_environment() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("uv.lock"), "version = 1\n").unwrap();
        venv(&t.path().join("venv"));
        let mut probe = Fixed::default();
        probe
            .vars
            .insert("UV_PROJECT_ENVIRONMENT", "envs/uv".into());
        // uv would create it at UV_PROJECT_ENVIRONMENT: that is where a missing one goes.
        let missing = discover(t.path(), None, None, &probe);
        assert_eq!(missing.source, Source::InTarget);
        std::fs::remove_dir_all(t.path().join("venv")).unwrap();
        let missing = discover(t.path(), None, None, &probe);
        assert_eq!(
            missing,
            found(Path::new("envs/uv/bin/python"), Source::Missing)
        );
        let python = venv(&t.path().join("envs/uv"));
        let got = discover(t.path(), None, None, &probe);
        assert_eq!(
            got,
            found(&inside(t.path(), &python), Source::Uv { variable: true })
        );
        assert_eq!(
            got.describe(t.path()),
            "envs/uv (uv project, UV_PROJECT_ENVIRONMENT)"
        );
    }

    #[test]
    fn a_poetry_project_asks_poetry_then_reads_its_in_project_setting() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("pyproject.toml"),
            "[tool.poetry]\nname = 'x'\n",
        )
        .unwrap();
        let cached = venv(&t.path().join("cache/x-AbCdEf12-py3.11"));
        let mut probe = Fixed::default();
        probe.outputs.insert(
            "poetry",
            t.path()
                .join("cache/x-AbCdEf12-py3.11")
                .display()
                .to_string(),
        );
        let got = discover(t.path(), None, None, &probe);
        assert_eq!(
            got,
            found(
                &inside(t.path(), &cached),
                Source::Poetry {
                    how: "Poetry, `poetry env info --path`"
                }
            )
        );
        assert_eq!(
            got.describe(t.path()),
            "cache/x-AbCdEf12-py3.11 (Poetry, `poetry env info --path`)"
        );
        venv(&t.path().join(".venv"));
        std::fs::write(
            t.path().join("poetry.toml"),
            "[virtualenvs]\nin-project = true\n",
        )
        .unwrap();
        let got = discover(t.path(), None, None, &Fixed::default());
        assert_eq!(
            got,
            found(
                Path::new(".venv/bin/python"),
                Source::Poetry {
                    how: "Poetry, virtualenvs.in-project"
                }
            )
        );
    }

    #[test]
    fn nothing_found_means_a_new_venv_in_the_target() {
        let t = tempfile::tempdir().unwrap();
        let got = discover(t.path(), None, None, &Fixed::default());
        assert_eq!(got, found(Path::new(".venv/bin/python"), Source::Missing));
        assert_eq!(got.describe(t.path()), ".venv (none found)");
        std::fs::write(t.path().join("pdm.lock"), "").unwrap();
        let python = venv(&t.path().join("elsewhere"));
        // `.pdm-python` names the interpreter itself; it is taken as written.
        std::fs::write(
            t.path().join(".pdm-python"),
            format!("{}\n", python.display()),
        )
        .unwrap();
        assert_eq!(
            discover(t.path(), None, None, &Fixed::default()),
            found(&python, Source::Pdm)
        );
    }
}
