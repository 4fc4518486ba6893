//! Everything decided before a plan runs: the plan loaded, validated and interpolated, the target
//! found, every path confined, the execution order fixed. Dry-run and apply start from here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::edit::pytest_config::Generation;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::graph::Node;
use crate::plan::{self, compiled::Plan, compiled::Step};
use crate::pyenv::discover::{self, Found};
use crate::secrets::Secrets;

/// A plan ready to run against a target.
#[derive(Debug)]
pub struct Prepared {
    /// The plan file as given.
    pub plan_path: PathBuf,
    /// The directory of the plan file (templates are relative to it).
    pub plan_dir: PathBuf,
    /// The compiled plan, every `${var}` expanded.
    pub plan: Plan,
    /// The target repository, absolute.
    pub target: PathBuf,
    /// The effective variables (plan `[vars]`, `--var`, built-ins), with their real values.
    pub vars: BTreeMap<String, String>,
    /// The values of the secret variables: mask with `secrets.mask(text)` whatever is shown.
    pub secrets: Secrets,
    /// The names of the secret variables.
    pub secret_vars: std::collections::BTreeSet<String>,
    /// The names of the services' variables whose values were picked for this apply (a port,
    /// a directory): not inputs of the plan, so not part of what makes it "already applied".
    pub picked_vars: std::collections::BTreeSet<String>,
    /// The Python environment the plan runs in (`${python}`), and why that one.
    pub env: Found,
    /// The steps the plan marks `switchable = false`.
    pub unswitchable: std::collections::BTreeSet<String>,
}

/// Plan diagnostics as the command's error (rendered once, when it is reported).
fn diagnostics(d: plan::Diagnostics) -> Error {
    Error::Plan(d)
}

impl Prepared {
    /// Loads, validates and resolves `plan_path` for `target` (or the plan's default target, or
    /// the current directory), and confines every path the plan names.
    pub fn new(
        plan_path: &Path,
        target: Option<&Path>,
        overrides: &[(String, String)],
    ) -> Result<Prepared> {
        Prepared::at_stage(plan_path, target, overrides, None)
    }

    /// As [`Prepared::new`], at rollout stage `stage` (the plan's first stage when `None` and
    /// it has stages): only the phases that stage runs, with its environment.
    pub fn at_stage(
        plan_path: &Path,
        target: Option<&Path>,
        overrides: &[(String, String)],
        stage: Option<&str>,
    ) -> Result<Prepared> {
        tracing::info!(plan = %plan_path.display(), "loading plan");
        let loaded = plan::load(plan_path).map_err(diagnostics)?;
        let valid = plan::validate(loaded, overrides).map_err(diagnostics)?;
        let plan_dir = plan_path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let target = match (target, &valid.plan.default_target) {
            (Some(t), _) => t.to_path_buf(),
            (None, Some(d)) => plan_dir.join(d),
            (None, None) => PathBuf::from("."),
        };
        let target = target.canonicalize().map_err(|e| {
            Error::invalid(
                format!("target `{}` is not a directory: {e}", target.display()),
                Some("pass an existing repository with --target DIR"),
            )
        })?;
        if !target.is_dir() {
            return Err(Error::invalid(
                format!("target `{}` is not a directory", target.display()),
                Some("pass an existing repository with --target DIR"),
            ));
        }
        let plan_dir_abs = plan_dir.canonicalize().unwrap_or(plan_dir.clone());
        let mut builtins = BTreeMap::new();
        builtins.insert("target".to_string(), target.display().to_string());
        builtins.insert("plan_dir".to_string(), plan_dir_abs.display().to_string());
        let python = plan::validate::PYTHON;
        let given = overrides.iter().rev().find(|(k, _)| k == python);
        let env = discover::discover(
            &target,
            given.map(|(_, v)| v.as_str()),
            valid.plan.var_values().get(python).map(String::as_str),
            &discover::System,
        );
        tracing::info!(python = %env.python, source = %env.source, "environment found");
        builtins.insert(python.to_string(), env.python.clone());
        let picked = crate::exec::services::pick(&valid.plan, &valid.vars)
            .map_err(|e| Error::io("failed to pick a free port on 127.0.0.1 for a service", e))?;
        let picked_vars = picked.keys().cloned().collect();
        builtins.extend(picked);
        let stage = plan::stages::choose(&valid.plan, stage)
            .map_err(|(message, hint)| Error::invalid(message, Some(&hint)))?;
        let resolved = valid.resolve_stage(&builtins, stage).map_err(diagnostics)?;
        let plan = resolved.plan;
        let vars = valid.all_vars(&builtins);
        let secrets = Secrets::new(
            valid
                .secret_vars
                .iter()
                .filter_map(|name| vars.get(name).cloned()),
        );
        // planrun's own log lines and terminal output mask them from here on.
        crate::secrets::install(&secrets);
        let prep = Prepared {
            plan_path: plan_path.to_path_buf(),
            plan_dir: plan_dir_abs,
            plan,
            target,
            vars,
            secrets,
            secret_vars: valid.secret_vars.clone(),
            picked_vars,
            env,
            unswitchable: valid
                .plan
                .phases
                .iter()
                .flat_map(|p| &p.steps)
                .filter(|s| !s.switchable())
                .map(|s| s.id().to_string())
                .collect(),
        };
        prep.confine_all(&valid)?;
        Ok(prep)
    }

    /// The vars as reports show them: each secret one as `***`, every other with any secret
    /// value inside it masked.
    pub fn shown_vars(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .map(|(k, v)| {
                let shown = if self.secret_vars.contains(k) {
                    crate::secrets::MASK.to_string()
                } else {
                    self.secrets.mask(v).into_owned()
                };
                (k.clone(), shown)
            })
            .collect()
    }

    /// Refuses, before anything runs, any path that leaves the target (also through symlinks),
    /// pointing at the step in the plan file.
    fn confine_all(&self, valid: &plan::ValidPlan) -> Result<()> {
        for (p, phase) in self.plan.phases.iter().enumerate() {
            for (i, step) in phase.steps.iter().enumerate() {
                let refuse = |e: fsutil::ConfineError| {
                    diagnostics(valid.step_problem(
                        p,
                        i,
                        format!("step `{}`: {e}", step.id()),
                        "plans may only touch files inside the target",
                    ))
                };
                for rel in step.target_paths() {
                    self.confine(rel).map_err(refuse)?;
                }
                if let Some(s) = step.install() {
                    if !Path::new(&s.python).is_absolute() {
                        confine_interpreter(&self.target, &s.python).map_err(refuse)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The absolute path of a target-relative path, refused when it leaves the target.
    pub fn confine(&self, rel: &str) -> std::result::Result<PathBuf, fsutil::ConfineError> {
        fsutil::confine(&self.target, rel)
    }

    /// Reads a target file as text; `Ok(None)` when it does not exist.
    pub fn read(&self, rel: &str) -> std::result::Result<Option<String>, String> {
        let path = self.confine(rel).map_err(|e| e.to_string())?;
        match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| "it is not UTF-8 text".to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Expands `${vars}` in a template's text.
    pub fn expand(&self, text: &str) -> std::result::Result<String, String> {
        plan::interpolate(text, &self.vars).map_err(|e| e.to_string())
    }

    /// The interpreter path a plan names: absolute as is, else inside the target (see
    /// [`confine_interpreter`]).
    pub fn resolve_python(&self, python: &str) -> Option<PathBuf> {
        if Path::new(python).is_absolute() {
            Some(PathBuf::from(python))
        } else {
            confine_interpreter(&self.target, python).ok()
        }
    }

    /// Which pytest's rules find its configuration file, and how that was found (the dry run
    /// says it): the pytest installed in the plan's environment now, unless an install step of
    /// the plan asks for a pytest it does not satisfy (that step replaces it: the step's
    /// requirement decides); with none installed, the requirement an install step gives; else
    /// pytest 9's (the newest). Asked again at each step that edits the configuration, so an
    /// apply reads the pytest its own installs left.
    pub fn pytest_rules(&self) -> (Generation, String) {
        let python = self.vars.get(plan::validate::PYTHON);
        let planned = self
            .plan
            .installs()
            .filter(|s| Some(&s.python) == python)
            .find_map(|s| {
                s.packages.iter().find_map(|p| {
                    let req = crate::edit::pep508::Requirement::parse(p)?;
                    (req.key() == "pytest" && !req.version.trim().is_empty())
                        .then(|| (p.clone(), req.specifiers()))
                })
            });
        let installed = python
            .and_then(|p| self.resolve_python(p))
            .filter(|p| p.exists())
            .and_then(|p| crate::pyenv::installed_version(&p, "pytest"));
        match (installed, planned) {
            (Some(version), planned)
                if planned
                    .as_ref()
                    .is_none_or(|(_, spec)| admits(&version, spec)) =>
            {
                let kept = planned
                    .map(|(req, _)| format!(", which `{req}` in the plan keeps"))
                    .unwrap_or_default();
                (
                    Generation::of_version(&version),
                    format!(
                        "pytest {version} in {}{kept}",
                        self.env.describe(&self.target)
                    ),
                )
            }
            (installed, Some((req, spec))) => {
                let replaced = installed
                    .map(|v| format!(" in place of pytest {v}"))
                    .unwrap_or_default();
                (
                    Generation::of_specifiers(&spec),
                    format!("`{req}`, which the plan installs{replaced}"),
                )
            }
            (_, None) => (
                Generation::Pytest9,
                "no pytest installed yet, so the newest".to_string(),
            ),
        }
    }

    /// The step a node stands for, if it is a step.
    pub fn step(&self, node: &Node) -> Option<&Step> {
        self.plan.step(node)
    }
}

/// Whether an installed `version` (`8.4.2`) meets `specifiers` (`>=8,<9`): an installer asked
/// for them keeps it. A version or clause that does not read is taken as not met.
fn admits(version: &str, specifiers: &str) -> bool {
    let Some(version) = crate::edit::locks::parse_version(version) else {
        return false;
    };
    // `satisfies` reads dotted versions: `>=8` is `>=8.0`.
    let dotted: Vec<String> = specifiers
        .split(',')
        .map(str::trim)
        .map(
            |clause| match clause.trim_start_matches(['<', '>', '=', '!', '~', ' ']) {
                d if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                    format!("{clause}.0")
                }
                _ => clause.to_string(),
            },
        )
        .collect();
    crate::edit::locks::satisfies(version, &dotted.join(","))
}

/// Confines a target-relative interpreter path by its directory only.
///
/// A venv's `bin/python` is normally a symlink to the base interpreter outside the target;
/// planrun runs it but never writes it, so only the directory it may create or remove (the
/// venv) has to stay inside the target.
pub fn confine_interpreter(
    target: &Path,
    rel: &str,
) -> std::result::Result<PathBuf, fsutil::ConfineError> {
    let path = Path::new(rel);
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) if !dir.as_os_str().is_empty() => {
            let dir = dir.to_str().unwrap_or(rel);
            Ok(fsutil::confine(target, dir)?.join(name))
        }
        _ => fsutil::confine(target, rel),
    }
}

#[cfg(test)]
mod tests {
    use super::{admits, confine_interpreter};

    #[test]
    fn an_installed_pytest_meets_the_plans_specifiers_or_not() {
        assert!(admits("8.4.2", ">=8"));
        assert!(admits("8.4.2", ">=8,<9"));
        assert!(admits("8.4.2", "~=8.3"));
        assert!(!admits("8.4.2", ">=9"));
        assert!(!admits("9.0.0", "<9"));
        assert!(admits("9.0.0", "==9.0.0"));
        assert!(!admits("not a version", ">=8"));
    }
    use std::os::unix::fs::symlink;

    /// A venv interpreter symlinked to a base Python outside the target is accepted; a venv
    /// directory that is itself a symlink out of the target, or `..` out of it, is not.
    #[test]
    fn an_interpreter_is_confined_by_its_directory() {
        let outside = tempfile::tempdir().unwrap();
        let base = outside.path().join("python3");
        std::fs::write(&base, "").unwrap();
        let target = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(target.path().join(".venv/bin")).unwrap();
        symlink(&base, target.path().join(".venv/bin/python")).unwrap();
        assert_eq!(
            confine_interpreter(target.path(), ".venv/bin/python").unwrap(),
            target.path().join(".venv/bin/python")
        );
        symlink(outside.path(), target.path().join("env")).unwrap();
        assert!(confine_interpreter(target.path(), "env/python3").is_err());
        assert!(confine_interpreter(target.path(), "../x/bin/python").is_err());
        assert!(confine_interpreter(target.path(), ".planrun/bin/python").is_err());
    }
}
