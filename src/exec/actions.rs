//! What each action does for real: journal first, then change the world.

use std::path::{Path, PathBuf};

use crate::envjournal::{self, Affected, EnvLayout};
use crate::exec::apply::{lock, Run};
use crate::exec::edits::{self, FileChange};
use crate::exec::progress::fmt_duration;
use crate::measure::record::Record;
use crate::measure::suite::{self, SuiteSpec};
use crate::plan::model::Installer;
use crate::plan::model::{InstallStep, RunStep, Step, SuiteStep};
use crate::process::{self, CommandSpec};
use crate::pyenv::{self, PythonEnv};

/// A step that succeeded.
#[derive(Debug, Default)]
pub struct Done {
    /// Target-relative files it changed.
    pub changed: Vec<String>,
    /// It had nothing to do (an edit already in place).
    pub unchanged: bool,
    /// Its log file, relative to the target.
    pub log: Option<String>,
    /// A short note for the progress line.
    pub note: Option<String>,
}

/// A step that failed.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, with the command's last lines when there is a command.
    pub message: String,
    /// Its log file, relative to the target.
    pub log: Option<String>,
}

impl Failure {
    /// A failure with a message and no log.
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            log: None,
        }
    }
}

type StepResult = Result<Done, Failure>;

/// Runs one step.
pub fn execute(run: &Run<'_>, step: &Step) -> StepResult {
    let mut done = match step {
        Step::Run(s) => run_command(run, s)?,
        Step::Install(s) => install(run, s)?,
        Step::Suite(s) => run_suite(run, s)?,
        _ => Done {
            unchanged: true,
            ..Done::default()
        },
    };
    if !matches!(step, Step::Run(_) | Step::Suite(_)) {
        let mut changed = apply_edits(run, step)?;
        if let Step::Install(s) = step {
            changed.extend(relock(run, s, &changed)?);
        }
        done.unchanged = changed.is_empty() && !matches!(step, Step::Install(_));
        done.changed.extend(changed);
    }
    Ok(done)
}

/// A uv project's lock follows its `pyproject.toml`, as `uv add --dev` keeps them: when
/// `record_in` changed a `pyproject.toml` that has a `uv.lock` beside it, the lock is journaled
/// and `uv lock` brings it up to date (rollback puts both back). Returns the lock when it changed.
fn relock(run: &Run<'_>, s: &InstallStep, changed: &[String]) -> Result<Vec<String>, Failure> {
    let Some(pyproject) = changed.iter().find(|c| {
        Path::new(c)
            .file_name()
            .is_some_and(|n| n == "pyproject.toml")
    }) else {
        return Ok(Vec::new());
    };
    let dir = Path::new(pyproject).parent().unwrap_or(Path::new(""));
    let lock = dir.join("uv.lock");
    let lock_text = lock.to_string_lossy().into_owned();
    if !matches!(run.prep.read(&lock_text), Ok(Some(_))) {
        return Ok(Vec::new());
    }
    let uv = pyenv::find_or_provision_uv(None, Path::new("python3"), &run.control).ok_or_else(|| {
        Failure::new(format!(
            "`{lock_text}` must follow `{pyproject}`, but uv is not on PATH and could not be installed"
        ))
    })?;
    let before = run.prep.read(&lock_text).ok().flatten();
    run.journal
        .record_file(&lock)
        .map_err(|e| Failure::new(format!("failed to journal `{lock_text}`: {e}")))?;
    let (log, rel) = log_path(run, &format!("{}-uv-lock", s.id))?;
    let quoted = format!("'{}' lock", uv.display().to_string().replace('\'', r"'\''"));
    let spec = CommandSpec {
        command: quoted.clone(),
        cwd: run.prep.target.join(dir),
        env: Vec::new(),
        timeout: None,
        log: log.clone(),
        grace: process::DEFAULT_GRACE,
        log_max: crate::process::caplog::max_from_env(),
    };
    let outcome = process::run(&spec, &run.control, false).map_err(|e| Failure {
        message: format!("failed to start `{quoted}`: {e}"),
        log: Some(rel.clone()),
    })?;
    if !outcome.status.success() {
        return Err(Failure {
            message: format!(
                "`uv lock` {} after recording {} in `{pyproject}`\n{}",
                describe(&outcome.status),
                s.packages.join(" "),
                tail_text(&log)
            ),
            log: Some(rel),
        });
    }
    let after = run.prep.read(&lock_text).ok().flatten();
    Ok(if after != before {
        vec![lock_text]
    } else {
        Vec::new()
    })
}

/// Computes a step's file changes against the disk and writes them, journaling each file first.
fn apply_edits(run: &Run<'_>, step: &Step) -> Result<Vec<String>, Failure> {
    let _serial = lock(&run.edit_lock);
    let prep = run.prep;
    let read = |rel: &str| prep.read(rel);
    let changes = edits::compute(step, &read, &prep.plan_dir, &|t| prep.expand(t))
        .map_err(|e| Failure::new(e.to_string()))?;
    let mut changed = Vec::new();
    for change in changes {
        if change.is_noop() {
            continue;
        }
        write_change(run, &change)?;
        changed.push(change.rel);
    }
    Ok(changed)
}

fn write_change(run: &Run<'_>, change: &FileChange) -> Result<(), Failure> {
    // The journal confines the path, records its before-image (and any parent directory the
    // write creates) and what is about to be written, before anything on disk changes.
    run.journal
        .write_file(Path::new(&change.rel), change.new.as_bytes(), change.mode)
        .map(drop)
        .map_err(|e| Failure::new(format!("failed to write `{}`: {e}", change.rel)))
}

/// The log file of step `id`; refused unless the id is an identifier (validate made sure).
fn log_path(run: &Run<'_>, id: &str) -> Result<(PathBuf, String), Failure> {
    let path = crate::ident::ident_path(&run.run_dir.join("logs"), id, "log")
        .map_err(|e| Failure::new(format!("step id `{}`: {e}", crate::ident::shown(id))))?;
    let rel = target_rel(run, &path);
    Ok((path, rel))
}

/// `path` relative to the target, as reports show it.
fn target_rel(run: &Run<'_>, path: &Path) -> String {
    path.strip_prefix(&run.prep.target)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn step_env(env: &std::collections::BTreeMap<String, String>) -> Vec<(String, String)> {
    env.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn run_command(run: &Run<'_>, s: &RunStep) -> StepResult {
    record_caches(run)?;
    {
        let journal = &run.journal;
        for rel in &s.changes {
            journal
                .record_file(Path::new(rel))
                .map_err(|e| Failure::new(format!("failed to journal `{rel}`: {e}")))?;
        }
        if let Some(undo) = &s.undo {
            journal
                .record_undo(&s.id, undo, &s.env, &run.prep.target)
                .map_err(|e| Failure::new(format!("failed to journal the undo command: {e}")))?;
        }
    }
    let (log, rel) = log_path(run, &s.id)?;
    let spec = CommandSpec {
        command: s.command.clone(),
        cwd: run.prep.target.clone(),
        env: step_env(&s.env),
        timeout: run.prep.timeout(&s.id),
        log: log.clone(),
        grace: process::DEFAULT_GRACE,
        log_max: crate::process::caplog::max_from_env(),
    };
    let outcome = process::run(&spec, &run.control, false).map_err(|e| Failure {
        message: format!("failed to start `{}`: {e}", s.command),
        log: Some(rel.clone()),
    })?;
    if outcome.status.success() {
        return Ok(Done {
            log: Some(rel),
            ..Done::default()
        });
    }
    Err(Failure {
        message: format!(
            "`{}` {}\n{}",
            s.command,
            describe(&outcome.status),
            tail_text(&log)
        ),
        log: Some(rel),
    })
}

/// How a command ended, as a sentence fragment.
fn describe(status: &process::Status) -> String {
    match status {
        process::Status::Exited(code) => format!("exited with status {code}"),
        process::Status::Signaled(sig) => format!("was killed by signal {sig}"),
        process::Status::TimedOut => "timed out and was stopped".into(),
        process::Status::Cancelled => "was interrupted".into(),
    }
}

fn tail_text(log: &Path) -> String {
    let lines = process::tail(log, 15);
    if lines.is_empty() {
        return "  (no output)".into();
    }
    lines
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn install(run: &Run<'_>, s: &InstallStep) -> StepResult {
    let prep = run.prep;
    let python_text = s.python.as_deref().unwrap_or(".venv/bin/python");
    let python = prep
        .resolve_python(python_text)
        .ok_or_else(|| Failure::new(format!("python `{python_text}` leaves the target")))?;
    let base = Path::new(s.base_python.as_deref().unwrap_or("python3"));
    let mut note = String::new();
    let created = !python.exists();
    if created {
        let venv = python
            .parent()
            .filter(|bin| bin.file_name().is_some_and(|n| n == "bin"))
            .and_then(Path::parent)
            .filter(|dir| dir.starts_with(&prep.target))
            .ok_or_else(|| {
                Failure::new(format!(
                    "python `{python_text}` does not exist, and it is not of the form DIR/bin/python inside the target, so no venv can be made for it"
                ))
            })?;
        let rel = venv.strip_prefix(&prep.target).unwrap_or(venv);
        let uv = installer_uv(s, venv, base, &run.control);
        run.journal
            .record_env(
                &PythonEnv::for_venv(venv, uv.clone()),
                true,
                &Affected::default(),
            )
            .map_err(|e| Failure::new(format!("failed to journal the venv: {e}")))?;
        pyenv::create_venv(venv, base, uv.as_deref(), &run.control).map_err(|e| {
            Failure::new(format!(
                "failed to create the venv `{}`: {e}",
                rel.display()
            ))
        })?;
        note = format!("created {}; ", rel.display());
    }
    let mut env = PythonEnv::locate(&python).map_err(|e| Failure::new(e.to_string()))?;
    let prefer = match s.installer {
        Installer::Auto => pyenv::Prefer::Auto,
        Installer::Uv => pyenv::Prefer::Uv,
        Installer::Pip => pyenv::Prefer::Pip,
    };
    let installer =
        pyenv::find_installer(&env.python, env.venv.as_deref(), prefer, base, &run.control)
            .map_err(|e| Failure::new(e.to_string()))?;
    env.uv = installer.uv().map(Path::to_path_buf);
    let tool = if env.uv.is_some() { "uv" } else { "pip" };
    let packages = s.packages.join(" ");
    // A venv made just now is deleted whole on rollback: nothing in it needs saving first.
    let affected = if created {
        None
    } else {
        let layout = EnvLayout::locate(&env.python, env.venv.as_deref())
            .map_err(|e| Failure::new(format!("failed to inspect the environment: {e}")))?;
        let installed = envjournal::distinfo::installed(&layout.site_packages);
        let affected = envjournal::predict(&env, &s.packages, &installed, &run.control)
            .map_err(|e| Failure::new(format!("failed to plan the install of {packages}: {e}")))?;
        run.journal
            .record_env(&env, false, &affected)
            .map_err(|e| Failure::new(format!("failed to journal the environment: {e}")))?;
        Some(affected)
    };
    if affected.as_ref().is_some_and(Affected::is_empty) {
        return Ok(Done {
            unchanged: true,
            note: Some(format!(
                "{note}{packages} already installed ({tool} changes nothing)"
            )),
            ..Done::default()
        });
    }
    let (log, rel) = log_path(run, &s.id)?;
    let options = pyenv::InstallOptions {
        timeout: prep.timeout(&s.id),
        log: Some(log),
        env: step_env(&s.env),
    };
    env.install_with(&s.packages, &run.control, &options)
        .map_err(|e| Failure {
            message: format!("failed to install {packages}: {e}"),
            log: Some(rel.clone()),
        })?;
    run.journal
        .seal_env(&env)
        .map_err(|e| Failure::new(format!("failed to journal the environment: {e}")))?;
    Ok(Done {
        log: Some(rel),
        note: Some(format!("{note}installed {packages} with {tool}")),
        ..Done::default()
    })
}

/// The uv that creates a venv: none when the step asks for pip (the same search as
/// [`pyenv::find_installer`]).
fn installer_uv(
    s: &InstallStep,
    venv: &Path,
    base: &Path,
    control: &process::Control,
) -> Option<PathBuf> {
    match s.installer {
        Installer::Pip => None,
        Installer::Auto | Installer::Uv => pyenv::find_or_provision_uv(Some(venv), base, control),
    }
}

/// Notes the caches under the target before the first command, so rollback removes new ones.
fn record_caches(run: &Run<'_>) -> Result<(), Failure> {
    run.journal
        .record_caches()
        .map_err(|e| Failure::new(format!("failed to journal the caches: {e}")))
}

fn run_suite(run: &Run<'_>, s: &SuiteStep) -> StepResult {
    let prep = run.prep;
    record_caches(run)?;
    if s.baseline {
        if let Some(source) = &run.opts.baseline {
            let record = crate::exec::baseline::load(&prep.target, source)
                .map_err(|e| Failure::new(e.to_string()))?;
            store_record(run, &s.record, record, Some(source.clone()));
            return Ok(Done {
                note: Some(format!(
                    "record `{}` from saved baseline `{source}`",
                    s.record
                )),
                ..Done::default()
            });
        }
    }
    // Each run logs to its own `<record>-<run>.log` in the logs directory; the step's log is
    // the run that failed, or else the last one.
    let (log, _) = log_path(run, &s.id)?;
    // The apply holds the target's lock, so junit directories of other runs are leftovers.
    if let Some(runs_dir) = run.run_dir.parent() {
        for gone in suite::clean_stale_junit(runs_dir, &run.run_dir) {
            tracing::debug!("removed stale `{}`", gone.display());
        }
    }
    let spec = SuiteSpec {
        command: s.command.clone(),
        cwd: prep.target.clone(),
        env: step_env(&s.env),
        warmup: prep.warmup(s),
        runs: prep.runs(s),
        framework: s.framework,
        timeout: run.prep.timeout(&s.id),
        log_dir: log.parent().map(Path::to_path_buf).unwrap_or_default(),
        junit_dir: run.run_dir.join(suite::JUNIT_DIR),
        record: s.record.clone(),
    };
    let progress = &run.progress;
    let id = s.id.clone();
    let mut on_progress = |p: suite::Progress| {
        let kind = if p.warmup { "warmup" } else { "run" };
        let text = match p.finished {
            Some(took) => format!("{kind} {}/{} took {}", p.index, p.of, fmt_duration(took)),
            None => format!("{kind} {}/{}", p.index, p.of),
        };
        progress.detail(&id, &text, p.finished.is_some());
    };
    let record = suite::run_suite(&spec, &run.control, &mut on_progress).map_err(|e| {
        let mut message = e.to_string();
        for line in e.output() {
            message.push_str(&format!("\n  | {line}"));
        }
        let log = match &e {
            suite::SuiteError::Junit { log, .. } => Some(target_rel(run, log)),
            _ => None,
        };
        Failure { message, log }
    })?;
    let rel = record.samples.last().map(|r| target_rel(run, &r.log));
    for w in &record.warnings {
        run.progress.line(&format!("  warning: {w}"));
    }
    let note = match s.framework {
        crate::plan::model::Framework::Pytest => format!(
            "median {:.2}s ± {:.2}s, {} passed, {} failed",
            record.wall.median,
            record.wall.stddev.unwrap_or(0.0),
            record.passed,
            record.failed
        ),
        crate::plan::model::Framework::Command => format!("median {:.2}s", record.wall.median),
    };
    if s.baseline {
        if let Some(name) = &run.opts.save_baseline {
            crate::exec::baseline::save(&prep.target, name, &record, &prep.secrets)
                .map_err(|e| Failure::new(format!("failed to save baseline `{name}`: {e}")))?;
        }
    }
    store_record(run, &s.record, record, None);
    Ok(Done {
        log: rel,
        note: Some(note),
        ..Done::default()
    })
}

fn store_record(run: &Run<'_>, name: &str, record: Record, source: Option<String>) {
    let value = serde_json::to_value(&record).unwrap_or(serde_json::Value::Null);
    lock(&run.records).insert(name.to_string(), record);
    let mut report = lock(&run.report);
    report.records.insert(name.to_string(), value);
    if let Some(source) = source {
        report.baselines_used.insert(name.to_string(), source);
    }
}
