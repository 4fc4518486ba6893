//! The `install` action: a virtual environment ensured and packages installed into it, the
//! environment journaled first; the requirements recorded in the project when the step asks,
//! and a lock beside them relocked by its own tool.

use std::path::{Path, PathBuf};

use super::{writes, Action, Schedule, StepResult};
use crate::edit;
use crate::envjournal::{self, Affected, EnvLayout};
use crate::exec::context::StepContext;
use crate::exec::edits::{self, EditStepError, FileChange, Inputs, Reader};
use crate::exec::events::StepOutput;
use crate::exec::failure::{journal_failed, Failure, Journaled, StepError};
use crate::exec::outcome::Note;
use crate::exec::planned::StepPreview;
use crate::exec::steplog::log_path;
use crate::plan::compiled::Install;
use crate::plan::model::Installer;
use crate::pyenv::{self, PythonEnv};
use crate::styled::Style;

impl Action for Install {
    /// An install changes an environment (and may edit requirements): one at a time.
    fn schedule(&self) -> Schedule {
        Schedule {
            exclusive: false,
            serial: true,
            reads: super::Reads::Nothing,
        }
    }

    fn execute(&self, ctx: &StepContext<'_>) -> StepResult {
        let mut done = install(ctx, self)?;
        let mut changed = writes::apply(ctx, self)?;
        let relocked = crate::exec::relock::relock(ctx, self, &changed)?;
        changed.extend(relocked.changed);
        if let Some(Note::Install { relock, .. }) = done.note.as_mut() {
            relock.extend(relocked.notes);
        }
        done.unchanged = false;
        done.changed.extend(changed);
        Ok(done)
    }

    fn preview(&self, p: &mut StepPreview<'_>) {
        let s = self;
        p.out.packages += s.packages.len();
        let python = s.python.as_str();
        let exists = p.prep.resolve_python(python).is_some_and(|p| p.exists());
        let create = if exists || !p.out.new_venvs.insert(python.to_string()) {
            ""
        } else {
            " (creates the venv)"
        };
        p.line(|l| {
            l.plain(format!(
                "    install into {python}{create}: {}",
                s.packages.join(" ")
            ));
        });
        p.planned.packages.clone_from(&s.packages);
        for note in edits::placement(s, p.read)
            .map(|placed| placed.notes)
            .unwrap_or_default()
        {
            p.line(|l| {
                l.plain("    ")
                    .styled(Style::Dim, "record:")
                    .plain(format!(" {note}"));
            });
        }
        if let Some((why, _)) = crate::exec::relock::refusal(p.prep, s) {
            let refused = format!("apply will refuse: {why}");
            p.line(|l| {
                l.plain("    ").styled(Style::Yellow, refused);
            });
        }
        // An install changes the environment, not the files edits read; its own requirements
        // edit is previewed with the others' diffs.
    }

    fn files(&self, inputs: &Inputs<'_>) -> Result<Vec<FileChange>, EditStepError> {
        Ok(record_in_change(self, inputs.read)?.into_iter().collect())
    }

    fn uses_python(&self, _python: &str) -> bool {
        true
    }

    fn relocks(&self) -> bool {
        true
    }
}

fn install(ctx: &StepContext<'_>, s: &Install) -> StepResult {
    let prep = ctx.prep;
    let python_text = s.python.as_str();
    let python = prep
        .resolve_python(python_text)
        .ok_or_else(|| Failure::PythonOutside {
            python: python_text.to_string(),
        })?;
    let base = Path::new(&s.base_python);
    let mut created_venv = None;
    let created = envjournal::guard::must_create(&python).map_err(Failure::Refused)?;
    if created {
        let venv = python
            .parent()
            .filter(|bin| bin.file_name().is_some_and(|n| n == "bin"))
            .and_then(Path::parent)
            .filter(|dir| dir.starts_with(&prep.target))
            .ok_or_else(|| Failure::NoVenvFor {
                python: python_text.to_string(),
            })?;
        let rel = venv.strip_prefix(&prep.target).unwrap_or(venv);
        let uv = installer_uv(ctx, s, venv, base)?;
        ctx.journal
            .record_env(
                &PythonEnv::for_venv(venv, uv.clone()),
                true,
                &Affected::default(),
            )
            .map_err(|e| journal_failed(Journaled::Venv, e))?;
        pyenv::create_venv(venv, base, uv.as_deref(), ctx.control).map_err(|source| {
            Failure::CreateVenv {
                venv: rel.display().to_string(),
                source,
            }
        })?;
        created_venv = Some(rel.display().to_string());
    }
    let mut env = PythonEnv::locate(&python).map_err(Failure::Environment)?;
    if !created {
        let pairs = s.process.env_pairs();
        envjournal::guard::check_interpreter(&env.python, env.venv.as_deref(), &pairs, ctx.control)
            .map_err(Failure::Refused)?;
    }
    let prefer = match s.installer {
        Installer::Auto => pyenv::Prefer::Auto,
        Installer::Uv => pyenv::Prefer::Uv,
        Installer::Pip => pyenv::Prefer::Pip,
    };
    let installer =
        pyenv::find_installer(&env.python, env.venv.as_deref(), prefer, base, ctx.control)
            .map_err(Failure::Environment)?;
    env.uv = match installer.uv() {
        Some(uv) => Some(
            crate::exec::uvpin::for_target(prep, uv.to_path_buf(), base, ctx.control)
                .map_err(Failure::UvPin)?,
        ),
        None => None,
    };
    let tool = if env.uv.is_some() { "uv" } else { "pip" };
    let packages = s.packages.join(" ");
    let note = |changed: bool| Note::Install {
        created: created_venv.clone(),
        packages: s.packages.clone(),
        tool,
        changed,
        relock: Vec::new(),
    };
    // A venv made just now is deleted whole on rollback, but what the install changes in it is
    // saved all the same: with it, the install can be switched across for interleaved pairs.
    let affected = {
        let layout = EnvLayout::locate(&env.python, env.venv.as_deref())
            .map_err(Failure::InspectEnvironment)?;
        let installed = envjournal::distinfo::installed(&layout.site_packages);
        let intent = ctx
            .journal
            .run_dir()
            .join(envjournal::affected::LOCK_INTENT);
        let affected =
            envjournal::predict(&env, &s.packages, &installed, ctx.control, Some(&intent))
                .map_err(|source| Failure::PlanInstall {
                    packages: packages.clone(),
                    source,
                })?;
        ctx.journal
            .record_env(&env, false, &affected)
            .map_err(|e| journal_failed(Journaled::Environment, e))?;
        Some(affected)
    };
    if affected.as_ref().is_some_and(Affected::is_empty) {
        return Ok(StepOutput {
            unchanged: true,
            note: Some(note(false)),
            ..StepOutput::default()
        });
    }
    let (log, rel) = log_path(ctx, &s.id)?;
    let options = pyenv::InstallOptions {
        timeout: s.process.timeout,
        log: Some(log),
        env: s.process.env_pairs(),
    };
    env.install_with(&s.packages, ctx.control, &options)
        .map_err(|source| {
            let packages = packages.clone();
            StepError::logged(Failure::Install { packages, source }, rel.clone())
        })?;
    ctx.journal
        .seal_env(&env)
        .map_err(|e| journal_failed(Journaled::Environment, e))?;
    Ok(StepOutput {
        log: Some(rel),
        note: Some(note(true)),
        ..StepOutput::default()
    })
}

/// The uv that creates a venv: none when the step asks for pip (the same search as
/// [`pyenv::find_installer`]), and one the project's pin allows when it pins uv.
fn installer_uv(
    ctx: &StepContext<'_>,
    s: &Install,
    venv: &Path,
    base: &Path,
) -> Result<Option<PathBuf>, StepError> {
    let found = match s.installer {
        Installer::Pip => None,
        Installer::Auto | Installer::Uv => {
            pyenv::find_or_provision_uv(Some(venv), base, ctx.control)
        }
    };
    found
        .map(|uv| crate::exec::uvpin::for_target(ctx.prep, uv, base, ctx.control))
        .transpose()
        .map_err(|e| Failure::UvPin(e).into())
}

/// The change recording an install step's packages in the project's requirements, if it asks
/// and the project does not declare them already.
fn record_in_change(
    step: &Install,
    read: &Reader<'_>,
) -> Result<Option<FileChange>, EditStepError> {
    use edit::placement::Target;
    let Some(placed) = edits::placement(step, read) else {
        return Ok(None);
    };
    if placed.packages.is_empty() {
        return Ok(None);
    }
    let rel = placed.file;
    let old = read(&rel).map_err(|message| EditStepError::Read {
        path: rel.clone(),
        message,
    })?;
    let text = old.as_deref().unwrap_or("");
    let packages = &placed.packages;
    let wrap = |source| EditStepError::Edit {
        path: rel.clone(),
        source,
    };
    let new = match &placed.target {
        // pip's hash-checking mode refuses a whole file with one unhashed line, and replacing a
        // pinned line would orphan its `--hash` continuation lines.
        Target::Requirements if text.contains("--hash") => {
            return Err(EditStepError::Hashed { path: rel });
        }
        Target::Requirements => edit::requirements::add(text, packages),
        Target::Tox { section } => edit::tox::add(text, section, packages),
        Target::Poetry { group } => {
            edit::poetry::add_dependencies(text, group, packages).map_err(wrap)?
        }
        Target::Array { table, key } => {
            edit::groups::add(text, table, key, packages).map_err(wrap)?
        }
    };
    Ok(Some(FileChange {
        rel,
        old,
        new,
        mode: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use crate::plan::compiled::Install;

    fn reader(files: &[(&str, &str)]) -> impl Fn(&str) -> Result<Option<String>, String> {
        let map: HashMap<String, String> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |rel: &str| Ok(map.get(rel).cloned())
    }

    fn install(record_in: &str) -> Install {
        Install {
            id: "x".into(),
            packages: vec!["pytest-xdist>=3.5".into()],
            python: crate::plan::compiled::DEFAULT_PYTHON.into(),
            base_python: crate::plan::compiled::DEFAULT_BASE_PYTHON.into(),
            installer: Default::default(),
            record_in: Some(record_in.into()),
            group: None,
            extra: false,
            process: Default::default(),
        }
    }

    #[test]
    fn auto_record_prefers_existing_requirement_files() {
        let read = reader(&[("requirements/dev.txt", "pytest>=8\n")]);
        let c = record_in_change(&install("auto"), &read).unwrap().unwrap();
        assert_eq!(c.rel, "requirements/dev.txt");
        assert!(c.new.contains("pytest-xdist>=3.5"));
        assert!(c.new.contains("pytest>=8"));
    }

    #[test]
    fn auto_record_finds_pyproject_groups() {
        let read = reader(&[(
            "pyproject.toml",
            "[project]\nname='x'\n\n[dependency-groups]\ndev = [\"pytest>=8\"]\n",
        )]);
        let c = record_in_change(&install("auto"), &read).unwrap().unwrap();
        assert_eq!(c.rel, "pyproject.toml");
        assert!(c.new.contains("pytest-xdist>=3.5"), "{}", c.new);
        let read = reader(&[(
            "pyproject.toml",
            "[project]\nname='x'\n[project.optional-dependencies]\ntest = [\"pytest\"]\n",
        )]);
        let c = record_in_change(&install("auto"), &read).unwrap().unwrap();
        assert!(
            c.new
                .contains("test = [\n    \"pytest\",\n    \"pytest-xdist>=3.5\",\n]"),
            "{}",
            c.new
        );
    }

    #[test]
    fn auto_record_falls_back_to_a_new_requirements_dev() {
        let c = record_in_change(&install("auto"), &reader(&[]))
            .unwrap()
            .unwrap();
        assert_eq!(c.rel, "requirements-dev.txt");
        assert_eq!(c.old, None);
        assert_eq!(c.new, "pytest-xdist>=3.5\n");
    }

    #[test]
    fn a_poetry_project_gets_its_dev_group() {
        let project = "[tool.poetry]\nname = \"shop\"\n";
        for record_in in ["auto", "pyproject.toml"] {
            let read = reader(&[("pyproject.toml", project)]);
            let c = record_in_change(&install(record_in), &read)
                .unwrap()
                .unwrap();
            assert_eq!(c.rel, "pyproject.toml");
            assert!(
                c.new
                    .ends_with("[tool.poetry.group.dev.dependencies]\npytest-xdist = \">=3.5\"\n"),
                "{record_in}: {}",
                c.new
            );
        }
    }

    #[test]
    fn a_hashed_requirements_file_is_refused_not_left_with_orphan_hashes() {
        let hashed = "execnet==2.1.1 \\\n    --hash=sha256:abc\n";
        let read = reader(&[("requirements-dev.txt", hashed)]);
        let err = record_in_change(&install("auto"), &read).unwrap_err();
        assert!(
            err.to_string().contains("pins hashes") && err.to_string().contains("record_in"),
            "{err}"
        );
    }
}
